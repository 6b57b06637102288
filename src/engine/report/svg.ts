// Charts to SVG in Node, from the same vega-lite specs the webview draws: vega-lite compile → vega View with the
// headless 'none' renderer → toSVG() (no canvas package needed). vega and vega-lite are ESM-only and vega-canvas
// uses top-level await, so they are loaded with dynamic import() on first use (a static import breaks under tsx/CJS).
import { type ChartTheme, LIGHT_THEME, type VlSpec, specForPayload } from '../../../renderers/specs/index';
import { validateViewPayload } from '../../shared/viewPayloads';

type Libs = { vega: typeof import('vega'); vl: typeof import('vega-lite') };
let libs: Promise<Libs> | undefined;

function load(): Promise<Libs> {
  libs ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({ vega, vl }));
  return libs;
}

/** Compiles and renders one vega-lite spec; the specs carry inline data only, and the loader refuses anything else. */
export async function renderSpecSvg(spec: VlSpec): Promise<string> {
  const { vega, vl } = await load();
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`charts load no external data (asked for ${uri})`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Validates a view payload and renders its chart to an SVG string. */
export async function renderViewSvg(mime: string, payload: unknown, theme: ChartTheme = LIGHT_THEME): Promise<string> {
  const p = validateViewPayload(mime, payload);
  return renderSpecSvg(specForPayload(mime, p, theme));
}
