// "TinyMem: Export Report (HTML)" and "TinyMem: Export as Jupyter Notebook (.ipynb)": the active (or given) .tinymem
// notebook's cells and outputs, as the editor holds them, go to the engine process, which draws the charts and
// returns the file's text; the file is written where the save dialog (or the command's second argument) says. An
// existing file is replaced only after the save dialog's own confirmation or a yes to our question.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomicSync } from '../shared/atomicWrite';
import type { ExportFormat } from '../shared/engineProtocol';
import { type NotebookCell, type NotebookFile, parseNotebook } from '../shared/notebookFormat';
import type { EngineClient } from './engineClient';
import { NOTEBOOK_TYPE, itemFromVscode } from './serializer';
import { workspaceDir } from './settings';

const FORMATS: Record<ExportFormat, { ext: string; label: string; filter: string }> = {
  html: { ext: '.html', label: 'HTML report', filter: 'HTML' },
  ipynb: { ext: '.ipynb', label: 'Jupyter notebook', filter: 'Jupyter Notebook' },
};

/** The notebook a command was invoked on: a Uri or path argument, a toolbar's context object, else the active one. */
export function targetNotebookUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string') return vscode.Uri.file(arg);
  const o = arg as { notebookEditor?: { notebookUri?: unknown }; notebookUri?: unknown; uri?: unknown } | undefined;
  const uri = o?.notebookEditor?.notebookUri ?? o?.notebookUri ?? o?.uri;
  if (uri instanceof vscode.Uri) return uri;
  const active = vscode.window.activeNotebookEditor?.notebook;
  return active?.notebookType === NOTEBOOK_TYPE ? active.uri : undefined;
}

/** The cells and outputs as the editor holds them now (unsaved edits included). */
export function notebookFromDocument(doc: vscode.NotebookDocument): NotebookFile {
  const cells: NotebookCell[] = doc.getCells().map((c) => {
    const kind = c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'step';
    const outputs = c.outputs.map((o) => ({ items: o.items.map(itemFromVscode), ...(o.metadata ? { metadata:
      o.metadata } : {}) }));
    return { kind, source: c.document.getText(), ...(outputs.length ? { outputs } : {}) };
  });
  const md = doc.metadata && Object.keys(doc.metadata).length ? { metadata: doc.metadata } : {};
  return { format: 'tinymem-notebook', version: 1, cells, ...md };
}

/** An open document of that URI, else the file read from disk. */
function readNotebook(uri: vscode.Uri): NotebookFile {
  const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc) return notebookFromDocument(doc);
  return parseNotebook(fs.readFileSync(uri.fsPath), uri.fsPath);
}

/** Where to write: the given target (an existing file only after a yes), else the save dialog's answer. */
async function destination(format: ExportFormat, nbUri: vscode.Uri, target: unknown): Promise<string | undefined> {
  const f = FORMATS[format];
  if (target instanceof vscode.Uri || typeof target === 'string') {
    const file = target instanceof vscode.Uri ? target.fsPath : path.resolve(workspaceDir(), target);
    if (!fs.existsSync(file)) return file;
    const yes = await vscode.window.showWarningMessage(`${file} already exists. Replace it with the ${f.label}?`,
      { modal: true }, 'Replace');
    return yes === 'Replace' ? file : undefined;
  }
  const dir = nbUri.scheme === 'file' ? path.dirname(nbUri.fsPath) : workspaceDir();
  const base = path.basename(nbUri.path, path.extname(nbUri.path)) || 'notebook';
  const uri = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(path.join(dir, `${base}${f.ext}`)),
    filters: { [f.filter]: [f.ext.slice(1)] },
    title: `TinyMem: Export ${f.label}`,
    saveLabel: 'Export',
  });
  return uri?.fsPath;
}

/**
 * Exports the notebook `nbArg` names (see targetNotebookUri) to `target` (a path or Uri; asked for when absent).
 * Returns the written file's path, undefined when cancelled; throws with the engine's message when it fails.
 */
export async function exportNotebookCommand(engine: EngineClient, format: ExportFormat, nbArg?: unknown,
  target?: unknown): Promise<string | undefined> {
  const nbUri = targetNotebookUri(nbArg);
  if (!nbUri) {
    void vscode.window.showErrorMessage('TinyMem: open a .tinymem notebook first; the export writes the active ' +
      'notebook\'s cells and outputs.');
    return undefined;
  }
  const nb = readNotebook(nbUri);
  const file = await destination(format, nbUri, target);
  if (!file) return undefined;
  const f = FORMATS[format];
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification,
    title: `Exporting the ${f.label} (drawing the charts)…` },
  () => engine.exportNotebook(format, nb, path.basename(nbUri.path)));
  if ('error' in r) throw new Error(r.error);
  writeFileAtomicSync(file, [Buffer.from(r.text)]);
  const open = format === 'html' ? 'Open in Browser' : 'Open';
  void vscode.window.showInformationMessage(`TinyMem: ${f.label} written to ${file}.`, open).then((choice) => {
    if (choice === 'Open in Browser') void vscode.env.openExternal(vscode.Uri.file(file));
    else if (choice === 'Open') void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file));
  });
  return file;
}
