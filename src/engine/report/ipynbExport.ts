// A TinyMem notebook as a Jupyter notebook (nbformat 4.5), for people who share results through Jupyter or GitHub.
// Markdown cells stay markdown; step cells become code cells holding their YAML (no Jupyter kernel runs them: the
// notebook names no kernelspec and says so in its metadata); each chart output carries the vega-lite spec the
// TinyMem renderer draws (application/vnd.vegalite.v5+json, which JupyterLab renders), a PNG of it (GitHub and
// nbviewer show that) and its text summary; text outputs stay markdown.
import { parse } from 'yaml';
import { LIGHT_THEME, specForPayload } from '../../../renderers/specs/index';
import type { NotebookCell, NotebookFile } from '../../shared/notebookFormat';
import { VIEW_MIMES, type ViewOutput, validateViewPayload } from '../../shared/viewPayloads';
import { svgToPng } from './pngRender';
import { storedViews } from './storedViews';
import { renderSpecSvg } from './svg';

export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';
export const IPYNB_NOTE = 'Exported from a TinyMem notebook. Code cells hold TinyMem step cells (YAML); no Jupyter ' +
  'kernel runs them: open the .tinymem file in VS Code with the TinyMem extension, or run it with `tinymem run`.';

type MimeBundle = Record<string, unknown>;
export interface IpynbOutput {
  output_type: 'display_data';
  data: MimeBundle;
  metadata: Record<string, unknown>;
}
export interface IpynbCell {
  id: string;
  cell_type: 'markdown' | 'code';
  metadata: Record<string, unknown>;
  source: string[];
  outputs?: IpynbOutput[];
  execution_count?: null;
}
export interface Ipynb {
  nbformat: 4;
  nbformat_minor: 5;
  metadata: Record<string, unknown>;
  cells: IpynbCell[];
}

/** nbformat's multiline string: the lines with their line ends. */
export const lines = (s: string): string[] => s.split(/(?<=\n)/).filter((l) => l !== '');

function stepOf(source: string): string | undefined {
  try {
    const d = parse(source) as Record<string, unknown> | null;
    if (typeof d?.step === 'string') return d.step;
    return typeof d?.sweep === 'string' ? 'sweep' : undefined;
  } catch {
    return undefined;
  }
}

const textOutput = (markdown: string, extra: MimeBundle = {}): IpynbOutput =>
  ({ output_type: 'display_data', data: { ...extra, 'text/markdown': lines(markdown), 'text/plain': lines(markdown) },
    metadata: {} });

/** One view: vega-lite spec, PNG and text summary; a chart that cannot be drawn keeps its summary with a note. */
export async function viewToIpynb(v: ViewOutput, scale = 2): Promise<IpynbOutput> {
  if (!(VIEW_MIMES as readonly string[]).includes(v.mime)) return textOutput(v.markdown);
  try {
    const spec = specForPayload(v.mime, validateViewPayload(v.mime, v.payload), LIGHT_THEME);
    const img = await svgToPng(await renderSpecSvg(spec), scale);
    return {
      output_type: 'display_data',
      data: { [VEGALITE_MIME]: spec, 'image/png': Buffer.from(img.png).toString('base64'),
        'text/plain': lines(v.markdown) },
      metadata: { 'image/png': { width: Math.round(img.width / scale), height: Math.round(img.height / scale) } },
    };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return textOutput(`${v.markdown}\n\n_(Chart not exported: ${why})_`);
  }
}

async function cellToIpynb(c: NotebookCell, i: number, scale: number): Promise<IpynbCell> {
  const id = `tinymem-${i + 1}`;
  if (c.kind === 'markdown') return { id, cell_type: 'markdown', metadata: {}, source: lines(c.source) };
  const outputs: IpynbOutput[] = [];
  // One chart at a time: a big notebook's vega views are not all held at once.
  for (const v of storedViews(c)) outputs.push(await viewToIpynb(v, scale));
  const step = stepOf(c.source);
  return { id, cell_type: 'code', metadata: { tinymem: { ...(step ? { step } : {}), language: 'yaml' } },
    source: lines(c.source), outputs, execution_count: null };
}

/** The Jupyter notebook of `nb`; `from` names the .tinymem file in the notebook's metadata. */
export async function notebookToIpynb(nb: NotebookFile, from: string, scale = 2): Promise<Ipynb> {
  const cells: IpynbCell[] = [];
  for (const [i, c] of nb.cells.entries()) cells.push(await cellToIpynb(c, i, scale));
  const tinymem = { exportedFrom: from, note: IPYNB_NOTE, ...(nb.metadata ? { metadata: nb.metadata } : {}) };
  return { nbformat: 4, nbformat_minor: 5, metadata: { language_info: { name: 'yaml' }, tinymem }, cells };
}
