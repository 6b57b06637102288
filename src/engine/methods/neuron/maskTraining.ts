// The optimisation shared by Slimming and Hard Concrete (spec §4.D): one trainable value per MLP neuron (a
// coefficient or a mask logit, graph inputs), turned into a multiplier of the neuron's activation through
// gpt2Forward's `neuronMasks`, trained with Adam on
//   LM loss on the forget set + λ · regularizer(values)
// while the model's own weights stay fixed. Forward, backward and the Adam update are one graph and one run per batch.
//
// The reference's optimisation, reproduced:
//  * Gradients accumulate across an epoch's batches: the reference calls zero_grad once per epoch, so the Adam step
//    after batch k of an epoch sees the sum of the gradients (LM and regularizer) of batches 1…k, each taken at the
//    values of its own step. Spec §7.15 lists this as a quirk: MemPi, which the reference adapts, takes one fresh
//    gradient per step (one batch per iteration). We follow the reference, since its results are the paper's; on a
//    forget set that fits in one batch (≤ 64 memorized rows) the two are the same.
//  * Early stop as the reference checks it: in epochs whose 1-based number is a multiple of `checkEvery` (100 for
//    Slimming, 10 for Hard Concrete), before each batch, the regularizer is compared with `stop_loss`; below it, the
//    rest of that epoch's batches are skipped and training resumes with the next epoch (the reference's `break`
//    leaves only the batch loop, a side effect of wrapping MemPi's one-batch iterations in a batch loop). With the
//    paper's epochs {1, 10, 20} Slimming never checks and Hard Concrete checks in epochs 10 and 20.
//  * Batches are the forget set in order (the reference's DataLoader does not shuffle), 64 rows by default.
//  * When a batch does not fit the memory budget it is split into micro-batches whose gradients are summed before the
//    step, which gives the same step as the whole batch.
import { Rng, deriveSeed } from '../../data/rng';
import { F, Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { declareParams, modelForward, paramShapes } from '../../model/architecture';
import { StepState, float32Tensors, stateOutputs } from '../../runtime/stepState';
import { adamwUpdate } from '../../train/adamw';
import type { HyperParamSpec } from '../../../shared/methodTypes';
import { throwIfAborted } from '../shared/batches';
import type { UnlearnContext } from '../types';
import { budgetOf, checkInputs, configKey, forgetRows, packRows, rowsPerRun,
  trainingBytesPerRow } from './common';
import { nextTokenLoss } from '../../model/nextTokenLoss';

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
  /** The epochs (1-based) whose remaining batches the early-stop check skipped. */
  skippedEpochs: number[];
  /** The LM loss of the last step's batch (before its update), and the regularizer of the trained values. */
  lastLmLoss: number;
  lastRegularizer: number;
}

/**
 * Hyper-parameters shared by Slimming and Hard Concrete (spec §4.C: epochs swept over {1, 10, 20}; fixed lr 0.1,
 * λ 1000, stop_loss 0.1; batch 32 in the TinyMem sweep). `epochsWhy` says what our default epochs were tuned on.
 */
