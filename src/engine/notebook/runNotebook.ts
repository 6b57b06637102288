// Runs every step cell of a parsed notebook in order, with one notebook state, and returns the notebook with the new
// outputs. Used by the headless `tinymem run`; stops at the first failing cell (its error becomes that cell's
// output) because later cells usually depend on it; the cells not run keep their earlier outputs. The notebook's state
// starts from its metadata (the checkpoints an earlier run recorded) and the new one is recorded there, as in the
// editor.
import { errorOutput, viewToOutput } from '../../shared/cellOutputs';
import type { NotebookFile } from '../../shared/notebookFormat';
import { metadataWithState, stateFromMetadata } from '../../shared/notebookState';
import type { ViewOutput } from '../../shared/viewPayloads';
import type { CellContext, CellProgress, NotebookState, RuntimeSettings } from './context';
import { describeError } from './errors';
import { runCellSource } from './runCell';

export interface RunNotebookOptions {
  baseDir: string;
  /** The folder cells' paths must stay in (default: baseDir) unless `allowOutsideWorkspace`. */
  workspaceDir?: string;
  allowOutsideWorkspace?: boolean;
  runtime: RuntimeSettings;
  seed?: number;
  outputCapKB?: number;
  signal?: AbortSignal;
  /** Called before each step cell: index in `cells` (0-based), ordinal among step cells (1-based), their count. */
  onCell?(index: number, ordinal: number, steps: number, source: string): void;
  onProgress?(index: number, p: CellProgress): void;
  onCellDone?(index: number, seconds: number, provider: string): void;
}

export interface CellFailure {
  /** 0-based index into cells; shown to people as "cell N" (1-based). */
  index: number;
  message: string;
  field?: string;
  line?: number;
}

export interface RunNotebookResult {
  notebook: NotebookFile;
  failure: CellFailure | null;
  /** Every ViewOutput by cell index, for the HTML report. */
  views: Map<number, ViewOutput[]>;
  errors: Map<number, string>;
  stopped: boolean;
}

export async function runNotebook(nb: NotebookFile, o: RunNotebookOptions): Promise<RunNotebookResult> {
  const state: NotebookState = stateFromMetadata(nb.metadata, o.baseDir);
  const signal = o.signal ?? new AbortController().signal;
  const cells = nb.cells.map((c) => ({ ...c }));
  const views = new Map<number, ViewOutput[]>();
  const errors = new Map<number, string>();
  const steps = cells.filter((c) => c.kind === 'step').length;
  let ordinal = 0;
  let failure: CellFailure | null = null;
  let stopped = false;
  for (const [i, cell] of cells.entries()) {
    if (cell.kind !== 'step') continue;
    // Cells after a failure or a stop are not run and keep the outputs they had (the file may be written back over
    // the notebook itself).
    if (failure || stopped) continue;
    ordinal++;
    o.onCell?.(i, ordinal, steps, cell.source);
    const started = Date.now();
    const ctx: CellContext = { baseDir: o.baseDir, workspaceDir: o.workspaceDir,
      allowOutsideWorkspace: o.allowOutsideWorkspace, state, runtime: o.runtime, seed: o.seed ?? 0, signal,
      onProgress: (p) => o.onProgress?.(i, p) };
    try {
      const r = await runCellSource(cell.source, ctx);
      views.set(i, r.outputs);
      cell.outputs = r.outputs.map((v) => viewToOutput(v, o.outputCapKB));
      o.onCellDone?.(i, (Date.now() - started) / 1000, r.provider);
      if (r.stopped) stopped = true;
    } catch (e) {
      const d = describeError(e);
      const label = `Cell ${i + 1}`;
      errors.set(i, d.message);
      cell.outputs = [errorOutput(label, d.message)];
      const first = d.issues?.[0];
      failure = { index: i, message: d.message, field: first?.field, line: first?.line };
      if (signal.aborted) stopped = true;
    }
  }
  const metadata = metadataWithState(nb.metadata, state, o.baseDir);
  const notebook: NotebookFile = { ...nb, cells };
  if (Object.keys(metadata).length) notebook.metadata = metadata;
  else delete notebook.metadata;
  return { notebook, failure, views, errors, stopped };
}
