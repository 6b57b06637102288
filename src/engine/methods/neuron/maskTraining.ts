// The optimisation shared by Slimming and Hard Concrete (spec §4.D): one trainable value per MLP neuron (a
// coefficient or a mask logit, graph inputs), turned into a multiplier of the neuron's activation through
// gpt2Forward's `neuronMasks`, trained with Adam on
//   LM loss on the forget set + λ · regularizer(values)
// while the model's own weights stay fixed. Forward, backward and the Adam update are one graph and one run per batch.
//
// Decisions on the reference's quirks:
//  * Gradients are reset every batch (spec §7.15): the reference calls zero_grad once per epoch, so each Adam step
//    sees the gradients of every batch so far that epoch; the intended behaviour, and MemPi's (one batch per
//    iteration), is one fresh gradient per step. Not reproduced.
//  * Early stop: the regularizer is checked before each step of the epochs the reference checks (1-based epoch a
//    multiple of `checkEvery`: 100 for Slimming, 10 for Hard Concrete), and training ends when it is below
//    `stop_loss`. The reference's `break` leaves only that epoch's batch loop and training resumes next epoch, a
//    side effect of wrapping MemPi's one-batch iterations in a batch loop; here the whole optimisation stops.
//  * Batches are the forget set in order (the reference's DataLoader does not shuffle), 64 rows by default.
//  * When a batch does not fit the memory budget it is split into micro-batches whose gradients are summed before the
//    step, which gives the same step as the whole batch.
import { Rng, deriveSeed } from '../../data/rng';
import { F, Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { declareParams, modelForward, nextTokenTargets } from '../../model/architecture';
import { adamwUpdate } from '../../train/adamw';
import type { HyperParamSpec } from '../../../shared/methodTypes';
import { throwIfAborted } from '../shared/batches';
import type { UnlearnContext } from '../types';
import { budgetOf, checkInputs, configKey, forgetRows, packRows, paramFeeds, rowsPerRun,
  trainingBytesPerRow } from './common';

/** torch.optim.Adam's defaults (the reference passes only lr). */
const ADAM = { betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0 };

export interface MaskSpec {
  /** Method id, for messages and session keys. */
  id: string;
  /** Initial trainable values of each layer. */
  init(L: number, inner: number, rng: Rng): Float32Array[];
  /** Noise fed to `mask` each step (one sample per batch, shared by its rows), or none for a deterministic mask. */
  sampleNoise?(inner: number, rng: Rng): Float32Array;
  /** The activation multiplier [inner] built from the trainable values [inner] (and this step's noise). */
  mask(theta: Tensor, noise: Tensor | undefined): Tensor;
  /** The regularizer of all layers' values, as a graph scalar and on the host (for the early-stop check). */
  regularizer(thetas: Tensor[]): Tensor;
  regularizerHost(thetas: Float32Array[]): number;
  /** The reference checks the early stop in epochs whose 1-based number is a multiple of this. */
  checkEvery: number;
}

export interface MaskTrainingResult {
  /** The trained values of each layer. */
  thetas: Float32Array[];
  steps: number;
  /** The epoch (1-based) in which the early stop fired, or null. */
  stoppedInEpoch: number | null;
  /** The LM loss of the last step's batch (before its update), and the regularizer of the trained values. */
  lastLmLoss: number;
  lastRegularizer: number;
}

/** Hyper-parameters shared by Slimming and Hard Concrete (spec §4.C: fixed lr 0.1, λ 1000, stop_loss 0.1). */
export function maskTrainingSpecs(defaultEpochs: number): HyperParamSpec[] {
  return [
    { name: 'epochs', type: 'integer', default: defaultEpochs, min: 1, max: 100000, grid: [1, 10, 20],
      description: 'Passes over the forget set' },
    { name: 'lr', type: 'number', default: 0.1, min: 1e-8, max: 10,
      description: 'Adam learning rate of the per-neuron values' },
    { name: 'lambda_l1', type: 'number', default: 1000, min: 0, max: 1e9,
      description: 'Weight λ of the sparsity regularizer against the LM loss' },
    { name: 'stop_loss', type: 'number', default: 0.1, min: 0, max: 1e9,
      description: 'Stop early once the regularizer falls below this' },
    { name: 'batch_size', type: 'integer', default: 64, min: 1, max: 65536,
      description: 'Forget sequences per optimizer step' },
  ];
}

export async function trainNeuronMasks(ctx: UnlearnContext, spec: MaskSpec): Promise<MaskTrainingResult> {
  const { N, T, L, inner } = checkInputs(ctx, spec.id);
  const c = ctx.config;
  const epochs = ctx.hp.epochs as number;
  const lr = ctx.hp.lr as number;
  const lambda = ctx.hp.lambda_l1 as number;
  const stopLoss = ctx.hp.stop_loss as number;
  const batch = Math.min(ctx.hp.batch_size as number, N);
  for (const [k, v] of Object.entries({ epochs, batch_size: batch })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${spec.id}: ${k} must be a positive integer, got ${v}`);
  }
  const mb = rowsPerRun(budgetOf(ctx), trainingBytesPerRow(c, T), batch, 1024);
  const stochastic = !!spec.sampleNoise;
  const rng = new Rng(deriveSeed(ctx.seed, spec.id));

  const session = await ctx.runtime.session(`neuron-${spec.id}:${configKey(c)}:${mb}x${T}`, () => {
    const g = new Graph();
    const P = declareParams(g, c);
    const layer = (name: string) => Array.from({ length: L }, (_, l) => g.input(`${name}${l}`, 'float32', [inner]));
    const thetas = layer('theta');
    const m = layer('m');
    const v = layer('v');
    const gradIn = layer('gradIn');
    const noise = stochastic ? layer('noise') : [];
    const step = g.input('step', 'float32', []);
    const lrIn = g.input('lr', 'float32', []);
    const lambdaIn = g.input('lambda', 'float32', []);
    const tokens = g.input('tokens', 'int64', [mb, T]);
    const weight = g.input('weight', 'float32', [mb]); // 1/batch rows for real rows, 0 for padding
    const neuronMasks = thetas.map((t, l) => spec.mask(t, noise[l]));
    const { logits } = modelForward(c, P, tokens, { neuronMasks });
    const lm = F.reduceSum(F.mul(F.crossEntropy(logits, nextTokenTargets(tokens), { reduction: 'sequence' }), weight));
    const reg = spec.regularizer(thetas);
    const lmGrad = gradients(lm, thetas).map((d, l) => F.add(d, gradIn[l]!));
    const regGrad = gradients(reg, thetas);
    const total = lmGrad.map((d, l) => F.add(d, F.mul(regGrad[l]!, lambdaIn)));
    const upd = adamwUpdate(thetas, total, { m, v }, step, { ...ADAM, lr: lrIn });
    const outs: Record<string, Tensor> = { lm, reg };
    for (let l = 0; l < L; l++) {
      outs[`thetaOut${l}`] = upd.params[l]!;
      outs[`mOut${l}`] = upd.m[l]!;
      outs[`vOut${l}`] = upd.v[l]!;
      outs[`lmGrad${l}`] = lmGrad[l]!;
    }
    return compileGraph(g, outs);
  });

  const rows = forgetRows(ctx);
  const feeds = paramFeeds(ctx.params);
  let thetas: Float32Array[] = spec.init(L, inner, rng);
  let m: Float32Array[] = thetas.map(() => new Float32Array(inner));
  let v: Float32Array[] = thetas.map(() => new Float32Array(inner));
  const zeros: Float32Array[] = thetas.map(() => new Float32Array(inner));
  const batchesPerEpoch = Math.ceil(N / batch);
  const total = epochs * batchesPerEpoch;
  let steps = 0;
  let stoppedInEpoch: number | null = null;
  let lastLmLoss = NaN;
  const perLayer = (name: string, xs: Float32Array[]) => Object.fromEntries(xs.map((x, l) => [`${name}${l}`, x]));

  train: for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let b0 = 0; b0 < N; b0 += batch) {
      throwIfAborted(ctx.signal);
      if (epoch % spec.checkEvery === 0) {
        if (spec.regularizerHost(thetas) < stopLoss) {
          stoppedInEpoch = epoch;
          break train;
        }
      }
      const nb = Math.min(batch, N - b0);
      const noise = stochastic ? Array.from({ length: L }, () => spec.sampleNoise!(inner, rng)) : [];
      const common = {
        ...feeds,
        ...perLayer('theta', thetas),
        ...perLayer('m', m),
        ...perLayer('v', v),
        ...perLayer('noise', noise),
        step: Float32Array.of(steps + 1),
        lr: Float32Array.of(lr),
        lambda: Float32Array.of(lambda),
      };
      let gradIn = zeros;
      let lm = 0;
      let reg = 0;
      for (let u0 = 0; u0 < nb; u0 += mb) {
        const n = Math.min(mb, nb - u0);
        const pick = Array.from({ length: mb }, (_, k) => b0 + u0 + (k < n ? k : 0));
        const weight = Float32Array.from({ length: mb }, (_, k) => (k < n ? 1 / nb : 0));
        const lastPart = u0 + mb >= nb;
        const names = lastPart ? undefined : ['lm', ...thetas.map((_, l) => `lmGrad${l}`)];
        const r = await session.run({ ...common, ...perLayer('gradIn', gradIn), tokens: packRows(rows, pick, T),
          weight }, names);
        lm += (r.outputs.lm as Float32Array)[0]!;
        if (lastPart) {
          thetas = thetas.map((_, l) => r.outputs[`thetaOut${l}`] as Float32Array);
          m = thetas.map((_, l) => r.outputs[`mOut${l}`] as Float32Array);
          v = thetas.map((_, l) => r.outputs[`vOut${l}`] as Float32Array);
          reg = (r.outputs.reg as Float32Array)[0]!;
        } else {
          gradIn = thetas.map((_, l) => r.outputs[`lmGrad${l}`] as Float32Array);
        }
      }
      if (!Number.isFinite(lm)) throw new Error(
        `${spec.id}: the LM loss became ${lm} at step ${steps + 1}; try a smaller lr`);
      lastLmLoss = lm;
      steps++;
      ctx.onProgress?.({ stage: spec.id, done: steps, total, loss: lm + lambda * reg });
    }
  }
  return { thetas, steps, stoppedInEpoch, lastLmLoss, lastRegularizer: spec.regularizerHost(thetas) };
}

/** A line for the result's notes. */
export function trainingNote(r: MaskTrainingResult, epochs: number): string {
  const stop = r.stoppedInEpoch === null ? `${epochs} epochs`
    : `stopped early in epoch ${r.stoppedInEpoch} of ${epochs}`;
  return `${r.steps} Adam steps (${stop}); last LM loss ${r.lastLmLoss.toFixed(4)}, ` +
    `regularizer ${r.lastRegularizer.toFixed(4)}`;
}
