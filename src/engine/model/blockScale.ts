// A GPT-2 model with tinymem_block_input_scale (the evaluation mode of example-tied dropout: every block's input, the
// residual stream itself, is multiplied per channel by s, 0 on the memorization channels) saved so that plain GPT-2
// code either computes the same function or refuses the folder:
//
//   * One block: the only scaled residual stream is the embedding sum, s⊙(wte[t] + wpe[p]) = (s⊙wte)[t] + (s⊙wpe)[p],
//     so s is folded into the columns of wte and wpe. The output head, tied to wte, must keep the unscaled wte: it
//     is stored as its own lm_head.weight (tie_word_embeddings false). Exact up to float rounding of one product.
//   * Two blocks or more: not expressible. Block i's input is s⊙(x + attn_i + mlp_i): earlier contributions are
//     multiplied again at every block (by s², s³, …) and the memorization channels that block i's attention writes
//     (which its own MLP reads through ln_2) are erased before block i+1. Plain GPT-2 only adds to the residual
//     stream, and LayerNorm's normalization stands between it and every weight that could absorb the factor, so no
//     choice of weights reproduces it. Such a folder keeps the field and gets model_type "tinymem_gpt2" in
//     config.json, which transformers refuses ("does not recognize this architecture") instead of silently running
//     the unscaled model; tinymem reads it as GPT-2 with the scale.
import type { Gpt2Config } from './gpt2';

/** config.json's model_type of a GPT-2 whose block-input scale cannot be folded (see above). */
export const SCALED_GPT2_TYPE = 'tinymem_gpt2';
export const SCALED_GPT2_ARCHITECTURE = 'TinyMemBlockScaledGPT2';
export const SCALED_GPT2_NOTE = 'GPT-2 whose every block input is multiplied per channel by ' +
  'tinymem_block_input_scale (example-tied dropout\'s evaluation mode). This cannot be folded into plain GPT-2 ' +
  'weights when n_layer > 1, so model_type is not "gpt2": transformers refuses this folder rather than computing a ' +
  'different model. tinymem (and code that applies the scale) runs it.';

export interface FoldedModel {
  config: Gpt2Config;
  params: Map<string, Float32Array>;
  /** The untied head to store (the unscaled token embedding, or the model's own untied head). */
  lmHead: Float32Array;
}

/**
 * A one-block model with the scale folded into wte and wpe (new arrays; `params` is not changed), or null when the
 * model has no scale or more than one block.
 */
export function foldBlockScale(config: Gpt2Config, params: ReadonlyMap<string, Float32Array>,
  lmHead: Float32Array | null | undefined): FoldedModel | null {
  const s = config.tinymem_block_input_scale;
  if (!s || config.n_layer !== 1) return null;
  const C = config.n_embd;
  const scaled = (name: string): Float32Array => {
    const a = params.get(name)!.slice();
    for (let i = 0; i < a.length; i++) a[i]! *= s[i % C]!;
    return a;
  };
  const wte = params.get('transformer.wte.weight')!;
  const out = new Map(params);
  out.set('transformer.wte.weight', scaled('transformer.wte.weight'));
  out.set('transformer.wpe.weight', scaled('transformer.wpe.weight'));
  out.delete('lm_head.weight');
  const { tinymem_block_input_scale: _s, ...rest } = config;
  return { config: { ...rest, tie_word_embeddings: false }, params: out,
    lmHead: lmHead ?? params.get('lm_head.weight') ?? wte };
}

/** config.json for a model whose scale stays (n_layer > 1): a model_type transformers refuses, with the reason. */
export function scaledConfigJson(json: Record<string, unknown>): Record<string, unknown> {
  if (!json.tinymem_block_input_scale) return json;
  return { ...json, model_type: SCALED_GPT2_TYPE, architectures: [SCALED_GPT2_ARCHITECTURE],
    tinymem_note: SCALED_GPT2_NOTE };
}
