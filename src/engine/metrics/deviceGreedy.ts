// Batched greedy generation on a device provider (WebGPU): WebGPU has no kernel for the ONNX Loop that decodes on
// the CPU in one run, and a Loop on the CPU would copy the key/value cache between host and device every token. Here
// the host drives the decoding instead: one prefill run, then one decode run per token, with the weights uploaded
// once and the cache left on the device between runs (device outputs fed back); only the tokens cross, [B] per step.
import { F, Graph, type Tensor, compileGraph } from '../graph/index';
import { type ModelConfig, configKey, declareParams, dims, modelDecodeStep,
  modelPrefill } from '../model/architecture';
import { type DeviceTensor, type HostArray, type Runtime, isDeviceTensor } from '../runtime/session';

const cacheName = (kind: 'k' | 'v', i: number) => `cache:${kind}:${i}`;
const isCache = (n: string) => n.startsWith('new:cache:');

/**
 * Greedy continuation of `prompts` (equal lengths, one batch) by `steps` tokens, `weights` already on the device
 * (Runtime.toDevice). Token ids in `suppress` are never generated.
 */
export async function greedyOnDevice(rt: Runtime, c: ModelConfig, weights: Record<string, DeviceTensor | HostArray>,
  prompts: number[][], steps: number, suppress: readonly number[]): Promise<{ tokens: number[][]; provider: string }> {
  const B = prompts.length;
  const P0 = prompts[0]!.length;
  const capacity = P0 + steps - 1;
  const { vocab } = dims(c);
  const bias = new Float32Array(vocab);
  for (const t of suppress) bias[t] = -3.4028234663852886e38;
  const pick = (logits: Tensor) =>
    F.argMax(suppress.length ? F.add(logits, F.constant(logits.graph, bias, 'float32', [vocab])) : logits, -1);
  const key = `${configKey(c)}:${B}x${P0}+${steps}:-${suppress.join(',')}`;
  const keepCache = { deviceOutputs: isCache };

  const prefill = await rt.session(`greedy-device-prefill:${key}`, () => {
    const g = new Graph();
    const pre = modelPrefill(c, declareParams(g, c), g.input('tokens', 'int64', [B, P0]), capacity);
    return compileGraph(g, { next: pick(pre.logits), ...cacheOutputs(pre.cache) });
  }, keepCache);
  const decode = await rt.session(`greedy-device-decode:${key}`, () => {
    const scratch = new Graph(); // the cache's shapes, from a prefill traced on the side
    const shapes = modelPrefill(c, declareParams(scratch, c), scratch.input('tokens', 'int64', [B, P0]), capacity)
      .cache;
    const g = new Graph();
    const P = declareParams(g, c);
    const tok = g.input('tokens', 'int64', [B, 1]);
    const pos = g.input('pos', 'int64', [1]);
    const cache = {
      k: shapes.k.map((t, i) => g.input(cacheName('k', i), t.dtype, t.shape)),
      v: shapes.v.map((t, i) => g.input(cacheName('v', i), t.dtype, t.shape)),
    };
    const step = modelDecodeStep(c, P, tok, pos, cache);
    return compileGraph(g, { next: pick(step.logits), ...cacheOutputs(step.cache) });
  }, keepCache);

  const gen: number[][] = prompts.map(() => []);
  let r = await prefill.run({ ...weights, tokens: prompts.flat() });
  let cache: Record<string, DeviceTensor | HostArray> = {};
  try {
    for (let t = 0; ; t++) {
      const next = r.outputs.next as BigInt64Array;
      next.forEach((v, b) => gen[b]!.push(Number(v)));
      const fresh: Record<string, DeviceTensor | HostArray> = {}; // keyed by the decode run's input names
      for (const [n, a] of [...Object.entries(r.device), ...Object.entries(r.outputs)]) if (isCache(n)) fresh[
        n.slice('new:'.length)] = a as DeviceTensor | HostArray;
      release(cache);
      cache = fresh;
      if (t === steps - 1) break;
      r = await decode.run({ ...weights, ...cache, tokens: next, pos: BigInt64Array.of(BigInt(P0 + t)) });
    }
  } finally {
    release(cache);
  }
  return { tokens: gen, provider: prefill.provider };
}

function cacheOutputs(cache: { k: Tensor[]; v: Tensor[] }): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  cache.k.forEach((t, i) => {
    out[`new:${cacheName('k', i)}`] = t;
  });
  cache.v.forEach((t, i) => {
    out[`new:${cacheName('v', i)}`] = t;
  });
  return out;
}

function release(tensors: Record<string, DeviceTensor | HostArray>): void {
  for (const t of Object.values(tensors)) if (isDeviceTensor(t)) t.dispose();
}
