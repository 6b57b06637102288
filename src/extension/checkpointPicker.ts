// Picking a model folder: the TinyMem checkpoints and Hugging Face model folders found in the workspace as QuickPick
// items, plus "Browse…" for an OS folder dialog; and, for a Hugging Face folder that records no memorized-sequence
// set, the sequence and text files to measure it on. Listing them keeps the commands drivable from the keyboard (and
// from an automated test) without a file dialog.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HF_MODEL_TYPES, type ModelFolder, describeModelFolder } from '../shared/modelFolder';
import { isSaveLeftover } from '../shared/saveLeftovers';

export const BROWSE_LABEL = 'Browse…';
export const NO_TEXT_LABEL = 'No text file';

export type Want = 'trained' | 'edited' | 'any';
const wanted = (f: ModelFolder, want: Want) => want === 'any' || (want === 'edited') === f.edited;

/** Every model folder in the workspace: folders holding tinymem.json, or config.json the engine loads. */
export async function findModelFolders(): Promise<ModelFolder[]> {
  const exclude = '**/node_modules/**';
  const files = [...await vscode.workspace.findFiles('**/tinymem.json', exclude, 500),
    ...await vscode.workspace.findFiles('**/config.json', exclude, 500)];
  // The temporary folders of a save in progress or killed (.NAME.tmp-…, .NAME.old-…) are never checkpoints.
  const dirs = new Set(files.filter((f) => !f.fsPath.split(/[\\/]/).some(isSaveLeftover))
    .map((f) => path.dirname(f.fsPath)));
  const found = [...dirs].map(describeModelFolder).filter((c): c is ModelFolder => c !== null);
  return found.sort(
    (a, b) => vscode.workspace.asRelativePath(a.dir).localeCompare(vscode.workspace.asRelativePath(b.dir)));
}

const NOT_A_MODEL = 'is not a TinyMem checkpoint (tinymem.json) nor a Hugging Face model folder (config.json with ' +
  `model_type ${HF_MODEL_TYPES.join(' or ')}, and model.safetensors or its shards)`;

/** A folder the user named (Browse…, the Explorer, a command argument), checked; undefined after an error message. */
export function checkedFolder(dir: string, want: Want): ModelFolder | undefined {
  const f = fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? describeModelFolder(dir) : null;
  const problem = !f ? NOT_A_MODEL
    : want === 'edited' && !f.edited ? 'was not edited by a mitigation method (its tinymem.json records none); ' +
      'pick the folder "Unlearn Memorized Sequences…" or a mitigate step wrote'
    : undefined;
  if (problem) {
    void vscode.window.showErrorMessage(`${dir} ${problem}.`);
    return undefined;
  }
  return f!;
}

/** Asks for a model folder; `want` filters the listed ones. Undefined when the user cancels. */
export async function pickCheckpoint(title: string, want: Want): Promise<ModelFolder | undefined> {
  const list = (await findModelFolders()).filter((f) => wanted(f, want));
  type Item = vscode.QuickPickItem & { folder?: ModelFolder };
  const items: Item[] = list.map(
    (f) => ({ label: vscode.workspace.asRelativePath(f.dir, false), description: f.description, folder: f }));
  items.push({ label: BROWSE_LABEL, description: 'choose a folder on disk' });
  const what = want === 'edited' ? 'an edited checkpoint' : 'a checkpoint or Hugging Face model folder';
  const placeHolder = list.length ? `Pick ${what}`
    : `No ${want === 'edited' ? 'edited checkpoints' : 'checkpoints or model folders'} in this workspace; choose ` +
      `"${BROWSE_LABEL}" to pick a folder`;
  const pick = await vscode.window.showQuickPick(items,
    { title, placeHolder, matchOnDescription: true, ignoreFocusOut: true });
  if (!pick) return undefined;
  if (pick.folder) return pick.folder;
  const uris = await vscode.window.showOpenDialog(
    { canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title, openLabel: 'Use this folder' });
  return uris?.[0] ? checkedFolder(uris[0].fsPath, want) : undefined;
}

/** Files in the workspace a set may come from, model folders' own JSON files left out. */
async function workspaceFiles(glob: string): Promise<string[]> {
  const own = /^(config|tinymem|tokenizer|tokenizer_config|special_tokens_map|generation_config|vocab)\.json$|\.index\.json$/;
  const files = await vscode.workspace.findFiles(glob, '**/node_modules/**', 500);
  return files.map((f) => f.fsPath).filter((f) => !own.test(path.basename(f)) && !f.split(/[\\/]/).some(isSaveLeftover))
    .sort((a, b) => vscode.workspace.asRelativePath(a).localeCompare(vscode.workspace.asRelativePath(b)));
}

/**
 * Asks for a file: `recent` (the last one used for this folder) first, the workspace's files matching `glob`, an
 * optional `none` item (resolves to null), and Browse…. Undefined when cancelled.
 */
export async function pickFile(o: { title: string; placeHolder: string; glob: string; filters: Record<string,
  string[]>; recent?: string; none?: string; }): Promise<string | null | undefined> {
  type Item = vscode.QuickPickItem & { file?: string | null };
  const files = await workspaceFiles(o.glob);
  const recent = o.recent && fs.existsSync(o.recent) ? [o.recent] : [];
  const items: Item[] = [...recent, ...files.filter((f) => f !== o.recent)].map((f) => ({
    label: vscode.workspace.asRelativePath(f, false), file: f,
    ...(f === o.recent ? { description: 'used last time for this folder' } : {}) }));
  if (o.none) items.push({ label: o.none, file: null });
  items.push({ label: BROWSE_LABEL, description: 'choose a file on disk' });
  const pick = await vscode.window.showQuickPick(items,
    { title: o.title, placeHolder: o.placeHolder, matchOnDescription: true, ignoreFocusOut: true });
  if (!pick) return undefined;
  if (pick.file !== undefined) return pick.file;
  const uris = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: false,
    canSelectMany: false, title: o.title, filters: o.filters, openLabel: 'Use this file' });
  return uris?.[0]?.fsPath;
}
