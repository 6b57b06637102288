// Example-tied dropout (spec §4.A; Maini et al. 2023, "Can neural network memorization be localized?"), as Maini et
// al. intend it. Every transformer block multiplies its input hidden state [B, T, C] by a per-example CHANNEL mask
// [B, 1, C]:
//   * the first ⌊p_gen·C⌋ channels are "generalization" channels, kept for every example;
//   * each other channel is a "memorization" channel, kept with probability p_mem by a mask that is FIXED per
//     example: drawn from a generator seeded by (run seed, example id), so an example sees the same channels in
//     every epoch and at every block, and every example gets its own mask whenever it is first seen.
//   * At evaluation all memorization channels are zeroed and the generalization channels are scaled by
//     (p_gen + p_mem)/p_gen (exampleTiedEvalMask), so that what an example memorized through its own channels is cut.
// The reference implementation differs (spec §7.8), and we deliberately do NOT copy it: it masks tensor dimension 1,
// which is the sequence POSITION of GPT-2's hidden states (so it drops token positions, and at evaluation zeroes
// positions ≥ 0.2·T), and it fills its mask cache only on the first batch, leaving every later example an all-zero
// mask. The example id is the training row's index in the data source (the same in every epoch); duplicated rows
// share one id and so one mask.
import { Rng, deriveSeed } from '../../data/rng';
import { gpt2Forward } from '../../model/gpt2';
import { nextTokenLoss } from '../../model/nextTokenLoss';
import { registerMethod } from '../registry';
import type { RegularizerContext, TrainingRegularizer } from '../types';
import { gpt2ConfigOf } from './common';

/** Generalization channels: ⌊p_gen·C⌋ (floating-point slack so that 0.2·130 counts 26). */
export const generalizationChannels = (channels: number, pGen: number): number => Math.floor(pGen * channels + 1e-9);

/** The fixed training mask of one example: 1 on the generalization channels, Bernoulli(p_mem) on the others. */
export function exampleTiedMask(seed: number, exampleId: number, channels: number, pGen: number,
  pMem: number): Float32Array {
  const gen = generalizationChannels(channels, pGen);
  const r = new Rng(deriveSeed(seed, `example-tied-dropout:${exampleId}`));
  const m = new Float32Array(channels);
  for (let j = 0; j < channels; j++) m[j] = j < gen ? 1 : r.float() < pMem ? 1 : 0;
  return m;
}

/** The evaluation mask: (p_gen + p_mem)/p_gen on the generalization channels, 0 on the memorization channels. */
export function exampleTiedEvalMask(channels: number, pGen: number, pMem: number): Float32Array {
  const gen = generalizationChannels(channels, pGen);
  return Float32Array.from({ length: channels }, (_, j) => (j < gen ? (pGen + pMem) / pGen : 0));
}

const MASK = 'example-tied-dropout:mask';

function create(ctx: RegularizerContext): TrainingRegularizer {
  const c = gpt2ConfigOf('example-tied-dropout', ctx);
  const pGen = ctx.hp.p_gen as number;
  const pMem = ctx.hp.p_mem as number;
  const C = c.n_embd;
  let examples = 0;
  const seen = new Set<number>();
  return {
    key: 'example-tied-dropout',
    batchSpec: (rows) => ({ [MASK]: { dtype: 'float32', shape: [rows, 1, C] } }),
    // The model's own loss, with every block's input masked by the batch's per-example masks.
    loss: () => (_g, P, b) => {
      const masks = Array.from({ length: c.n_layer }, () => b[MASK]!);
      return nextTokenLoss(gpt2Forward(c, P, b.tokens!, { blockInputMasks: masks }).logits, b.tokens!);
    },
    feeds({ exampleIds }) {
      const out = new Float32Array(exampleIds.length * C);
      exampleIds.forEach((id, k) => {
        out.set(exampleTiedMask(ctx.seed, id, C, pGen, pMem), k * C);
        seen.add(id);
      });
      examples = seen.size;
      return { [MASK]: out };
    },
    summary: () => ({ examples, generalizationChannels: generalizationChannels(C, pGen), channels: C }),
  };
}

registerMethod({
  id: 'example-tied-dropout',
  name: 'Example-tied dropout',
  family: 'regularizer',
  description:
    'Masks each block\u2019s input channels per training example: generalization channels always kept, the others ' +
      'kept by a fixed per-example mask; at evaluation only the (rescaled) generalization channels remain.',
  edits: 'Training from scratch (all weights); evaluation drops the memorization channels',
  novel: false,
  hyperParams: [
    { name: 'p_mem', type: 'number', default: 0.1, min: 0, max: 1, grid: [0.01, 0.05, 0.1],
      description: 'Probability that a memorization channel is kept for an example (fixed per example); our default ' +
      '0.1 is the reference CLI\u2019s.' },
    { name: 'p_gen', type: 'number', default: 0.2, min: 0.001, max: 1, paper: 0.2,
      description: 'Fraction of channels that are generalization channels, kept for every example (reference: fixed ' +
      '0.2).' },
  ],
  create,
  evaluationConfig: (c, hp) =>
    ({ tinymem_block_input_scale: Array.from(exampleTiedEvalMask(c.n_embd, hp.p_gen as number, hp.p_mem as number)) }),
});
