// SVG → PNG in Node for exported notebooks (Jupyter and GitHub show image/png where they draw no vega-lite): resvg's
// WebAssembly build, the same on every platform, with DejaVu Sans as the only font (the wasm build sees no system
// fonts, so chart text would vanish without one). The wasm and the font load from the installed package folders
// (node_modules beside dist/ in the extension), once per process.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

type ResvgModule = typeof import('@resvg/resvg-wasm');
let ready: Promise<{ resvg: ResvgModule; font: Uint8Array }> | undefined;

/** Where a package file lies: resolved from this file's folder (src/engine/report or dist/), as Node would. */
function packageFile(spec: string): string {
  return createRequire(path.join(__dirname, 'index.js')).resolve(spec);
}

function load(): Promise<{ resvg: ResvgModule; font: Uint8Array }> {
  ready ??= (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const resvg = require('@resvg/resvg-wasm') as ResvgModule;
    await resvg.initWasm(readFileSync(packageFile('@resvg/resvg-wasm/index_bg.wasm')));
    const font = readFileSync(path.join(path.dirname(packageFile('dejavu-fonts-ttf/package.json')), 'ttf',
      'DejaVuSans.ttf'));
    return { resvg, font };
  })();
  ready.catch(() => (ready = undefined));
  return ready;
}

export interface Png {
  png: Uint8Array;
  width: number;
  height: number;
}

/** Draws an SVG at `scale` × its size on a white background. */
export async function svgToPng(svg: string, scale = 2): Promise<Png> {
  const { resvg, font } = await load();
  const r = new resvg.Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'zoom', value: scale },
    font: { fontBuffers: [font], defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans',
      serifFamily: 'DejaVu Sans', monospaceFamily: 'DejaVu Sans' },
  });
  try {
    const img = r.render();
    try {
      return { png: img.asPng(), width: img.width, height: img.height };
    } finally {
      img.free();
    }
  } finally {
    r.free();
  }
}
