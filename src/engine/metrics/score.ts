// Scoring a model on token sequences: per-sequence next-token loss and batched greedy continuation.
import { F, Graph, type Tensor, compileGraph } from '../graph/index';
import { type ModelConfig, configKey, contextField, declareParams, dims, modelDecodeStep, modelForward, modelPrefill,
  paramShapes } from '../model/architecture';
import { DEVICE_PROVIDERS, type DeviceTensor, type HostArray, type Runtime, isDeviceTensor } from '../runtime/session';
import { greedyOnDevice } from './deviceGreedy';
import { nextTokenLoss } from '../model/nextTokenLoss';

export type Params = Map<string, Float32Array>;

function feedsOf(params: Params): Record<string, Float32Array> {
  return Object.fromEntries(params);
}

/** Mean next-token cross-entropy of each sequence (all positions, as Hugging Face's causal-LM loss). */
export async function sequenceLosses(rt: Runtime, c: ModelConfig, params: Params, seqs: number[][],
  batch = 64): Promise<{ loss: number[]; provider: string }> {
  const loss: number[] = [];
  let provider = '';
  for (let s = 0; s < seqs.length; s += batch) {
    const chunk = seqs.slice(s, s + batch);
    const T = chunk[0]!.length;
    if (chunk.some((q) => q.length !== T)) throw new Error(
      'sequenceLosses: sequences in one call must have equal lengths');
    const B = chunk.length;
    const session = await rt.session(`seqloss:${configKey(c)}:${B}x${T}`, () => {
      const g = new Graph();
      const P = declareParams(g, c);
      const tokens = g.input('tokens', 'int64', [B, T]);
      const { logits } = modelForward(c, P, tokens);
      return compileGraph(g, { loss: nextTokenLoss(logits, tokens, 'sequence') });
    });
    const r = await session.run({ ...feedsOf(params), tokens: chunk.flat() });
    provider = r.provider;
    loss.push(...(r.outputs.loss as Float32Array));
  }
  return { loss, provider };
}

/** Full logits [B·T·V] of equal-length sequences (for parity checks against other implementations). */
export async function sequenceLogits(rt: Runtime, c: ModelConfig, params: Params,
  seqs: number[][]): Promise<Float32Array> {
  const B = seqs.length;
  const T = seqs[0]!.length;
  if (seqs.some((q) => q.length !== T)) throw new Error(
    'sequenceLogits: sequences in one call must have equal lengths');
  const session = await rt.session(`logits:${configKey(c)}:${B}x${T}`, () => {
    const g = new Graph();
    const P = declareParams(g, c);
    const tokens = g.input('tokens', 'int64', [B, T]);
    return compileGraph(g, { logits: modelForward(c, P, tokens).logits });
  });
  return (await session.run({ ...feedsOf(params), tokens: seqs.flat() })).outputs.logits as Float32Array;
}

/**
 * Greedy continuation of each prompt by `steps` tokens (batched). Prompts in one call must have equal lengths.
 * Returns only the generated tokens. One ONNX Runtime call per batch: the prompt fills a key/value cache, then an
 * ONNX Loop decodes one token per iteration against the cache, so no step pays a host round trip.
 */
export async function greedyContinuation(
  rt: Runtime,
  c: ModelConfig,
  params: Params,
  prompts: number[][],
  steps: number,
  batch = 64,
  /** Token ids never generated, as Hugging Face's `min_length` keeps EOS out until the full length. */
  suppress: readonly number[] = [],
): Promise<{ tokens: number[][]; provider: string }> {
  // On a device provider (WebGPU) the host drives the decoding, the weights uploaded once (deviceGreedy.ts).
  if (steps < 1 || !DEVICE_PROVIDERS.includes(rt.providers[0]!)) {
    return greedyBatches(rt, c, params, prompts, steps, batch, suppress, null);
  }
  const weights = await rt.toDevice(Object.fromEntries(paramShapes(c).map(([n, shape]) =>
    [n, { dtype: 'float32' as const, shape, data: params.get(n)! }])));
  try {
    return await greedyBatches(rt, c, params, prompts, steps, batch, suppress, weights);
  } finally {
    for (const t of Object.values(weights)) if (isDeviceTensor(t)) t.dispose();
  }
}

async function greedyBatches(rt: Runtime, c: ModelConfig, params: Params, prompts: number[][], steps: number,
  batch: number, suppress: readonly number[], weights: Record<string, DeviceTensor | HostArray> | null):
Promise<{ tokens: number[][]; provider: string }> {
  const out: number[][] = [];
  let provider = '';
  if (steps < 1) return { tokens: prompts.map(() => []), provider };
  for (let s = 0; s < prompts.length; s += batch) {
    const chunk = prompts.slice(s, s + batch);
    const P0 = chunk[0]!.length;
    if (chunk.some((q) => q.length !== P0)) throw new Error(
      'greedyContinuation: prompts in one call must have equal lengths');
    const capacity = P0 + steps - 1; // the last generated token is never fed back
    const { context, vocab, layers } = dims(c);
    if (capacity > context) throw new Error(`greedyContinuation: prompt ${P0} + ${steps} steps exceeds the context ` +
      `${contextField(c)}`);
    const B = chunk.length;
    if (weights) {
      const r = await greedyOnDevice(rt, c, weights, chunk, steps, suppress);
      out.push(...r.tokens);
      provider = r.provider;
      continue;
    }
    const session = await rt.session(`greedy:${configKey(c)}:${B}x${P0}+${steps}:-${suppress.join(',')}`, () => {
      const g = new Graph();
      const P = declareParams(g, c);
      const tokens = g.input('tokens', 'int64', [B, P0]);
      const pre = modelPrefill(c, P, tokens, capacity);
      const bias = new Float32Array(vocab);
      for (const t of suppress) bias[t] = -3.4028234663852886e38;
      const pick = (logits: Tensor) =>
        F.argMax(suppress.length ? F.add(logits, F.constant(logits.graph, bias, 'float32', [vocab])) : logits, -1);
      const first = pick(pre.logits); // [B]
      if (steps === 1) return compileGraph(g, { first });
      const L = layers;
      const start = F.constant(g, [P0], 'int64', [1]);
      const { scans } = F.loop(steps - 1, [first, start, ...pre.cache.k, ...pre.cache.v],
        (b, _iter, [tok, pos, ...kv]) => {
          const Pb = Object.fromEntries(Object.entries(P).map(([k, t]) => [k, b.capture(t)]));
          const step = modelDecodeStep(c, Pb, F.reshape(tok!, [B, 1]), pos!, { k: kv.slice(0, L), v: kv.slice(L) });
          const next = pick(step.logits);
          return { carried: [next, F.add(pos!, F.constant(b, [1], 'int64', [1])), ...step.cache.k, ...step.cache.v],
            scans: [next] };
        });
      return compileGraph(g, { first, rest: scans[0]! });
    });
    const r = await session.run({ ...feedsOf(params), tokens: chunk.flat() });
    provider = r.provider;
    const first = r.outputs.first as BigInt64Array;
    const rest = r.outputs.rest as BigInt64Array | undefined;
    for (let b = 0; b < B; b++) {
      const gen = [Number(first[b]!)];
      for (let t = 0; t < steps - 1; t++) gen.push(Number(rest![t * B + b]!));
      out.push(gen);
    }
  }
  return { tokens: out, provider };
}
