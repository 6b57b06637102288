// What the three fine-tuning methods share (spec §4.B): continue training the trained checkpoint with the paper's
// optimiser settings (AdamW lr 1e-3, weight decay 0.1, betas (0.9, 0.98), batch 128, no schedule) for about five
// more epochs, on one of three data choices:
//   clean  the clean twins of the planted sequences: the un-noised versions of the noised rows, or for backdoors the
//          un-poisoned versions of the triggered training rows, each once (as the reference's
//          clean_data_corresponding_to_noise), however often its planted version was duplicated in training;
//   extra  every clean training row, i.e. the training set without the planted section;
//   both   the union of the two.
// Training goes through the same training loop as `tinymem train` (runTraining, in this thread). The optimizer
// moments start from zero: checkpoints store weights, not AdamW state (the reference resumes its saved optimizer).
import { type TokenMatrix, concatRows } from '../../data/tokenMatrix';
import { type Gpt2Config, gpt2ParamShapes } from '../../model/gpt2';
import { assertTrainStepFits } from '../../train/stepMemory';
import type { HyperParamSpec } from '../../../shared/methodTypes';
import { runTraining } from '../../train/trainLoop';
import { throwIfAborted } from '../shared/batches';
import type { FineTuneContext, FineTuneData, FineTuneResult, Params } from '../types';

export type FineTuneSet = 'clean' | 'extra' | 'both';

// The paper did not sweep these (spec §4.B): each has its fixed value, no grid.
export const FINE_TUNE_PARAMS: HyperParamSpec[] = [
  { name: 'epochs', type: 'integer', default: 5, min: 1, max: 100000, paper: 5,
    description: 'Passes over the fine-tuning data (the paper fine-tunes ~5 epochs past the final checkpoint).' },
  { name: 'lr', type: 'number', default: 1e-3, min: 0, max: 1, paper: 1e-3,
    description: 'AdamW learning rate (the training lr).' },
  { name: 'batchSize', type: 'integer', default: 128, min: 1, max: 65536, paper: 128,
    description: 'Sequences per batch; left out: the checkpoint\u2019s own training batch size (the paper\u2019s 128 ' +
    'for its presets), which its training showed fits in memory.' },
  { name: 'weightDecay', type: 'number', default: 0.1, min: 0, max: 1, paper: 0.1,
    description: 'AdamW decoupled weight decay (the reference\u2019s --l2-reg).' },
];

/**
 * The rows to fine-tune on (one row per visit in an epoch): the clean twins once each, the clean training rows by
 * their repeat counts (1 in every TinyMem dataset: only planted rows are duplicated).
 */
export function fineTuneRows(data: FineTuneData, which: FineTuneSet): TokenMatrix {
  const { train, artifacts } = data;
  const cols = train.tokens.cols;
  const expand = (m: TokenMatrix, repeats: (i: number) => number): TokenMatrix => {
    const idx: number[] = [];
    for (let i = 0; i < m.rows; i++) for (let r = repeats(i); r > 0; r--) idx.push(i);
    const out = new Int32Array(idx.length * cols);
    idx.forEach((i, k) => out.set(m.data.subarray(i * cols, (i + 1) * cols), k * cols));
    return { rows: idx.length, cols, data: out };
  };
  // The planted rows come first in the training matrix (ArtifactSet.trainRow); everything after them is clean.
  const planted = artifacts.tokens.rows;
  for (let i = 0; i < planted; i++) {
    if (artifacts.trainRow[i] !== i) throw new Error(
      `fine-tuning: planted row ${i} is training row ${artifacts.trainRow[i]}; expected the planted rows first`);
  }
  const clean = artifacts.clean;
  const rest: TokenMatrix = { rows: train.tokens.rows - planted, cols,
    data: train.tokens.data.subarray(planted * cols) };
  const extra = expand(rest, (i) => train.repeats[planted + i]!);
  const out = which === 'clean' ? clean : which === 'extra' ? extra : concatRows([clean, extra], cols);
  if (out.rows === 0) throw new Error(`fine-tuning: the ${which} data is empty`);
  return out;
}

/** Refuses a fine-tuning batch whose training step would not fit in this machine's memory, naming a batch that fits. */
export function checkFineTuneMemory(c: Gpt2Config, batchRows: number, cols: number): void {
  assertTrainStepFits('batchSize', c, batchRows, cols, 'fine-tuning this model', (n) => `--set batchSize=${n}`);
}

const DESCRIBE: Record<FineTuneSet, string> = {
  clean: 'the clean twins of the planted sequences',
  extra: 'the clean training data',
  both: 'the clean twins and the clean training data',
};

export async function runFineTune(ctx: FineTuneContext, which: FineTuneSet): Promise<FineTuneResult> {
  const { config: c, hp } = ctx;
  throwIfAborted(ctx.signal);
  const rows = fineTuneRows(ctx.data, which);
  if (rows.cols > c.n_positions) throw new Error(
    `fine-tuning: sequences have ${rows.cols} tokens, more than the model's context n_positions = ${c.n_positions}`);
  // Fresh AdamW moments; the weights are taken as they are (runTraining replaces arrays, it never writes into them).
  const params: Record<string, Float32Array> = {};
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [n] of gpt2ParamShapes(c)) {
    const a = ctx.params.get(n);
    if (!a) throw new Error(`fine-tuning: the model has no tensor "${n}"`);
    params[n] = a;
    m[n] = new Float32Array(a.length);
    v[n] = new Float32Array(a.length);
  }
  const batchSize = hp.batchSize as number;
  checkFineTuneMemory(c, Math.min(batchSize, rows.rows), rows.cols);
  const epochs = hp.epochs as number;
  const total = epochs * Math.ceil(rows.rows / batchSize);
  const stage = `fine-tuning on ${DESCRIBE[which]}`;
  // The evaluation sessions cached in the runtime keep their memory arenas (about 2.5 GB on a 50,257-token
  // vocabulary); release them before the training step's sessions are made, and those after training.
  await ctx.runtime.dispose();
  const out = await runTraining(
    {
      model: { name: 'gpt2', config: c },
      hyper: { lr: hp.lr as number, weightDecay: hp.weightDecay as number, betas: [0.9, 0.98], eps: 1e-8 },
      data: { kind: 'arrays', fields: { tokens: { dtype: 'int64', rowShape: [rows.cols], data: rows.data } } },
      seed: ctx.seed,
      batchSize,
      epochs,
      shuffle: true,
      init: { params, m, v, step: 0 },
    },
    {
      runtime: ctx.runtime,
      shouldStop: () => !!ctx.signal?.aborted,
      onProgress: (p) => ctx.onProgress?.({ stage, done: p.step, total, loss: p.loss }),
    },
  );
  await ctx.runtime.dispose();
  throwIfAborted(ctx.signal);
  const r = out.result;
  const edited: Params = new Map(ctx.params);
  for (const [n, a] of Object.entries(r.state.params)) edited.set(n, a);
  const last = r.losses.at(-1);
  return {
    params: edited,
    masks: new Map(),
    steps: r.steps,
    losses: r.losses,
    seconds: r.seconds,
    notes: [
      `${r.steps} AdamW steps (${epochs} epochs of ${rows.rows} rows, batch ${batchSize}, lr ${hp.lr}, weight decay ` +
        `${hp.weightDecay}) on ${DESCRIBE[which]}; nothing pruned`,
      `training loss ${r.losses[0]?.toFixed(4) ?? 'n/a'} → ${last?.toFixed(4) ?? 'n/a'}`,
    ],
  };
}
