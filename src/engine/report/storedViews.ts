// A saved notebook's outputs read back as views: each stored output (the rich item plus its markdown fallback, as
// cellOutputs.ts writes it) becomes one ViewOutput again, so the HTML report and the .ipynb export draw the charts a
// notebook holds without running anything. Progress lines saved mid-run are left out.
import type { NotebookCell, NotebookOutput } from '../../shared/notebookFormat';
import { VIEW_MIMES, type ViewOutput } from '../../shared/viewPayloads';
import type { ReportCell } from './htmlReport';

export function storedView(o: NotebookOutput): ViewOutput | null {
  if (o.metadata?.progress === true) return null;
  const md = o.items.find((it) => it.mime === 'text/markdown' || it.mime === 'text/plain');
  const markdown = typeof md?.data === 'string' ? md.data : '';
  const rich = o.items.find((it) => (VIEW_MIMES as readonly string[]).includes(it.mime));
  if (rich) return { mime: rich.mime, payload: rich.data, markdown };
  return md ? { mime: 'text/markdown', payload: undefined, markdown } : null;
}

export function storedViews(c: NotebookCell): ViewOutput[] {
  return (c.outputs ?? []).map(storedView).filter((v): v is ViewOutput => v !== null);
}

/** The cells of a saved notebook as the HTML report takes them. */
export const reportCells = (cells: readonly NotebookCell[]): ReportCell[] =>
  cells.map((c) => ({ kind: c.kind, source: c.source, outputs: storedViews(c) }));
