// The tinymem.* settings, read fresh for every run so changes apply without a reload.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { DEFAULT_OUTPUT_CAP_KB } from '../shared/cellOutputs';
import type { EngineSettings } from '../shared/engineProtocol';

/** The note that tinymem.threads was clamped to the cores shows once per session, not on every run. */
let threadsNoted = false;

export function engineSettings(): EngineSettings {
  const c = vscode.workspace.getConfiguration('tinymem');
  // The engine process checks each name against this platform's providers and names the setting when one is not.
  const providers = c.get<string[]>('executionProviders', ['cpu'])
    .filter((p) => typeof p === 'string' && p.trim() !== '').map((p) => p.trim());
  const asked = c.get<number>('threads', 0);
  const want = Number.isInteger(asked) && asked >= 0 ? asked : 0;
  const cores = os.availableParallelism();
  if (want > cores && !threadsNoted) {
    threadsNoted = true;
    const note = `tinymem.threads is ${want}, more than this machine's ${cores} CPU cores; using ${cores}`;
    void vscode.window.showWarningMessage(`TinyMem: ${note}`);
  }
  const seed = c.get<number>('defaultSeed', 0);
  const k = c.get<number>('stepsPerRun', 1);
  return {
    providers: providers.length ? providers : ['cpu'],
    threads: Math.min(want, cores),
    stepsPerRun: Number.isInteger(k) && k >= 1 ? k : 1,
    seed: Number.isSafeInteger(seed) && seed >= 0 ? seed : 0,
    allowOutsideWorkspace: c.get<boolean>('allowPathsOutsideWorkspace', false) === true,
  };
}

export function outputCapKB(): number {
  const v = vscode.workspace.getConfiguration('tinymem').get<number>('outputSizeCapKB', DEFAULT_OUTPUT_CAP_KB);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_OUTPUT_CAP_KB;
}

/** Where relative paths in a notebook's cells start: its folder; for an untitled notebook the first workspace
 * folder. */
export function baseDirOf(uri: vscode.Uri): string {
  if (uri.scheme === 'file') return vscode.Uri.joinPath(uri, '..').fsPath;
  return workspaceDir();
}

/** The folder a notebook's cells may read and write in: its workspace folder, else its own folder. */
export function workspaceDirOf(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? baseDirOf(uri);
}

export function workspaceDir(): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
}
