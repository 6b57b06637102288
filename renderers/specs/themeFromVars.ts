// Builds a ChartTheme from VS Code's theme CSS variables. DOM-free: the webview passes a getter over
// getComputedStyle(document.body), tests pass a plain lookup. Unset or odd values fall back to the defaults, and
// only colour-like / font-like values are accepted, because they end up inside the chart spec.
import { type ChartTheme, DARK_THEME, LIGHT_THEME } from './theme';

const COLOR = /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|hsla?\([\d\s.,%deg]+\)|[a-z]+)$/i;
const FONT = /^[\w\s,"'-]+$/;

export type VarGetter = (name: string) => string | undefined;

function pick(get: VarGetter, names: readonly string[], ok: RegExp, fallback: string): string {
  for (const n of names) {
    const v = get(n)?.trim();
    if (v && v.length <= 200 && ok.test(v)) return v;
  }
  return fallback;
}

/** `kind`: the webview body's theme class (vscode-light, vscode-dark, vscode-high-contrast, …light). */
export function themeFromVars(get: VarGetter, kind: string): ChartTheme {
  const dark = /dark|high-contrast(?!-light)/.test(kind);
  const base = dark ? DARK_THEME : LIGHT_THEME;
  const size = Number.parseFloat(get('--vscode-font-size') ?? '');
  return {
    ...base,
    foreground: pick(get, ['--vscode-editor-foreground', '--vscode-foreground'], COLOR, base.foreground),
    muted: pick(get, ['--vscode-descriptionForeground'], COLOR, base.muted),
    background: pick(get, ['--vscode-notebook-outputContainerBackgroundColor', '--vscode-editor-background'], COLOR,
      base.background),
    grid: pick(get, ['--vscode-editorWidget-border', '--vscode-panel-border'], COLOR, base.grid),
    accent: pick(get, ['--vscode-charts-blue', '--vscode-focusBorder'], COLOR, base.accent),
    font: pick(get, ['--vscode-font-family'], FONT, base.font),
    fontSize: Number.isFinite(size) && size >= 8 && size <= 24 ? Math.round(size) : base.fontSize,
  };
}
