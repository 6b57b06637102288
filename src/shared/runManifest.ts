// tinymem.json: the manifest written next to a checkpoint's config.json and model.safetensors. It records what is
// needed to re-run and to evaluate the model: data spec, seed, hyper-parameters, versions, execution provider,
// training progress, loss and metric history, and content hashes. Plain JSON; read by the CLI, the extension and
// the renderer.
import type { HyperValue } from './methodTypes';
import type { MetricValue } from './metricTypes';

/** TinyMem data: rebuilding it from the preset's options gives the same sequences. */
export type TinyMemDataSpec = { kind: 'tinymem'; dataset: 'math' | 'language'; options: Record<string, unknown> };

/** A user's memorized-sequence set and texts (files relative to the model folder, or absolute) and lengths. */
export interface SequenceSetsSpec {
  kind: 'sequences';
  sequences: string | null;
  text: string | null;
  retain: string | null;
  promptLength: number;
  continuationLength: number;
}

export type DataSpec = TinyMemDataSpec | SequenceSetsSpec;

export interface RunManifest {
  format: 'tinymem-run';
  version: 1;
  createdAt: string;
  updatedAt: string;
  /** The preset and overrides the run was made from. */
  preset: { name: string; overrides: Record<string, string> };
  /** The run seed (noise, duplication groups, trigger, initial weights, batch order). */
  seed: number;
  /** The data spec: the TinyMem data it was trained on, or the sequence sets an edited folder was measured on. */
  data: DataSpec;
  /** Hyper-parameters of training. */
  train: { epochs: number; batchSize: number; lr: number; weightDecay: number; betas: [number, number]; eps: number;
    checkpointEvery: number; };
  /** The regularizer trained with (spec §4.A), its hyper-parameters (defaults filled in) and what it reported. */
  regularizer?: { id: string; name: string; hyperParams: Record<string, HyperValue>; summary?: Record<string, number> };
  /** Where training stands: `complete` is false for a periodic or stopped checkpoint. */
  progress: { epochs: number; steps: number; seconds: number; complete: boolean; stopped: boolean };
  executionProvider: string;
  threads: number;
  versions: { tinymem: string; onnxruntime: string; node: string };
  /** Mean training loss of each completed epoch. */
  lossHistory: { epoch: number; loss: number }[];
  /** Evaluations, oldest first. */
  metricHistory: { epoch: number; metrics: MetricValue[] }[];
  /** `sha256:<hex>` of every file of the checkpoint folder (but this one), written by its save (folderCommit). */
  contentHashes?: Record<string, string>;
  /** Size and mtime of those files at the save: a large file that still matches is not re-hashed on load. */
  fileStats?: Record<string, { bytes: number; mtimeMs: number }>;
}
