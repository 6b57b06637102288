// Training a preset into a checkpoint folder: training runs in a worker thread; periodic checkpoints come from its
// snapshots; stop() ends after the current step and still leaves a valid checkpoint (marked incomplete); at the end
// the model is evaluated and the metrics go into the manifest. Every write is atomic, so an interrupted run leaves
// the previous checkpoint intact. Used by the CLI and by the extension's engine process.
import type { ResolvedPreset, TrainSettings } from '../presets';
import { presetModelConfig, presetToJob } from '../presets';
import { makeCheckpointConfig, saveCheckpoint } from '../model/checkpoint';
import { type OutputWording, claimOutputDir } from '../io/outputDir';
import { rewriteManifest } from '../model/folderCommit';
import { SCALED_GPT2_TYPE } from '../model/blockScale';
import { assertTrainStepFits } from '../train/stepMemory';
import { type EvalProgress, evaluate } from '../metrics/evaluate';
import { Runtime } from '../runtime/session';
import { startTraining } from '../train/trainLoop';
import { getRegularizer, resolveHyperParams } from '../methods/registry';
import type { HyperValue } from '../../shared/methodTypes';
import { tinymemDataset } from '../train/tinymemData';
import type { TrainJob, TrainProgress, TrainState } from '../../shared/engineMessages';
import type { EvaluationResult } from '../../shared/metricTypes';
import type { RunManifest } from '../../shared/runManifest';
import { versions } from './versions';

export interface TrainRunOptions {
  preset: ResolvedPreset;
  /** The checkpoint folder. It must not exist, be empty, or (with `force`) hold an earlier TinyMem checkpoint. */
  out: string;
  force?: boolean;
  /** How errors about `out` name the flag (CLI) or cell key (notebooks). */
  wording?: OutputWording;
  /** A remark for the user that is not an error (e.g. a stale lock of a killed run was taken over). */
  onNote?(message: string): void;
  runtime?: TrainJob['runtime'];
  /** Train with a regularizer (spec §4.A): its id and hyper-parameters (missing ones take the paper's defaults). */
  regularizer?: { id: string; hyperParams?: Record<string, HyperValue | string> };
  /** Evaluate the final model (default true). */
  evaluate?: boolean;
  onProgress?(p: TrainProgress & { totalSteps: number | null }): void;
  onCheckpoint?(c: { dir: string; epoch: number; complete: boolean }): void;
  onEvalProgress?(p: EvalProgress): void;
}

export interface TrainRunResult {
  dir: string;
  manifest: RunManifest;
  evaluation: EvaluationResult | null;
  stopped: boolean;
}

export interface TrainRun {
  readonly result: Promise<TrainRunResult>;
  /** Stop after the current step; the result still has a checkpoint (progress.complete = false). */
  stop(): void;
}

/** The manifest's regularizer record, validated (unknown ids and bad values fail before anything is written). */
export function regularizerRecord(r: TrainRunOptions['regularizer']): RunManifest['regularizer'] {
  if (!r) return undefined;
  const m = getRegularizer(r.id);
  const hyperParams = resolveHyperParams(m, r.hyperParams ?? {});
  return { id: m.id, name: m.name, hyperParams };
}

/** The manifest's record of the training hyper-parameters. */
export function trainRecord(t: TrainSettings): RunManifest['train'] {
  return { epochs: t.epochs, batchSize: t.batchSize, lr: t.lr, weightDecay: t.weightDecay, betas: [t.betas[0],
    t.betas[1]], eps: t.eps, checkpointEvery: t.checkpointEvery };
}

export function trainRun(o: TrainRunOptions): TrainRun {
  const regularizer = regularizerRecord(o.regularizer);
  const sizes = presetModelConfig(o.preset);
  assertTrainStepFits('model', sizes, o.preset.train.batchSize, sizes.n_positions, 'training this model',
    (n) => `--set train.batchSize=${n}, or lower model.n_embd / model.n_layer`);
  // The folder is checked and locked before anything starts; the lock is held until the run's result settles.
  const claim = claimOutputDir(o.out, { force: o.force, wording: o.wording, onNote: o.onNote });
  try {
    return startTrainRun(o, regularizer, claim.dir, claim.release);
  } catch (e) {
    claim.release();
    throw e;
  }
}

