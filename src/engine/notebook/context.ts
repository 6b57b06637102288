// What a step executor gets from its caller (the extension's engine process or the headless `tinymem run`): where the
// notebook lives, the notebook's state (the checkpoints earlier cells produced), runtime settings, cancellation and a
// progress callback. Executors return the cell's outputs as ViewOutputs (rich item + markdown fallback).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ViewOutput } from '../../shared/viewPayloads';
import { UserError } from '../../shared/userError';
import { type ClaimOptions, type ClaimedOutput, CELL_WORDING, claimOutputDir, isWithin,
  realPath } from '../io/outputDir';

/** Per-notebook state kept across cells (in the engine process, one per open notebook; in the CLI, one per run). */
export interface NotebookState {
  /** The checkpoint of the latest train step (the default `checkpoint` of memorization, mitigate and compare). */
  lastCheckpoint?: string;
  /** The edited checkpoint of the latest mitigate step (the default `checkpoint` of inspect). */
  lastEdited?: string;
}

export interface CellProgress {
  /** One line, e.g. "epoch 3.2/20 loss 0.512 (cpu)". */
  message: string;
  /** 0…1 when known. */
  fraction?: number;
  /** Partial outputs to show while the cell runs (e.g. the live training curve); replaces earlier partial outputs. */
  outputs?: ViewOutput[];
  /** The execution provider running the work, when known (shown in the cell's progress view). */
  provider?: string;
}

export interface RuntimeSettings {
  /** Execution providers in preference order; the engine falls back along the list and reports the one that ran. */
  providers?: string[];
  /** ONNX Runtime intra-op threads; 0 = let ONNX Runtime choose. */
  threads?: number;
  /** Training steps per session run (tinymem.stepsPerRun, `--steps-per-run`; default 1). */
  stepsPerRun?: number;
}

export interface CellContext {
  /** Folder that relative paths in cells resolve against: the notebook's folder. */
  baseDir: string;
  /**
   * The folder every path a cell reads or writes must stay in (VS Code: the notebook's workspace folder; `tinymem
   * run`: the notebook's folder). Default: `baseDir`.
   */
  workspaceDir?: string;
  /** The user's opt-out (setting tinymem.allowPathsOutsideWorkspace, `tinymem run --allow-outside`). */
  allowOutsideWorkspace?: boolean;
  state: NotebookState;
  runtime: RuntimeSettings;
  /** Default seed of methods' randomness (tinymem.defaultSeed). */
  seed: number;
  signal: AbortSignal;
  onProgress(p: CellProgress): void;
}

export interface CellResult {
  outputs: ViewOutput[];
  /** The execution provider that ran the work ('' when nothing ran on ONNX Runtime). */
  provider: string;
  /** Stopped by the user; outputs hold the partial result. */
  stopped: boolean;
}

/**
 * A step that could not run for a reason the user can fix, on cell key `field`. `near` names the key whose line to
 * point at when `field` itself is absent from the cell (e.g. a missing `sequences:` is reported on `checkpoint:`).
 */
export function stepError(field: string, message: string, near?: string): UserError {
  return new UserError({ path: field, message, ...(near ? { near } : {}) }, 'step');
}

/** Refuses a path outside the notebook's workspace folder (after resolving symlinks) unless the user opted out. */
export function checkInWorkspace(ctx: CellContext, abs: string, field: string): string {
  if (ctx.allowOutsideWorkspace) return abs;
  const ws = path.resolve(ctx.workspaceDir ?? ctx.baseDir);
  const real = realPath(abs);
  if (!isWithin(real, realPath(ws))) {
    throw stepError(field, `${abs}${real !== abs ? ` (which resolves to ${real})` : ''} is outside the notebook's ` +
      `workspace folder ${ws}; use a path inside it, or allow paths outside with the setting ` +
      `tinymem.allowPathsOutsideWorkspace (tinymem run: --allow-outside)`);
  }
  return abs;
}

/** A path of cell key `field`, resolved against the notebook's folder and kept inside its workspace. */
export function resolvePath(ctx: CellContext, p: string, field: string): string {
  return checkInWorkspace(ctx, path.resolve(ctx.baseDir, p), field);
}

/**
 * Checks and locks a step's output folder before the step does any work (CLI and notebooks share the rule: an
 * existing output is replaced only with `force: true`, an output is never its own input); the error names `out`.
 */
export function claimStepOut(ctx: CellContext, out: string,
  o: Omit<ClaimOptions, 'wording' | 'onNote'>): ClaimedOutput {
  checkInWorkspace(ctx, out, 'out');
  try {
    return claimOutputDir(out, { ...o, wording: CELL_WORDING, onNote: (message) => ctx.onProgress({ message }) });
  } catch (e) {
    throw asOutError(e);
  }
}

/** An output folder's refusal as a step error on the cell's `out` key (other errors pass through). */
export function asOutError(e: unknown): unknown {
  const refused = e instanceof UserError && (e.kind === 'output' || e.kind === 'locked');
  return refused ? stepError('out', e.message, 'step') : e;
}

/** The checkpoint a step works on: its own `checkpoint` key, or the notebook's latest one of the wanted kind. */
export function checkpointFor(ctx: CellContext, given: string | undefined, kind: 'trained' | 'edited'): string {
  const dir = given !== undefined ? resolvePath(ctx, given, 'checkpoint') : kind === 'trained'
    ? ctx.state.lastCheckpoint : ctx.state.lastEdited;
  if (!dir) {
    throw stepError('checkpoint', kind === 'trained'
      ? 'no checkpoint given and no train step has run in this notebook yet; run a train cell first or add ' +
        '`checkpoint: path/to/folder`'
      : 'no checkpoint given and no mitigate step has run in this notebook yet; run a mitigate cell first or add ' +
        '`checkpoint: path/to/edited-folder`');
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw stepError('checkpoint', `${dir} is not a folder; give a checkpoint folder written by a train or mitigate ` +
      `step, or a Hugging Face model folder (relative paths start at the notebook's folder)`);
  }
  return dir;
}

/** Calls `fn` at most every `ms` milliseconds; `flush` sends the last held value. Keeps notebook updates cheap. */
export function throttle<T>(ms: number, fn: (v: T) => void): { push(v: T): void; flush(): void } {
  let last = 0;
  let pending: { v: T } | null = null;
  return {
    push(v) {
      const now = Date.now();
      if (now - last >= ms) {
        last = now;
        pending = null;
        fn(v);
      } else pending = { v };
    },
    flush() {
      if (pending) fn(pending.v);
      pending = null;
    },
  };
}

/** The context with `provider()` added to every progress report that does not name one. */
export function reportingProvider(ctx: CellContext, provider: () => string): CellContext {
  return { ...ctx, onProgress: (p) => ctx.onProgress({ provider: provider() || undefined, ...p }) };
}

export function throwIfStopped(ctx: CellContext): void {
  if (ctx.signal.aborted) throw new StepStopped();
}

/** Thrown when the user stops a step that has no partial result worth keeping. */
export class StepStopped extends Error {
  override readonly name = 'StepStopped';
  constructor() {
    super('stopped by the user');
  }
}

export const fmtPct = (v: number | null | undefined): string =>
  (v === null || v === undefined ? 'n/a' : `${v.toFixed(2)} %`);
