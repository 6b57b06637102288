// SVG / PNG export of a drawn chart: toolbar buttons that ask the vega View for the image and download it through
// a temporary <a download> link. File names are fixed strings, never payload text.
import type { View } from 'vega';

function download(href: string, fileName: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function button(label: string, title: string, run: () => Promise<void>): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'tinymem-export';
  b.textContent = label;
  b.title = title;
  b.addEventListener('click', () => {
    b.disabled = true;
    run()
      .catch((e) => {
        b.title = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => {
        b.disabled = false;
      });
  });
  return b;
}

/** A toolbar whose buttons export whatever view `current()` returns at click time (the view changes on redraw). */
export function exportToolbar(current: () => View | undefined, baseName: string): HTMLElement {
  const bar = document.createElement('div');
  bar.className = 'tinymem-toolbar';
  bar.append(
    button('SVG', 'Save the chart as SVG', async () => {
      const view = current();
      if (!view) return;
      const svg = await view.toSVG();
      const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
      download(url, `${baseName}.svg`);
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }),
    button('PNG', 'Save the chart as PNG (2× scale)', async () => {
      const view = current();
      if (!view) return;
      download(await view.toImageURL('png', 2), `${baseName}.png`);
    }),
  );
  return bar;
}
