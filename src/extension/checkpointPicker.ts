// Picking a checkpoint folder: the checkpoints found in the workspace (folders holding tinymem.json) as QuickPick
// items, plus "Browse…" for an OS folder dialog. Listing them keeps the commands drivable from the keyboard (and from
// an automated test) without a file dialog.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isSaveLeftover } from '../shared/saveLeftovers';
import { readTextLimited } from '../shared/readLimited';

export const BROWSE_LABEL = 'Browse…';

export interface FoundCheckpoint {
  dir: string;
  edited: boolean;
  description: string;
}

export function describeCheckpoint(dir: string): FoundCheckpoint | null {
  try {
    const m = JSON.parse(readTextLimited(path.join(dir, 'tinymem.json'), 'manifest')) as {
      preset?: { name?: string };
      progress?: { epochs?: number; complete?: boolean };
      mitigation?: { method?: string };
    };
    if (m.mitigation) return { dir, edited: true, description: `edited by ${m.mitigation.method ?? 'a method'}` };
    const ep = m.progress?.epochs;
    return { dir, edited: false, description: `trained${m.preset?.name ? ` ${m.preset.name}` : ''}${ep !== undefined
      ? `, ${Number(ep.toFixed(2))} epochs` : ''}${m.progress?.complete === false ? ' (incomplete)' : ''}` };
  } catch {
    return null;
  }
}

export async function findCheckpoints(): Promise<FoundCheckpoint[]> {
  const files = await vscode.workspace.findFiles('**/tinymem.json', '**/node_modules/**', 500);
  // The temporary folders of a save in progress or killed (.NAME.tmp-…, .NAME.old-…) are never checkpoints.
  const found = files
    .filter((f) => !f.fsPath.split(/[\\/]/).some(isSaveLeftover))
    .map((f) => describeCheckpoint(path.dirname(f.fsPath)))
    .filter((c): c is FoundCheckpoint => c !== null);
  return found.sort(
    (a, b) => vscode.workspace.asRelativePath(a.dir).localeCompare(vscode.workspace.asRelativePath(b.dir)));
}

/** Asks for a checkpoint folder; `want` filters the listed ones. Undefined when the user cancels. */
export async function pickCheckpoint(title: string, want: 'trained' | 'edited' | 'any'): Promise<string | undefined> {
  const all = await findCheckpoints();
  const list = all.filter((c) => want === 'any' || (want === 'edited') === c.edited);
  type Item = vscode.QuickPickItem & { dir?: string };
  const items: Item[] = list.map(
    (c) => ({ label: vscode.workspace.asRelativePath(c.dir, false), description: c.description, dir: c.dir }));
  items.push({ label: BROWSE_LABEL, description: 'choose a folder on disk' });
  const placeHolder = list.length
    ? `Pick ${want === 'edited' ? 'an edited' : 'a'} checkpoint folder`
    : `No ${want === 'edited' ? 'edited '
      : ''}checkpoints in this workspace; choose "${BROWSE_LABEL}" to pick a folder`;
  const pick = await vscode.window.showQuickPick(items,
    { title, placeHolder, matchOnDescription: true, ignoreFocusOut: true });
  if (!pick) return undefined;
  if (pick.dir) return pick.dir;
  const uris = await vscode.window.showOpenDialog(
    { canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title, openLabel: 'Use this checkpoint' });
  const dir = uris?.[0]?.fsPath;
  if (dir && !fs.existsSync(path.join(dir, 'tinymem.json'))) {
    void vscode.window.showErrorMessage(`${dir} holds no tinymem.json, so it is not a TinyMem checkpoint. Pick a ` +
      `folder written by "TinyMem: Train Model…" or a train step.`);
    return undefined;
  }
  return dir;
}
