// A saved notebook's cells and outputs exported as one file's text: the HTML report or a Jupyter notebook. Runs in
// the engine process for the editor (drawing charts is CPU work) and in `tinymem export`.
import * as path from 'node:path';
import type { NotebookFile } from '../../shared/notebookFormat';
import type { ExportFormat } from '../../shared/engineProtocol';
import { renderHtmlReport } from './htmlReport';
import { notebookToIpynb } from './ipynbExport';
import { reportCells } from './storedViews';

/** `name`: the notebook's file name (the report's title without its extension; the .ipynb records it). */
export async function exportNotebook(nb: NotebookFile, format: ExportFormat, name: string): Promise<string> {
  const title = path.basename(name, path.extname(name));
  if (format === 'html') return renderHtmlReport({ title, cells: reportCells(nb.cells) });
  if (format !== 'ipynb') throw new Error(`cannot export to ${JSON.stringify(format)}: the formats are html and ipynb`);
  return `${JSON.stringify(await notebookToIpynb(nb, path.basename(name)), null, 1)}\n`;
}
