// Random GPT-NeoX weights for the benchmarks (prod.bench.ts, gpu.bench.ts), built fast: uniform with std 0.02 from
// an LCG instead of a per-element Box–Muller (405M or 1B normals would dominate the run), norms at 1, biases at 0.
import { type NeoxConfig, neoxParamShapes } from '../src/engine/model/gptNeox';

export function randomNeoxParams(c: NeoxConfig, seed: number): Map<string, Float32Array> {
  let s = seed >>> 0;
  const half = 0.02 * Math.sqrt(3);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of neoxParamShapes(c)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (/norm\.weight$/.test(name)) a.fill(1);
    else if (shape.length === 2) {
      for (let i = 0; i < a.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        a[i] = (s / 2 ** 32 * 2 - 1) * half;
      }
    }
    out.set(name, a);
  }
  return out;
}

/** A Pythia shape: 410M (24 layers, d 1024, 16 heads) or 1B (16 layers, d 2048, 8 heads); MLP 4·d, rotary 25 %,
 *  vocab 50304, context 2048. */
export function pythiaShape(shape: '410m' | '1b', over: Partial<NeoxConfig> = {}): NeoxConfig {
  const big = shape === '1b';
  const hidden = over.hidden_size ?? (big ? 2048 : 1024);
  return {
    model_type: 'gpt_neox', vocab_size: 50304, hidden_size: hidden, num_hidden_layers: big ? 16 : 24,
    num_attention_heads: big ? 8 : 16, intermediate_size: 4 * hidden, max_position_embeddings: 2048, rotary_pct: 0.25,
    rotary_emb_base: 10000, layer_norm_eps: 1e-5, use_parallel_residual: true, hidden_act: 'gelu',
    initializer_range: 0.02, ...over,
  };
}