export function maskTrainingSpecs(defaultEpochs: number, epochsWhy: string): HyperParamSpec[] {
  return [
    { name: 'epochs', type: 'integer', default: defaultEpochs, min: 1, max: 100000, grid: [1, 10, 20],
      description: `Passes over the forget set; our default ${defaultEpochs} (${epochsWhy})` },
    { name: 'lr', type: 'number', default: 0.1, min: 1e-8, max: 10, paper: 0.1,
      description: 'Adam learning rate of the per-neuron values' },
    { name: 'lambda_l1', type: 'number', default: 1000, min: 0, max: 1e9, paper: 1000,
      description: 'Weight λ of the sparsity regularizer against the LM loss' },
    { name: 'stop_loss', type: 'number', default: 0.1, min: 0, max: 1e9, paper: 0.1,
      description: 'Skip the rest of a checked epoch once the regularizer is below this' },
    { name: 'batch_size', type: 'integer', default: 64, min: 1, max: 65536, paper: 32,
      description: 'Forget sequences per batch (gradients accumulate over an epoch\u2019s batches); our default 64 ' +
        'is the reference method\u2019s own default, its TinyMem sweep passed 32' },
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

  // The trained values, their Adam moments and the epoch's summed gradient are state that each run replaces (on
  // the device with WebGPU); the weights and a zero gradient per layer are constants.
  const layerNames = (name: string) => Array.from({ length: L }, (_, l) => `${name}${l}`);
  const session = await ctx.runtime.session(`neuron-${spec.id}:${configKey(c)}:${mb}x${T}`, () => {
    const g = new Graph();
    const P = declareParams(g, c);
    const layer = (name: string) => layerNames(name).map((n) => g.input(n, 'float32', [inner]));
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
    const lm = F.reduceSum(F.mul(nextTokenLoss(logits, tokens, 'sequence'), weight));
    const reg = spec.regularizer(thetas);
    const lmGrad = gradients(lm, thetas).map((d, l) => F.add(d, gradIn[l]!));
    const regGrad = gradients(reg, thetas);
    const total = lmGrad.map((d, l) => F.add(d, F.mul(regGrad[l]!, lambdaIn)));
    const upd = adamwUpdate(thetas, total, { m, v }, step, { ...ADAM, lr: lrIn });
    const outs: Record<string, Tensor> = { lm, reg };
    for (let l = 0; l < L; l++) {
      outs[`new:theta${l}`] = upd.params[l]!;
      outs[`new:m${l}`] = upd.m[l]!;
      outs[`new:v${l}`] = upd.v[l]!;
      outs[`new:gradIn${l}`] = total[l]!;
      outs[`lmGrad${l}`] = lmGrad[l]!;
    }
    return compileGraph(g, outs);
  }, { deviceOutputs: (n) => stateOutputs(n) || n.startsWith('lmGrad') });

  const rows = forgetRows(ctx);
  const perLayer = (name: string, xs: Float32Array[]) => Object.fromEntries(xs.map((x, l) =>
    [`${name}${l}`, { dtype: 'float32' as const, shape: [inner], data: x }]));
  const zeros = () => Array.from({ length: L }, () => new Float32Array(inner));
  const st = await StepState.create(ctx.runtime, {
    constants: { ...float32Tensors(paramShapes(c), ctx.params), ...perLayer('zero', zeros()) },
    state: { ...perLayer('theta', spec.init(L, inner, rng)), ...perLayer('m', zeros()), ...perLayer('v', zeros()),
      ...perLayer('gradIn', zeros()) },
  });
  const thetaNames = layerNames('theta');
  const hostThetas = async () => {
    const h = await st.host(thetaNames);
    return thetaNames.map((n) => h[n] as Float32Array);
  };
  const batchesPerEpoch = Math.ceil(N / batch);
  const total = epochs * batchesPerEpoch;
  let steps = 0;
  const skippedEpochs: number[] = [];
  let lastLmLoss = NaN;
  let thetas: Float32Array[];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      // zero_grad once per epoch: `gradIn` holds the summed gradient of this epoch's batches so far.
      for (let l = 0; l < L; l++) st.set(`gradIn${l}`, st.get(`zero${l}`));
      for (let b0 = 0; b0 < N; b0 += batch) {
        throwIfAborted(ctx.signal);
        if (epoch % spec.checkEvery === 0 && spec.regularizerHost(await hostThetas()) < stopLoss) {
          skippedEpochs.push(epoch);
          break; // the rest of this epoch only
        }
        const nb = Math.min(batch, N - b0);
        const noise = stochastic ? Array.from({ length: L }, (_, l) => [`noise${l}`, spec.sampleNoise!(inner, rng)])
          : [];
        const scalars = { ...Object.fromEntries(noise), step: Float32Array.of(steps + 1), lr: Float32Array.of(lr),
          lambda: Float32Array.of(lambda) };
        let lm = 0;
        let reg = 0;
        for (let u0 = 0; u0 < nb; u0 += mb) {
          const n = Math.min(mb, nb - u0);
          const pick = Array.from({ length: mb }, (_, k) => b0 + u0 + (k < n ? k : 0));
          const weight = Float32Array.from({ length: mb }, (_, k) => (k < n ? 1 / nb : 0));
          const lastPart = u0 + mb >= nb;
          const r = await session.run({ ...st.feeds(), ...scalars, tokens: packRows(rows, pick, T), weight },
            lastPart ? undefined : ['lm', ...layerNames('lmGrad')]);
          lm += (r.outputs.lm as Float32Array)[0]!;
          if (lastPart) reg = (r.outputs.reg as Float32Array)[0]!;
          // An earlier part only adds its LM gradient to the accumulated one; the last part updates the values.
          st.accept(r, lastPart ? undefined : (s) => (s.startsWith('gradIn') ? `lmGrad${s.slice(6)}` : undefined));
        }
        if (!Number.isFinite(lm)) throw new Error(
          `${spec.id}: the LM loss became ${lm} at step ${steps + 1}; try a smaller lr`);
        lastLmLoss = lm;
        steps++;
        ctx.onProgress?.({ stage: spec.id, done: steps, total, loss: lm + lambda * reg });
      }
    }
    thetas = await hostThetas();
  } finally {
    st.dispose();
  }
  return { thetas, steps, skippedEpochs, lastLmLoss, lastRegularizer: spec.regularizerHost(thetas) };
}

/** A line for the result's notes. */
export function trainingNote(r: MaskTrainingResult, epochs: number): string {
  const stop = r.skippedEpochs.length === 0 ? `${epochs} epochs`
    : `${epochs} epochs; the early-stop check skipped the rest of epoch${r.skippedEpochs.length > 1 ? 's' : ''} ` +
      r.skippedEpochs.join(', ');
  return `${r.steps} Adam steps (${stop}); last LM loss ${r.lastLmLoss.toFixed(4)}, ` +
    `regularizer ${r.lastRegularizer.toFixed(4)}`;
}
