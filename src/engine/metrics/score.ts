// Scoring a model on token sequences: per-sequence next-token loss and batched greedy continuation.
// Greedy decoding recomputes a fixed-size window each step: causal attention makes positions after t irrelevant to
// the prediction at t, so one compiled session serves every step.
import { F, Graph, compileGraph } from '../graph/index';
import { type Gpt2Config, declareGpt2Params, gpt2Forward, nextTokenTargets } from '../model/gpt2';
import type { Runtime } from '../runtime/session';

export type Params = Map<string, Float32Array>;

const configKey = (c: Gpt2Config) => JSON.stringify(c);

function feedsOf(params: Params): Record<string, Float32Array> {
  return Object.fromEntries(params);
}

/** Mean next-token cross-entropy of each sequence (all positions, as Hugging Face's causal-LM loss). */
export async function sequenceLosses(rt: Runtime, c: Gpt2Config, params: Params, seqs: number[][], batch = 64): Promise<{ loss: number[]; provider: string }> {
  const loss: number[] = [];
  let provider = '';
  for (let s = 0; s < seqs.length; s += batch) {
    const chunk = seqs.slice(s, s + batch);
    const T = chunk[0]!.length;
    if (chunk.some((q) => q.length !== T)) throw new Error('sequenceLosses: sequences in one call must have equal lengths');
    const B = chunk.length;
    const session = await rt.session(`seqloss:${configKey(c)}:${B}x${T}`, () => {
      const g = new Graph();
      const P = declareGpt2Params(g, c);
      const tokens = g.input('tokens', 'int64', [B, T]);
      const { logits } = gpt2Forward(c, P, tokens);
      return compileGraph(g, { loss: F.crossEntropy(logits, nextTokenTargets(tokens), { reduction: 'sequence' }) });
    });
    const r = await session.run({ ...feedsOf(params), tokens: chunk.flat() });
    provider = r.provider;
    loss.push(...(r.outputs.loss as Float32Array));
  }
  return { loss, provider };
}

/**
 * Greedy continuation of each prompt by `steps` tokens (batched). Prompts in one call must have equal lengths.
 * Returns only the generated tokens.
 */
export async function greedyContinuation(rt: Runtime, c: Gpt2Config, params: Params, prompts: number[][], steps: number, batch = 64): Promise<{ tokens: number[][]; provider: string }> {
  const out: number[][] = [];
  let provider = '';
  for (let s = 0; s < prompts.length; s += batch) {
    const chunk = prompts.slice(s, s + batch);
    const P0 = chunk[0]!.length;
    if (chunk.some((q) => q.length !== P0)) throw new Error('greedyContinuation: prompts in one call must have equal lengths');
    const W = P0 + steps - 1; // the last generated token is never fed back
    if (W > c.n_positions) throw new Error(`greedyContinuation: prompt ${P0} + ${steps} steps exceeds the context n_positions = ${c.n_positions}`);
    const B = chunk.length;
    const session = await rt.session(`greedy:${configKey(c)}:${B}x${W}`, () => {
      const g = new Graph();
      const P = declareGpt2Params(g, c);
      const tokens = g.input('tokens', 'int64', [B, W]);
      return compileGraph(g, { next: F.argMax(gpt2Forward(c, P, tokens).logits, -1) });
    });
    const window = new BigInt64Array(B * W);
    chunk.forEach((p, b) => p.forEach((t, i) => (window[b * W + i] = BigInt(t))));
    const gen = chunk.map(() => [] as number[]);
    const weights = feedsOf(params);
    for (let t = P0; t < P0 + steps; t++) {
      const r = await session.run({ ...weights, tokens: window });
      provider = r.provider;
      const next = r.outputs.next as BigInt64Array;
      for (let b = 0; b < B; b++) {
        const tok = next[b * W + t - 1]!;
        gen[b]!.push(Number(tok));
        if (t < W) window[b * W + t] = tok;
      }
    }
    out.push(...gen);
  }
  return { tokens: out, provider };
}
