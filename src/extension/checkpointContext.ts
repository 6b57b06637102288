// The context keys behind the Explorer's right-click entries: tinymem.checkpointFolders (every TinyMem checkpoint and
// Hugging Face model folder in the workspace) and tinymem.editedFolders (those an edit wrote), as lists of paths for
// `resourcePath in …` when clauses. Kept fresh by file watchers; checkpoints are committed by renaming a whole
// folder into place, which reports the folder rather than its files, so folder-like names refresh too.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findModelFolders } from './checkpointPicker';

export const CHECKPOINT_FOLDERS_KEY = 'tinymem.checkpointFolders';
export const EDITED_FOLDERS_KEY = 'tinymem.editedFolders';
const MODEL_FILES = new Set(['tinymem.json', 'config.json', 'model.safetensors', 'model.safetensors.index.json']);

export async function refreshCheckpointContext(): Promise<void> {
  const found = await findModelFolders();
  await vscode.commands.executeCommand('setContext', CHECKPOINT_FOLDERS_KEY, found.map((f) => f.dir));
  await vscode.commands.executeCommand('setContext', EDITED_FOLDERS_KEY,
    found.filter((f) => f.edited).map((f) => f.dir));
}

export function watchCheckpointFolders(ctx: vscode.ExtensionContext): void {
  let timer: NodeJS.Timeout | undefined;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refreshCheckpointContext().catch(() => undefined), 500);
  };
  const relevant = (uri: vscode.Uri) => MODEL_FILES.has(path.basename(uri.fsPath)) || path.extname(uri.fsPath) === '';
  const watcher = vscode.workspace.createFileSystemWatcher('**/*', false, true, false);
  watcher.onDidCreate((u) => relevant(u) && refresh());
  watcher.onDidDelete((u) => relevant(u) && refresh());
  const changed = vscode.workspace.createFileSystemWatcher('**/tinymem.json', true, false, true);
  changed.onDidChange(refresh);
  ctx.subscriptions.push(watcher, changed, vscode.workspace.onDidChangeWorkspaceFolders(refresh),
    { dispose: () => clearTimeout(timer) });
  refresh();
}
