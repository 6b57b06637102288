// The machinery shared by the three gradient-ascent baselines: fine-tune EVERY weight with AdamW on an objective that
// raises the forget set's LM loss, optionally keeping the retain set's behaviour:
//   ascent      −L_forget
//   difference  −L_forget + β·L_retain                    (gradient difference)
//   kl          −L_forget + β·KL(p_original ∥ p_edited)   on retain sequences
// L is Hugging Face's LM loss (mean next-token cross-entropy). One step (forward, backward, AdamW update) is one
// compiled graph per batch shape. For the KL term the original model's logits are computed in the same graph from a
// second copy of the weights, fed as constant inputs `orig:NAME` (no precomputed [rows, T, vocab] table, which would
// not fit for GPT-2's vocabulary).
//
// Stopping: each step measures the forget batch's loss before updating; once it reaches `stop_loss` the step's update
// is discarded and training ends (so the returned weights are the ones that were measured), otherwise after `epochs`
// passes over the forget set. Nothing is pruned: the result carries no masks.
//
// These baselines are not in the paper's code; their defaults (AdamW lr 1e-4, at most 10 epochs, stop at forget loss
// 0.2) come from sweeps on the test fixture, whose memorized sequences start at a forget loss of about 0.06: at
// lr 1e-3 three ascent steps already cost 8 points of accuracy; at lr 1e-4 memorization falls from 48 % to 0–4 % within
// 3–10 steps while accuracy drops 0.4–1.4 points. `stop_loss` is an absolute bound on the mean token loss, so
// models whose memorized sequences start above it take no step (the notes say so): raise it for such models.
import { F, Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { Rng, deriveSeed } from '../../data/rng';
import type { TokenMatrix } from '../../data/tokenMatrix';
import { type ModelConfig, contextField, declareParams, dims, modelForward,
  paramShapes } from '../../model/architecture';
import { adamwUpdate } from '../../train/adamw';
import type { HostArray } from '../../runtime/session';
import { StepState, float32Tensors, stateOutputs } from '../../runtime/stepState';
import type { HyperParamSpec } from '../../../shared/methodTypes';
import { tokensOf, throwIfAborted } from '../shared/batches';
import type { Params, UnlearnContext, UnlearnResult } from '../types';
import { logSoftmax, nextTokenLoss } from '../../model/nextTokenLoss';

export type BaselineObjective = 'ascent' | 'difference' | 'kl';

/** AdamW with TinyMem's betas and eps (spec §2.2) and no weight decay (decay would shrink every weight, not
 * unlearn). */
export const BASELINE_ADAMW = Object.freeze({ betas: [0.9, 0.98] as const, eps: 1e-8, weightDecay: 0 });
/** Rows per forget batch and per retain batch. */
export const BASELINE_BATCH = 64;

/**
 * Hyper-parameters every baseline has. The baselines are not in the paper: defaults and grids are ours (tuned on the
 * test fixture, see above), and the descriptions say so.
 */
export const COMMON_PARAMS: HyperParamSpec[] = [
  { name: 'lr', type: 'number', default: 1e-4, min: 0, max: 1, grid: [3e-5, 1e-4, 3e-4],
    description: 'AdamW learning rate (all weights). Not in the paper: our default and sweep.' },
  { name: 'epochs', type: 'integer', default: 10, min: 1, max: 10000, grid: [5, 10, 20],
    description: 'Most passes over the forget set (fewer when stop_loss is reached). Not in the paper: our default ' +
      'and sweep.' },
  {
    name: 'stop_loss',
    type: 'number',
    default: 0.2,
    min: 0,
    max: 1000,
    grid: [0.1, 0.2, 0.5, 1],
    description:
      'Stop once a forget batch\u2019s LM loss reaches this value (keeps the ascent from wrecking the model). Not in ' +
      'the paper: our default and sweep.',
  },
];

const names = {
  m: (n: string) => `m:${n}`,
  v: (n: string) => `v:${n}`,
  orig: (n: string) => `orig:${n}`,
  newParam: (n: string) => `new:${n}`,
  newM: (n: string) => `new:m:${n}`,
  newV: (n: string) => `new:v:${n}`,
};

/**
 * Traces one baseline step. Inputs: every weight, its AdamW moments `m:NAME`, `v:NAME`, `step` (float32 t ≥ 1),
 * `lr` (float64), `beta` (float32, the retain term's weight), `forget` [fRows, cols] and, unless the objective is
 * ascent, `retain` [rRows, cols]; for kl also `orig:NAME`. Outputs: `new:NAME`, `new:m:NAME`, `new:v:NAME`, `loss`
 * (the objective), `forgetLoss` and `retainTerm` (L_retain or the KL), all measured before the update.
 */
export function buildBaselineStep(c: ModelConfig, objective: BaselineObjective, fRows: number, rRows: number,
  cols: number) {
  const g = new Graph();
  const P = declareParams(g, c);
  const shapes = paramShapes(c);
  const ps = shapes.map(([n]) => P[n]!);
  const m = shapes.map(([n, s]) => g.input(names.m(n), 'float32', s));
  const v = shapes.map(([n, s]) => g.input(names.v(n), 'float32', s));
  const step = g.input('step', 'float32', []);
  const lr = g.input('lr', 'float32', []);
  const beta = g.input('beta', 'float32', []);
  const forget = g.input('forget', 'int64', [fRows, cols]);

  const lmLoss = (params: Record<string, Tensor>, tokens: Tensor) =>
    nextTokenLoss(modelForward(c, params, tokens).logits, tokens);
  const forgetLoss = lmLoss(P, forget);
  let retainTerm: Tensor = F.scalar(g, 0);
  if (objective !== 'ascent') {
    const retain = g.input('retain', 'int64', [rRows, cols]);
    if (objective === 'difference') retainTerm = lmLoss(P, retain);
    else {
      const O = Object.fromEntries(shapes.map(([n, s]) => [n, g.input(names.orig(n), 'float32', s)]));
      retainTerm = klToOriginal(modelForward(c, O, retain).logits, modelForward(c, P, retain).logits);
    }
  }
  const loss = F.add(F.neg(forgetLoss), F.mul(retainTerm, beta));
  const grads = gradients(loss, ps);
  const upd = adamwUpdate(ps, grads, { m, v }, step, { ...BASELINE_ADAMW, lr });

  const outputs: Record<string, Tensor> = { loss, forgetLoss, retainTerm };
  shapes.forEach(([n], i) => {
    outputs[names.newParam(n)] = upd.params[i]!;
    outputs[names.newM(n)] = upd.m[i]!;
    outputs[names.newV(n)] = upd.v[i]!;
  });
  return compileGraph(g, outputs, `baseline-${objective}-step`);
}

/**
 * KL(p_original ∥ p_edited) per position, averaged over every position of every sequence:
 * mean_{b,t} Σ_v p_o(v)·(log p_o(v) − log p_e(v)). The original logits come from constant inputs, so no gradient
 * flows into them; the gradient with respect to the edited logits is p_e − p_o per position (divided by B·T).
 */
export function klToOriginal(originalLogits: Tensor, editedLogits: Tensor): Tensor {
  const logPo = logSoftmax(originalLogits);
  const logPe = logSoftmax(editedLogits);
  const perPosition = F.reduceSum(F.mul(F.exp(logPo), F.sub(logPo, logPe)), [-1]);
  return F.reduceMean(perPosition);
}

export interface BaselineRun {
  id: string;
  objective: BaselineObjective;
  /** The retain term's weight β (ignored for ascent). */
  beta: number;
  stage: string;
}

/** Runs a baseline with ctx.hp's lr, epochs and stop_loss; returns the edited weights and no masks. */
export async function runBaseline(ctx: UnlearnContext, o: BaselineRun): Promise<UnlearnResult> {
  const { config: c, runtime: rt, forget } = ctx;
  const lr = ctx.hp.lr as number;
  const epochs = ctx.hp.epochs as number;
  const stopLoss = ctx.hp.stop_loss as number;
  const usesRetain = o.objective !== 'ascent';
  checkBaselineSets(o.id, c, forget, usesRetain ? ctx.retain : undefined);
  const shapes = paramShapes(c);
  for (const [n] of shapes) if (!ctx.params.has(n)) throw new Error(`${o.id}: the model has no tensor "${n}"`);

  // Weights and AdamW moments are the state each step replaces (on the device with WebGPU); the original weights
  // of the KL term are constants.
  const zeros = new Map(shapes.map(([n]) => [n, new Float32Array(ctx.params.get(n)!.length)]));
  const renamed = (name: (n: string) => string, arrays: ReadonlyMap<string, Float32Array>) => Object.fromEntries(
    Object.entries(float32Tensors(shapes, arrays)).map(([n, t]) => [name(n), t]));
  const st = await StepState.create(ctx.runtime, {
    constants: o.objective === 'kl' ? renamed(names.orig, ctx.params) : {},
    state: { ...float32Tensors(shapes, ctx.params), ...renamed(names.m, zeros), ...renamed(names.v, zeros) },
  });

  const cols = forget.cols;
  const fBatch = Math.min(BASELINE_BATCH, forget.rows);
  const rBatch = usesRetain ? Math.min(BASELINE_BATCH, ctx.retain.rows) : 0;
  const forgetBatches = Math.ceil(forget.rows / fBatch);
  const total = epochs * forgetBatches;
  // Retain batches: consecutive slices of a shuffled retain order, reshuffled whenever it runs out.
  const rng = new Rng(deriveSeed(ctx.seed, `${o.id}:retain`));
  let retainOrder: number[] = [];
  const nextRetainRows = (): number[] => {
    if (retainOrder.length < rBatch) retainOrder = retainOrder.concat(Array.from(rng.permutation(ctx.retain.rows)));
    return retainOrder.splice(0, rBatch);
  };

  let t = 0;
  let stopped: { loss: number } | null = null;
  let last: { loss: number; forgetLoss: number; retainTerm: number } | null = null;
  let params: Record<string, HostArray>;
  try {
    throwIfAborted(ctx.signal);
    outer: for (let e = 0; e < epochs; e++) {
      // The forget set in row order (the forget set is small; its order does not matter for full-batch passes).
      for (let s = 0; s < forget.rows; s += fBatch) {
        throwIfAborted(ctx.signal);
        const rows = Array.from({ length: Math.min(fBatch, forget.rows - s) }, (_, i) => s + i);
        const key = `methods:baseline-${o.objective}:${JSON.stringify(c)}:${rows.length}/${rBatch}x${cols}`;
        const session = await rt.session(key, () => buildBaselineStep(c, o.objective, rows.length, rBatch, cols),
          { deviceOutputs: stateOutputs });
        const r = await session.run({ ...st.feeds(), step: Float32Array.of(t + 1), lr: Float32Array.of(lr),
          beta: Float32Array.of(o.beta), forget: tokensOf(forget, rows),
          ...(usesRetain ? { retain: tokensOf(ctx.retain, nextRetainRows()) } : {}) });
        const scalar = (k: string) => (r.outputs[k] as Float32Array)[0]!;
        const cur = { loss: scalar('loss'), forgetLoss: scalar('forgetLoss'), retainTerm: scalar('retainTerm') };
        if (!Number.isFinite(cur.loss) || cur.forgetLoss >= stopLoss) StepState.discard(r);
        if (!Number.isFinite(cur.loss)) throw new Error(
          `${o.id}: the objective became ${cur.loss} at step ${t + 1}; lower lr or stop_loss`);
        if (cur.forgetLoss >= stopLoss) {
          stopped = { loss: cur.forgetLoss };
          last = cur;
          ctx.onProgress?.({ stage: o.stage, done: total, total, loss: cur.loss });
          break outer; // the weights that gave this loss are kept; this step's update is discarded
        }
        st.accept(r);
        t++;
        last = cur;
        ctx.onProgress?.({ stage: o.stage, done: t, total, loss: cur.loss });
      }
    }
    params = await st.host(shapes.map(([n]) => n));
  } finally {
    st.dispose();
  }
  const out: Params = new Map(ctx.params);
  for (const [n, a] of Object.entries(params)) out.set(n, a as Float32Array);
  const notes = [
    `${t} AdamW steps on all weights (lr ${lr}, betas ${BASELINE_ADAMW.betas.join('/')}, no weight decay); ` +
      'nothing pruned',
    stopped
      ? `stopped: a forget batch's LM loss reached ${stopped.loss.toFixed(3)} ≥ stop_loss ${stopLoss}`
      : `ran all ${epochs} epochs; last forget-batch LM loss ${last ? last.forgetLoss.toFixed(3)
        : 'n/a'} (stop_loss ${stopLoss} not reached)`,
  ];
  return { params: out, masks: new Map(), notes };
}

function checkBaselineSets(id: string, c: ModelConfig, forget: TokenMatrix, retain?: TokenMatrix): void {
  if (forget.rows === 0) throw new Error(`${id}: the forget set is empty (no memorized sequences): there is nothing ` +
    `to unlearn`);
  if (forget.cols > dims(c).context) throw new Error(
    `${id}: forget sequences have ${forget.cols} tokens, more than the model's context ${contextField(c)}`);
  if (retain) {
    if (retain.rows === 0) throw new Error(`${id}: the retain set is empty; this baseline needs retain sequences (or ` +
      `use gradient-ascent)`);
    if (retain.cols !== forget.cols) throw new Error(
      `${id}: retain sequences have ${retain.cols} tokens but forget sequences ${forget.cols}; they must have the ` +
      `same length`);
  }
}
