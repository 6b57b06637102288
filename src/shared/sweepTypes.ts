// A sweep: a grid of training and unlearning runs expanded from a spec file, run by a backend (local processes or
// Slurm job arrays), and gathered into one table. These are the types the engine, the CLI, the notebook step and the
// views share.
import type { HyperValue } from './methodTypes';

/** One model to train: a preset, its overrides, and the epochs whose checkpoints are unlearned. */
export interface SweepModel {
  preset: string;
  set: Record<string, unknown>;
  /** Epochs of the checkpoints to unlearn; the final epoch when the spec names none. */
  checkpoints: number[];
}

/** Per-job resources for the Slurm backend. */
export interface SlurmResources {
  partition?: string;
  account?: string;
  qos?: string;
  cpus: number;
  /** Memory per job, in Slurm's units ("4G"). */
  mem: string;
  /** Time limit per job ("01:00:00"). */
  time: string;
  /** GPUs per job (`--gres=gpu:N`); with GPUs the jobs run with the spec's providers (cuda first). */
  gpus: number;
  /** Array tasks of one stage that may run at once (`--array=…%N`). */
  maxParallel?: number;
  /** Further sbatch options, passed as they are. */
  extra: string[];
}

/** The spec file, checked and with its defaults filled in. */
export interface SweepSpec {
  name: string;
  backend: 'local' | 'slurm';
  models: SweepModel[];
  seeds: number[];
  /** Method id → the hyper-parameter points to run (each a full assignment after defaults). */
  methods: { id: string; points: Record<string, HyperValue>[] }[];
  threads: number;
  providers: string[];
  /** Training steps per ONNX Runtime run in train jobs (`--steps-per-run`; 1 by default, more for CUDA). */
  stepsPerRun: number;
  /** Local backend: processes at once. */
  parallel: number;
  slurm: SlurmResources;
}

export interface TrainKey {
  stage: 'train';
  preset: string;
  set: Record<string, unknown>;
  seed: number;
  regularizer: { id: string; hyperParams: Record<string, HyperValue> } | null;
  checkpoints: number[];
}

export interface UnlearnKey {
  stage: 'unlearn';
  /** The id of the train job whose checkpoint is edited. */
  train: string;
  checkpoint: number;
  method: string;
  hyperParams: Record<string, HyperValue>;
  seed: number;
}

/** One unit of work. Its id is a hash of its key, so the same work always has the same folder. */
export interface SweepJob {
  id: string;
  key: TrainKey | UnlearnKey;
  /** Jobs that must have finished successfully first. */
  after: string[];
  /** Short human-readable description ("cpu-math-noise seed 1 · balanced-subnet ratio=0.01 · epoch 100"). */
  label: string;
}

export type JobState = 'pending' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** Written by every job when it ends (jobs/<id>/exit.json), whatever the backend. */
export interface ExitRecord {
  job: string;
  /** 0 = done. */
  code: number;
  error?: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  host: string;
  provider: string;
}

/**
 * One row of the sweep's table (results.csv / results.jsonl): one measured model. A train job gives one row per
 * checkpoint (method "base", or the regularizer's id for a regularized model); an unlearn job gives one row.
 * The *Before fields are the unedited model's at the same checkpoint (for regularizers: the unregularized model of
 * the same preset and seed), filled in when the table is gathered.
 */
export interface SweepRow {
  job: string;
  stage: 'train' | 'unlearn';
  preset: string;
  set: Record<string, unknown>;
  dataset: 'math' | 'language';
  artifact: 'noise' | 'backdoor';
  nLayer: number;
  seed: number;
  checkpoint: number;
  method: string;
  /** 'base' for an unedited model, else the method's family. */
  family: string;
  hyperParams: Record<string, HyperValue>;
  /** Math: accuracy in %; language: test perplexity. */
  utility: 'accuracy' | 'perplexity';
  memBefore: number | null;
  memAfter: number | null;
  utilityBefore: number | null;
  utilityAfter: number | null;
  /** Relative changes in % against the unedited model. */
  memChangePct: number | null;
  utilityChangePct: number | null;
  /** The selection score of spec §4.F (lower is better). */
  score: number | null;
  /** Wall-clock seconds of the method (unlearn) or of training (train). */
  seconds: number;
  provider: string;
  threads: number;
  host: string;
  finishedAt: string;
  error?: string;
  /** Why a done row is not an ordinary run (e.g. nothing was memorized, so nothing was unlearned). */
  note?: string;
}

/** A train job's curves, for the report's training-curve figures (jobs/<id>/curves.json). */
export interface TrainCurves {
  job: string;
  preset: string;
  seed: number;
  regularizer: string | null;
  loss: { epoch: number; loss: number }[];
  metrics: { epoch: number; memorization: number | null; utility: number | null }[];
}
