// Registers GPT-2 as a trainable model: config validation, parameter shapes, seeded initialisation and the causal
// language-modelling loss (Hugging Face's: mean next-token cross-entropy over all positions, padding included).
import { F } from '../graph/index';
import { Rng } from '../data/rng';
import { registerModel } from '../train/models';
import type { Tensor } from '../graph/index';
import { type Gpt2Config, type Gpt2Options, gpt2Forward, gpt2ParamShapes, initGpt2Params, nextTokenTargets } from './gpt2';

/**
 * Per-sequence LM loss [B]: each row's mean next-token cross-entropy over its T − 1 predicted positions, padding
 * included (the reference's `clm_loss_fn`). Every row counts the same positions, so the mean over rows is the
 * batch loss the model trains on.
 */
export function gpt2SequenceLosses(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, o: Gpt2Options = {}): Tensor {
  return F.crossEntropy(gpt2Forward(c, P, tokens, o).logits, nextTokenTargets(tokens), { reduction: 'sequence' });
}

const ACTIVATIONS = ['relu', 'gelu_new', 'gelu'] as const;

/** Validates a plain-data GPT-2 config, naming the offending field. */
export function resolveGpt2Config(raw: unknown): Gpt2Config {
  const c = (raw ?? {}) as Partial<Gpt2Config>;
  const int = (k: keyof Gpt2Config, v: unknown) => {
    if (!Number.isInteger(v) || (v as number) <= 0) throw new Error(`model.config.${k}: expected a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const out: Gpt2Config = {
    vocab_size: int('vocab_size', c.vocab_size),
    n_positions: int('n_positions', c.n_positions),
    n_embd: int('n_embd', c.n_embd),
    n_layer: int('n_layer', c.n_layer),
    n_head: int('n_head', c.n_head),
    n_inner: c.n_inner == null ? null : int('n_inner', c.n_inner),
    activation_function: c.activation_function ?? 'gelu_new',
    layer_norm_epsilon: c.layer_norm_epsilon ?? 1e-5,
    initializer_range: c.initializer_range ?? 0.02,
  };
  if (!ACTIVATIONS.includes(out.activation_function)) {
    throw new Error(`model.config.activation_function: expected one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(out.activation_function)}`);
  }
  if (out.n_embd % out.n_head !== 0) throw new Error(`model.config.n_head: n_embd = ${out.n_embd} is not divisible by n_head = ${out.n_head}`);
  for (const k of ['layer_norm_epsilon', 'initializer_range'] as const) {
    if (!(out[k] > 0)) throw new Error(`model.config.${k}: expected a positive number, got ${JSON.stringify(out[k])}`);
  }
  return out;
}

registerModel<Gpt2Config>('gpt2', {
  resolveConfig: resolveGpt2Config,
  paramShapes: (c) => Object.fromEntries(gpt2ParamShapes(c)),
  init: (c, seed) => {
    const r = new Rng(seed);
    return Object.fromEntries(initGpt2Params(c, () => r.normal()));
  },
  batchSpec: (c, rows) => ({ tokens: { dtype: 'int64', shape: [rows, c.n_positions] } }),
  loss: (c) => (_g, P, b) => F.crossEntropy(gpt2Forward(c, P, b.tokens!).logits, nextTokenTargets(b.tokens!)),
  tokensPerRow: (c) => c.n_positions,
});
