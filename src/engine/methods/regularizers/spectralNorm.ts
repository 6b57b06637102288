// Spectral norm regularization (spec §4.A; after Yoshida & Miyato 2017, arXiv 1705.10941):
//   loss = LM loss + (λ/2)·Σ_B σ_max(B)
// over weight blocks B: every 2-D weight whose name contains none of ln, wte, wpe, bias, i.e. attention c_attn
// split along its output dimension into 3·n_head blocks, attention c_proj into n_head blocks (the spec names the
// split dimension only for c_attn; we split c_proj the same way), and the MLP c_fc and c_proj whole. The sum is of
// σ, not σ² (spec §7.9).
//
// σ is estimated with ONE power-iteration step per training step from a persistent vector u per block (host state,
// drawn from N(0, 1) with the job's seed): v = Bᵀu/‖Bᵀu‖, u = Bv/‖Bv‖, σ = uᵀBv. The iteration runs on the host, on
// the weights the step starts from and outside autodiff, as the reference updates u without gradient. The graph then
// needs only Σ_B uᵀBv = Σ_W sum(W ⊙ M_W), where M_W holds u·vᵀ in each block's place: one extra input per
// regularized weight, and its gradient (λ/2)·M_W is exactly the gradient of (λ/2)·Σσ with u and v held fixed (which,
// once u and v have converged, is the gradient of the true spectral norms).
import { F, type Shape, type Tensor } from '../../graph/index';
import { Rng, deriveSeed } from '../../data/rng';
import { registerMethod } from '../registry';
import type { RegularizerContext, TrainingRegularizer } from '../types';
import { addToLoss, gpt2ConfigOf } from './common';

/** How many column blocks the reference splits a weight into, or 0 when it is not regularized. */
export function spectralBlocks(name: string, shape: Shape, nHead: number): number {
  if (shape.length !== 2 || /ln|wte|wpe|bias/.test(name)) return 0;
  if (name.endsWith('attn.c_attn.weight')) return 3 * nHead;
  if (name.endsWith('attn.c_proj.weight')) return nHead;
  return 1;
}

/**
 * One power-iteration step for each column block of W ([rows, cols] row-major, split into `u.length` blocks of
 * cols/blocks columns). Updates each block's u in place, writes u·vᵀ into `dir` (same layout as W) and returns the
 * blocks' σ = uᵀBv = ‖Bv‖ (with the updated u).
 */
export function powerIterationStep(W: ArrayLike<number>, rows: number, cols: number, u: Float64Array[],
  dir?: { [i: number]: number }): number[] {
  const blocks = u.length;
  const w = cols / blocks;
  if (!Number.isInteger(w)) throw new RangeError(`${cols} columns do not split into ${blocks} blocks`);
  const sigmas: number[] = [];
  const v = new Float64Array(w);
  const bv = new Float64Array(rows);
  for (let k = 0; k < blocks; k++) {
    const uk = u[k]!;
    const c0 = k * w;
    // v = Bᵀu / ‖Bᵀu‖
    v.fill(0);
    for (let i = 0; i < rows; i++) {
      const ui = uk[i]!;
      const row = i * cols + c0;
      for (let j = 0; j < w; j++) v[j] += W[row + j]! * ui;
    }
    normalize(v);
    // u = Bv / ‖Bv‖, σ = ‖Bv‖
    for (let i = 0; i < rows; i++) {
      const row = i * cols + c0;
      let s = 0;
      for (let j = 0; j < w; j++) s += W[row + j]! * v[j]!;
      bv[i] = s;
    }
    const sigma = normalize(bv);
    uk.set(bv);
    sigmas.push(sigma);
    if (dir) for (let i = 0; i < rows; i++) for (let j = 0; j < w; j++) dir[i * cols + c0 + j] = uk[i]! * v[j]!;
  }
  return sigmas;
}

/** Scales x to unit length in place and returns its former length (a zero vector stays zero). */
function normalize(x: Float64Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) n += x[i]! * x[i]!;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < x.length; i++) x[i]! /= n;
  return n;
}

/** (λ/2)·Σ sum(W ⊙ M): the penalty term, in the weights' dtype. */
export function spectralPenalty(weights: readonly Tensor[], directions: readonly Tensor[], lam: number): Tensor {
  const g = weights[0]!.graph;
  const dtype = weights[0]!.dtype;
  let sum: Tensor = F.scalar(g, 0, dtype);
  weights.forEach((w, i) => (sum = F.add(sum, F.reduceSum(F.mul(w, directions[i]!)))));
  return F.mul(sum, F.scalar(g, lam / 2, dtype));
}

const inputName = (param: string) => `spectral:${param}`;

function create(ctx: RegularizerContext): TrainingRegularizer {
  const c = gpt2ConfigOf('spectral-norm', ctx);
  const lam = ctx.hp.lam as number;
  const targets = Object.entries(ctx.paramShapes)
    .map(([name, shape]) => ({ name, shape, blocks: spectralBlocks(name, shape, c.n_head) }))
    .filter((t) => t.blocks > 0);
  const rng = new Rng(deriveSeed(ctx.seed, 'spectral-norm:u'));
  const state = targets.map((t) => ({
    ...t,
    rows: t.shape[0]!,
    cols: t.shape[1]!,
    u: Array.from({ length: t.blocks }, () => Float64Array.from({ length: t.shape[0]! }, () => rng.normal())),
    dir: new Float32Array(t.shape[0]! * t.shape[1]!),
  }));
  let lastSigmas: number[] = [];
  return {
    key: `spectral-norm(lam=${lam})`,
    batchSpec: () =>
      Object.fromEntries(state.map((t) => [inputName(t.name), { dtype: 'float32' as const, shape: t.shape }])),
    loss: (base) => (g, P, b) =>
      addToLoss(base(g, P, b), spectralPenalty(state.map((t) => P[t.name]!), state.map((t) => b[inputName(t.name)]!),
        lam)),
    weightFeeds(params) {
      lastSigmas = state.flatMap((t) => powerIterationStep(params[t.name]!, t.rows, t.cols, t.u, t.dir));
      return Object.fromEntries(state.map((t) => [inputName(t.name), t.dir]));
    },
    summary: () =>
      ({ blocks: lastSigmas.length, sigmaSum: lastSigmas.reduce((a, s) => a + s, 0),
        sigmaMax: Math.max(0, ...lastSigmas) }),
  };
}

registerMethod({
  id: 'spectral-norm',
  name: 'Spectral norm regularization',
  family: 'regularizer',
  description: 'Adds (λ/2)·Σσ_max of the attention (per head block) and MLP weight matrices to the training loss; σ ' +
    'by one persistent power-iteration step per training step.',
  edits: 'Training from scratch (all weights)',
  novel: false,
  hyperParams: [{ name: 'lam', type: 'number', default: 0.01, min: 0, max: 100, grid: [0.001, 0.01, 0.1],
    description: 'λ: weight of the summed spectral norms in the loss (the term is λ/2·Σσ); our default 0.01 is the ' +
      'reference CLI\u2019s.' }],
  create,
});
