// Reads and writes .tinymem files for VS Code with the pure functions of src/shared/notebookFormat.ts. A file that is
// not a valid notebook throws, so VS Code shows the error instead of opening an empty notebook a save would persist.
// Saving: VS Code takes the bytes we return and writes the file itself (its file service writes them in one go, with
// its own backup of dirty editors); the serializer cannot rename files. The headless `tinymem run --out` writes with
// temp file + rename (writeFileAtomicSync).
import * as vscode from 'vscode';
import { type NotebookCell, type NotebookItem, type NotebookOutput, isJsonMime, isTextMime, parseNotebook,
  serializeNotebook } from '../shared/notebookFormat';

export const NOTEBOOK_TYPE = 'tinymem-notebook';
/** Language of step cells: YAML, so the editor highlights them. */
export const STEP_LANGUAGE = 'yaml';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function itemToVscode(it: NotebookItem): vscode.NotebookCellOutputItem {
  if (it.encoding === 'base64') return new vscode.NotebookCellOutputItem(Buffer.from(String(it.data), 'base64'),
    it.mime);
  if (typeof it.data === 'string' && !isJsonMime(it.mime)) return new vscode.NotebookCellOutputItem(
    enc.encode(it.data), it.mime);
  return new vscode.NotebookCellOutputItem(enc.encode(JSON.stringify(it.data)), it.mime);
}

/** JSON items are stored as JSON values and text as strings (readable, diffable, no base64 bloat). */
export function itemFromVscode(it: vscode.NotebookCellOutputItem): NotebookItem {
  if (isJsonMime(it.mime)) {
    const text = dec.decode(it.data);
    try {
      return { mime: it.mime, data: JSON.parse(text) };
    } catch {
      return { mime: it.mime, data: text };
    }
  }
  if (isTextMime(it.mime)) return { mime: it.mime, data: dec.decode(it.data) };
  return { mime: it.mime, data: Buffer.from(it.data).toString('base64'), encoding: 'base64' };
}

export function toNotebookData(cells: readonly NotebookCell[],
  metadata?: Record<string, unknown>): vscode.NotebookData {
  const data = new vscode.NotebookData(
    cells.map((c) => {
      const cell = c.kind === 'markdown'
        ? new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, c.source, 'markdown')
        : new vscode.NotebookCellData(vscode.NotebookCellKind.Code, c.source, STEP_LANGUAGE);
      if (c.outputs) cell.outputs = c.outputs.map(
        (o) => new vscode.NotebookCellOutput(o.items.map(itemToVscode), o.metadata));
      if (c.metadata) cell.metadata = c.metadata;
      return cell;
    }),
  );
  if (metadata) data.metadata = metadata;
  return data;
}

export class TinyMemSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    // parseNotebook throws a NotebookFormatError naming the cell and field; VS Code shows it in the editor area.
    const nb = parseNotebook(content, 'This .tinymem file');
    return toNotebookData(nb.cells, nb.metadata);
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    const cells: NotebookCell[] = data.cells.map((c) => {
      const cell: NotebookCell = { kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'step',
        source: c.value };
      // A running cell's progress view is transient: a file saved mid-run never shows a stale bar when reopened.
      const outputs: NotebookOutput[] | undefined = c.outputs?.filter((o) => o.metadata?.progress !== true).map((o) => {
        const out: NotebookOutput = { items: o.items.map(itemFromVscode) };
        if (o.metadata && Object.keys(o.metadata).length) out.metadata = o.metadata;
        return out;
      });
      if (outputs?.length) cell.outputs = outputs;
      if (c.metadata && Object.keys(c.metadata).length) cell.metadata = c.metadata;
      return cell;
    });
    const md = data.metadata && Object.keys(data.metadata).length ? data.metadata : undefined;
    return enc.encode(
      serializeNotebook({ format: 'tinymem-notebook', version: 1, cells, ...(md ? { metadata: md } : {}) }));
  }
}
