// Spectral norm regularization (spec §4.A; after Yoshida & Miyato 2017, arXiv 1705.10941):
//   loss = LM loss + (λ/2)·Σ_B σ_max(B)
// over weight blocks B: every 2-D weight whose name contains none of ln, wte, wpe, bias, i.e. attention c_attn
// split along its output dimension into 3·n_head blocks, attention c_proj into n_head blocks (the spec names the
// split dimension only for c_attn; we split c_proj the same way), and the MLP c_fc and c_proj whole. The sum is of
// σ, not σ² (spec §7.9).
//
// σ is estimated with ONE power-iteration step per training step from a persistent vector u per block (drawn from
// N(0, 1) with the job's seed): v = Bᵀu/‖Bᵀu‖, u = Bv/‖Bv‖, σ = uᵀBv = ‖Bv‖. The iteration is part of the step graph,
// on the weights the step starts from and outside autodiff (the reference updates u without gradient); the vectors
// are tensors the trainer carries from step to step (TrainStepSpec.carry), so with WebGPU they stay on the device
// with the weights. The penalty is then Σ_B uᵀBv = Σ_W sum(W ⊙ M_W), where M_W holds u·vᵀ in each block's place, and
// its gradient (λ/2)·M_W is exactly the gradient of (λ/2)·Σσ with u and v held fixed (which, once u and v have
// converged, is the gradient of the true spectral norms).
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
 * One power-iteration step for each column block of W [rows, cols] (split into `blocks` blocks of cols/blocks
 * columns) from u [blocks, rows], traced outside autodiff: the updated u, u·vᵀ in W's layout ([rows, cols]) and the
 * blocks' σ = ‖Bv‖ [blocks]. A zero vector stays zero.
 */
export function powerIteration(W: Tensor, u: Tensor, blocks: number): { u: Tensor; dir: Tensor; sigma: Tensor } {
  const [rows, cols] = W.shape as [number, number];
  const w = cols / blocks;
  if (!Number.isInteger(w)) throw new RangeError(`${cols} columns do not split into ${blocks} blocks`);
  const B = F.transpose(F.reshape(F.stopGradient(W), [rows, blocks, w]), [1, 0, 2]); // [blocks, rows, w]
  const v = normalize(F.reshape(F.matmul(F.reshape(F.stopGradient(u), [blocks, 1, rows]), B), [blocks, w]));
  const bv = normalize(F.reshape(F.matmul(B, F.reshape(v.x, [blocks, w, 1])), [blocks, rows]));
  const dir = F.reshape(F.transpose(F.mul(F.unsqueeze(bv.x, 2), F.unsqueeze(v.x, 1)), [1, 0, 2]), [rows, cols]);
  return { u: bv.x, dir, sigma: F.reshape(bv.norm, [blocks]) };
}

/** x scaled to unit length along its last axis, and that length (keepdims). */
function normalize(x: Tensor): { x: Tensor; norm: Tensor } {
  const norm = F.sqrt(F.reduceSum(F.mul(x, x), [-1], true));
  return { x: F.div(x, F.where(F.greater(norm, 0), norm, 1)), norm };
}

/** (λ/2)·Σ sum(W ⊙ M): the penalty term, in the weights' dtype. */
export function spectralPenalty(weights: readonly Tensor[], directions: readonly Tensor[], lam: number): Tensor {
  const g = weights[0]!.graph;
  const dtype = weights[0]!.dtype;
  let sum: Tensor = F.scalar(g, 0, dtype);
  weights.forEach((w, i) => (sum = F.add(sum, F.reduceSum(F.mul(w, directions[i]!)))));
  return F.mul(sum, F.scalar(g, lam / 2, dtype));
}

const carried = (param: string) => `spectral:u:${param}`;
const SIGMAS = 'spectral:sigmas';

function create(ctx: RegularizerContext): TrainingRegularizer {
  const c = gpt2ConfigOf('spectral-norm', ctx);
  const lam = ctx.hp.lam as number;
  const targets = Object.entries(ctx.paramShapes)
    .map(([name, shape]) => ({ name, shape, blocks: spectralBlocks(name, shape, c.n_head) }))
    .filter((t) => t.blocks > 0);
  const rng = new Rng(deriveSeed(ctx.seed, 'spectral-norm:u'));
  const carry = Object.fromEntries(targets.map((t) => [carried(t.name), { shape: [t.blocks, t.shape[0]!],
    init: Float32Array.from({ length: t.blocks * t.shape[0]! }, () => rng.normal()) }]));
  let lastSigmas: ArrayLike<number> = [];
  return {
    key: `spectral-norm(lam=${lam})`,
    carry,
    loss: (base) => (g, P, b) => {
      const its = targets.map((t) => powerIteration(P[t.name]!, b[carried(t.name)]!, t.blocks));
      const built = addToLoss(base(g, P, b), spectralPenalty(targets.map((t) => P[t.name]!), its.map((x) => x.dir),
        lam));
      const [loss, outputs] = 'outputs' in built ? [built.loss, built.outputs] : [built, {}];
      targets.forEach((t, i) => (outputs[`new:${carried(t.name)}`] = its[i]!.u));
      return { loss, outputs: { ...outputs, [SIGMAS]: F.concat(its.map((x) => x.sigma), 0) } };
    },
    afterStep(outputs) {
      lastSigmas = outputs[SIGMAS] as Float32Array;
    },
    summary: () =>
      ({ blocks: lastSigmas.length, sigmaSum: Array.from(lastSigmas).reduce((a, s) => a + s, 0),
        sigmaMax: Math.max(0, ...Array.from(lastSigmas)) }),
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
