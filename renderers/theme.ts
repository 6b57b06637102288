// The webview side of theming: reads VS Code's CSS variables from the output's document and watches the body's
// theme class, so charts are redrawn in the new colours when the user switches themes.
import type { ChartTheme } from './specs/theme';
import { themeFromVars } from './specs/themeFromVars';

export function currentTheme(): ChartTheme {
  const style = getComputedStyle(document.body);
  const kind = document.body.getAttribute('data-vscode-theme-kind') ?? document.body.className;
  return themeFromVars((name) => style.getPropertyValue(name), kind);
}

/** Calls `onChange` (debounced) whenever VS Code switches the theme; returns the unsubscribe function. */
export function watchTheme(onChange: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const observer = new MutationObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(onChange, 100);
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  return () => {
    clearTimeout(timer);
    observer.disconnect();
  };
}
