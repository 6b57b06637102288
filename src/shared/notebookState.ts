// The notebook's state (the checkpoints its train and mitigate cells produced) stored in the .tinymem file's
// notebook-level metadata under "tinymem", so that after a reload, or in `tinymem run`, a cell without `checkpoint:`
// still finds the checkpoint of an earlier cell. Paths are stored relative to the notebook's folder with "/" (the
// folder can move or be checked out elsewhere) and held absolute in memory. Reading is lenient: a value that is not a
// path (a hand edit, a newer TinyMem) is ignored, never an error that keeps the notebook from opening.
import * as path from 'node:path';
import type { NotebookStateData } from './engineProtocol';

/** The notebook metadata key holding the state. */
export const NOTEBOOK_STATE_KEY = 'tinymem';
const FIELDS = ['lastCheckpoint', 'lastEdited'] as const;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The state recorded in a notebook's metadata, paths made absolute against the notebook's folder. */
export function stateFromMetadata(metadata: Readonly<Record<string, unknown>> | undefined,
  notebookDir: string): NotebookStateData {
  const stored = metadata?.[NOTEBOOK_STATE_KEY];
  const state: NotebookStateData = {};
  if (!isObject(stored)) return state;
  for (const f of FIELDS) {
    const p = stored[f];
    if (typeof p === 'string' && p.trim() !== '' && !p.includes('\0')) state[f] = path.resolve(notebookDir, p);
  }
  return state;
}

/** `abs` relative to `dir` with "/" separators; absolute when there is no relative path (another drive). */
export function relativeToNotebook(abs: string, dir: string): string {
  const rel = path.relative(path.resolve(dir), path.resolve(abs));
  if (rel === '') return '.';
  if (path.isAbsolute(rel)) return abs;
  return rel.split(path.sep).join('/');
}

/**
 * The metadata with `state` recorded, relative to `notebookDir` (absolute without one: an untitled notebook has no
 * folder yet); other keys are kept, an empty state removes the key.
 */
export function metadataWithState(metadata: Readonly<Record<string, unknown>> | undefined, state: NotebookStateData,
  notebookDir: string | undefined): Record<string, unknown> {
  const { [NOTEBOOK_STATE_KEY]: old, ...rest } = metadata ?? {};
  // Keys a newer TinyMem may have added next to ours are kept.
  const stored: Record<string, unknown> = isObject(old) ? { ...old } : {};
  for (const f of FIELDS) {
    const p = state[f];
    if (p) stored[f] = notebookDir === undefined ? path.resolve(p) : relativeToNotebook(p, notebookDir);
    else delete stored[f];
  }
  return Object.keys(stored).length ? { ...rest, [NOTEBOOK_STATE_KEY]: stored } : rest;
}

/** Whether two states name the same checkpoints (so an unchanged state writes no edit). */
export function sameState(a: NotebookStateData, b: NotebookStateData): boolean {
  return FIELDS.every((f) => (a[f] ?? '') === (b[f] ?? ''));
}