function startTrainRun(o: TrainRunOptions, regularizer: RunManifest['regularizer'], dir: string,
  release: () => void): TrainRun {
  const p = o.preset;
  // A regularizer with an evaluation mode (example-tied dropout) stores it in config.json, so that this run's
  // evaluation and every later one run the model in that mode.
  const model = presetModelConfig(p);
  const evalMode = regularizer ? getRegularizer(regularizer.id).evaluationConfig?.(model, regularizer.hyperParams)
    : undefined;
  const config = makeCheckpointConfig({ ...model, ...evalMode });
  if (config.tinymem_block_input_scale && config.n_layer > 1) o.onNote?.(`${dir}: an example-tied-dropout model ` +
    `scales every block's input at evaluation, which plain GPT-2 weights cannot express with ${config.n_layer} ` +
    `blocks; its config.json says "model_type": "${SCALED_GPT2_TYPE}", so transformers refuses it rather than run ` +
    'a different model (tinymem runs it; with model.n_layer=1 the scale is folded into the weights)');
  const job = presetToJob(p, { runtime: o.runtime, progressEvery: 1 });
  if (p.train.checkpointEvery > 0
    && p.train.checkpointEvery < p.train.epochs) job.snapshotEvery = p.train.checkpointEvery;
  if (regularizer) job.regularizer = { id: regularizer.id, hp: regularizer.hyperParams };
  let regularizerSummary: Record<string, number> | undefined;
  const created = new Date().toISOString();
  const stepLosses: number[] = [];
  let stepsPerEpoch: number | null = null;
  let provider = '';
  const started = performance.now();

  const manifest = (progress: RunManifest['progress'],
    metricHistory: RunManifest['metricHistory'] = []): RunManifest => {
    const lossHistory: RunManifest['lossHistory'] = [];
    if (stepsPerEpoch) {
      for (let e = 0; (e + 1) * stepsPerEpoch <= stepLosses.length; e++) {
        const l = stepLosses.slice(e * stepsPerEpoch, (e + 1) * stepsPerEpoch);
        lossHistory.push({ epoch: e + 1, loss: l.reduce((a, b) => a + b, 0) / l.length });
      }
    }
    return {
      format: 'tinymem-run',
      version: 1,
      createdAt: created,
      updatedAt: new Date().toISOString(),
      preset: { name: p.name, overrides: { ...p.overrides } },
      seed: p.seed,
      data: { kind: 'tinymem', dataset: p.data.dataset, options: { ...p.data.options } },
      train: trainRecord(p.train),
      ...(regularizer
        ? { regularizer: { ...regularizer, ...(regularizerSummary ? { summary: regularizerSummary } : {}) } } : {}),
      progress,
      executionProvider: provider,
      threads: o.runtime?.threads ?? 0,
      versions: versions(),
      lossHistory,
      metricHistory,
    };
  };
  const save = (state: TrainState, m: RunManifest) => {
    saveCheckpoint(dir, config, new Map(Object.entries(state.params)), m as unknown as Record<string, unknown>);
    o.onCheckpoint?.({ dir, epoch: m.progress.epochs, complete: m.progress.complete });
  };
  const seconds = () => (performance.now() - started) / 1000;

  // The providers start here first, in the caller's thread: one that cannot start is reported once (a warning in
  // the cell or on stderr) and is left out of the worker's and the evaluation's list; none starting fails the run.
  let handle: ReturnType<typeof startTraining> | undefined;
  let stopAsked = false;
  const start = async () => {
    const providers = await startedProviders(o.runtime);
    job.runtime = { ...job.runtime, providers };
    handle = startTraining(job, {
      onProgress: (ev) => {
        stepLosses.push(ev.loss);
        provider = ev.provider;
        if (stepsPerEpoch === null && ev.epoch > 0) stepsPerEpoch = Math.round(ev.step / ev.epoch);
        o.onProgress?.({ ...ev, totalSteps: stepsPerEpoch === null ? null : stepsPerEpoch * p.train.epochs });
      },
      onSnapshot: (s) => save(s.state,
        manifest({ epochs: s.epoch, steps: s.step, seconds: seconds(), complete: false, stopped: false })),
    });
    if (stopAsked) handle.cancel();
    return handle;
  };

  const result = (async (): Promise<TrainRunResult> => {
    const out = await (await start()).result;
    const stopped = out.status === 'cancelled';
    const r = out.result;
    if (r.provider) provider = r.provider;
    regularizerSummary = r.regularizer;
    let m = manifest({ epochs: r.epochs, steps: r.steps, seconds: seconds(), complete: !stopped, stopped });
    save(r.state, m);
    let evaluation: EvaluationResult | null = null;
    if (!stopped && o.evaluate !== false) {
      const rt = new Runtime(job.runtime);
      try {
        evaluation = await evaluate(rt, config, new Map(Object.entries(r.state.params)), tinymemDataset(job.data),
          { onProgress: o.onEvalProgress });
      } finally {
        await rt.dispose();
      }
      m = { ...m, updatedAt: new Date().toISOString(),
        metricHistory: [{ epoch: r.epochs, metrics: [...evaluation.metrics] }] };
      m = rewriteManifest(dir, m as unknown as Record<string, unknown>) as unknown as RunManifest;
    }
    return { dir, manifest: m, evaluation, stopped };
  })().finally(release);
  return { result, stop: () => {
    stopAsked = true;
    handle?.cancel();
  } };
}

/** The preferred providers from the first one that starts (started in a throwaway runtime). */
async function startedProviders(runtime: TrainJob['runtime']): Promise<string[]> {
  const rt = new Runtime(runtime);
  try {
    const first = await rt.preflight();
    return rt.providers.slice(rt.providers.indexOf(first));
  } finally {
    await rt.dispose();
  }
}
