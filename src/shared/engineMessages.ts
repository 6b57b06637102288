// The messages between the engine's callers (extension, CLI, tests) and the training worker. Plain data only:
// everything here survives structured clone, and nothing imports the engine, so any bundle may import this file.

export type DTypeName = 'float32' | 'float64' | 'int64' | 'bool';

/** AdamW hyper-parameters (torch.optim.AdamW semantics); absent fields take the TinyMem defaults. */
export interface AdamWHyperParams {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.98] (TinyMem; PyTorch's own default is [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay, applied to every parameter. Default 0.1. */
  weightDecay?: number;
}

/**
 * Where the training rows come from. `kind` picks a data source registered in the engine (`registerDataSource`);
 * the other fields are that source's own plain-data description.
 */
export interface DataSourceSpec {
  kind: string;
  [field: string]: unknown;
}

/** A column of an `arrays` data source: `data` holds rows × prod(rowShape) values, row-major. */
export interface ArrayField {
  dtype: DTypeName;
  rowShape: number[];
  data: ArrayLike<number>;
}

/** The built-in data source: all rows travel inside the job. Every field must have the same number of rows. */
export interface ArraysDataSource extends DataSourceSpec {
  kind: 'arrays';
  fields: Record<string, ArrayField>;
}

/** Parameters and AdamW state, by parameter name (Hugging Face names such as `transformer.h.0.attn.c_attn.weight`). */
export interface TrainState {
  params: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  /** Optimizer steps taken so far, over all runs that led to this state (AdamW's bias-correction t). */
  step: number;
}

export interface TrainJob {
  /** A model registered in the engine (`registerModel`) and its plain-data configuration. */
  model: { name: string; config: unknown };
  hyper?: AdamWHyperParams;
  data: DataSourceSpec;
  /** Seeds the initial weights (unless `init` is given) and the batch order. */
  seed: number;
  batchSize: number;
  /** How long to train: a number of optimizer steps, or of epochs (passes over the data). Exactly one is required. */
  steps?: number;
  epochs?: number;
  /** Shuffle the rows each epoch (default true, as TinyMem's DataLoader). */
  shuffle?: boolean;
  /** Drop an epoch's last, smaller batch (default false, as PyTorch). */
  dropLast?: boolean;
  /** Start from this state (fine-tuning, resuming) instead of fresh weights. */
  init?: TrainState;
  /**
   * A regularizer applied while training (spec §4.A), by its method id (`tinymem methods`, family regularizer) and
   * hyper-parameters (missing ones take the paper's defaults). Its host state (ring buffer, power-iteration vectors)
   * lives for this job only.
   */
  regularizer?: { id: string; hp?: Record<string, number | boolean | string> };
  /**
   * Execution providers in preference order, ONNX Runtime threads, and training steps per session run (default 1;
   * K > 1 runs K steps in one run of a graph that loops over K stacked batches).
   */
  runtime?: { providers?: string[]; threads?: number; stepsPerRun?: number };
  /** Send a progress event every this many steps (default 1); the last step always reports. */
  progressEvery?: number;
  /** Send a copy of the state every this many completed epochs (periodic checkpoints); the final state comes with
   *  the result instead. */
  snapshotEvery?: number;
}

/** A copy of the training state after a completed epoch. */
export interface TrainSnapshot {
  type: 'snapshot';
  /** Epochs and steps done in this run. */
  epoch: number;
  step: number;
  state: TrainState;
}

export interface TrainResult {
  state: TrainState;
  /** Steps taken in this run (less than asked for when cancelled). */
  steps: number;
  /** Epochs completed in this run, fractional. */
  epochs: number;
  /** The loss of every step of this run, before that step's update. */
  losses: number[];
  /** The execution provider that ran the steps ('' when no step ran). */
  provider: string;
  seconds: number;
  /** What the job's regularizer reports (e.g. sequences dropped), when it has one. */
  regularizer?: Record<string, number>;
}

export interface TrainProgress {
  type: 'progress';
  /** Steps done in this run (1 after the first step). */
  step: number;
  /** Epochs done in this run, fractional. */
  epoch: number;
  /** The loss of the latest step. */
  loss: number;
  /** Throughput since the previous progress event. */
  tokensPerSec: number;
  provider: string;
}

/** Caller → worker. `control` is an Int32Array's buffer laid out as in CONTROL_* below. */
export interface StartMessage {
  type: 'start';
  job: TrainJob;
  control: SharedArrayBuffer;
  /** Modules the worker loads before starting, to register models or data sources (absolute paths). */
  modules?: string[];
}

/** Worker → caller. Exactly one of done, error or cancelled ends a run. */
export type WorkerEvent =
  | TrainProgress
  | TrainSnapshot
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; message: string }
  | { type: 'cancelled'; partial: TrainResult };

// The shared control block. `session.run` blocks the worker's thread for a whole step, so a posted "cancel" message
// would only be read after the run ends; a flag in shared memory is read between steps without the event loop.
/** Int32 slot: set to 1 to ask the worker to stop before its next step. */
export const CONTROL_CANCEL = 0;
/** Int32 slot: steps completed so far, written by the worker after each step. */
export const CONTROL_STEPS = 1;
export const CONTROL_SLOTS = 2;
