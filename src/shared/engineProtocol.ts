// Messages between the extension and its engine process (src/worker/engineProcess.ts, started with
// child_process.fork so a crash in native code cannot take the extension host down). Plain JSON only.
import type { NotebookFile } from './notebookFormat';
import type { CellIssue } from './userError';
import type { ViewOutput } from './viewPayloads';

/** The checkpoints earlier cells of a notebook produced (the defaults of later cells). Kept by the extension, so an
 *  engine process crash loses nothing but the running cell. */
export interface NotebookStateData {
  lastCheckpoint?: string;
  lastEdited?: string;
}

export interface EngineSettings {
  /** Execution providers in preference order (tinymem.executionProviders). */
  providers: string[];
  /** ONNX Runtime intra-op threads, 0 = auto (tinymem.threads). */
  threads: number;
  /** Training steps per session run (tinymem.stepsPerRun; default 1). */
  stepsPerRun?: number;
  /** Default seed of methods' randomness (tinymem.defaultSeed). */
  seed: number;
  /** Cells may read and write paths outside the notebook's workspace folder (tinymem.allowPathsOutsideWorkspace). */
  allowOutsideWorkspace?: boolean;
}

/** What "Export Report (HTML)" and "Export as Jupyter Notebook" write. */
export type ExportFormat = 'html' | 'ipynb';

/** A problem in a cell's YAML, 1-based positions. */
export type CellIssueData = CellIssue;

export type ToEngine =
  | { type: 'run'; id: string; source: string; baseDir: string; workspaceDir?: string; state: NotebookStateData;
    settings: EngineSettings; }
  | { type: 'cancel'; id: string }
  /** The editor's diagnostics of a step cell as it is typed. */
  | { type: 'check'; id: string; source: string }
  /** A notebook's cells and saved outputs exported as a file's text (charts drawn in the engine process). `name`:
   *  the notebook's file name, the report's title. */
  | { type: 'export'; id: string; format: ExportFormat; notebook: NotebookFile; name: string };

export type FromEngine =
  | { type: 'ready'; pid: number }
  /** `provider`: the execution provider running the work, when the step knows it. */
  | { type: 'progress'; id: string; message: string; fraction?: number; outputs?: ViewOutput[]; provider?: string }
  | { type: 'done'; id: string; outputs: ViewOutput[]; provider: string; stopped: boolean; state: NotebookStateData;
    seconds: number; }
  | { type: 'error'; id: string; message: string; issues?: CellIssueData[]; stopped: boolean; state: NotebookStateData }
  | { type: 'checked'; id: string; issues: CellIssueData[] }
  | { type: 'exported'; id: string; text: string }
  | { type: 'exportFailed'; id: string; message: string };
