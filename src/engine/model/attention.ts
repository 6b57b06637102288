// Causal self-attention and the key/value cache, shared by every model family. A family computes each layer's
// queries, keys and values [B, H, T, hd] (queries pre-scaled by 1/√hd) and hands them to an `Attend`: the causal
// window of the sequence itself (forward, prefill) or the cache (one decoding step).
import { F, type DType, type Graph, type Tensor } from '../graph/index';

/** The most negative finite float32, the value Hugging Face gives masked attention scores. */
const MASKED = -3.4028234663852886e38;

/** Per-layer key and value caches [B, H, capacity, hd]. */
export interface KVCache {
  k: Tensor[];
  v: Tensor[];
}

/** Attention for layer i: queries, keys, values [B, H, T, hd] → output [B, H, T, hd]. */
export type Attend = (layer: number, q: Tensor, k: Tensor, v: Tensor) => Tensor;

const attend = (q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor =>
  F.matmul(F.softmax(F.add(F.matmul(q, k, { transB: true }), mask), -1), v);

/**
 * Causal self-attention over the sequence itself; records each layer's keys and values in `kv` when given. The
 * additive mask [T, T] is 0 where key j ≤ query i, else MASKED: adding it gives the masked scores the value MASKED
 * (|score| ≪ |MASKED|), as masked_fill does, so softmax gives them exactly 0 and, being 0, they pass no gradient.
 */
export function causalAttend(g: Graph, T: number, dtype: DType, kv?: { k: Tensor; v: Tensor }[]): Attend {
  const m = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = MASKED;
  const mask = F.constant(g, m, dtype, [T, T]);
  return (_i, q, k, v) => {
    kv?.push({ k, v });
    return attend(q, k, v, mask);
  };
}

/** Refuses a prompt of T tokens or a cache capacity outside [T, context]; `field` reads "n_positions = 1024". */
export function checkCapacity(T: number, capacity: number, context: number, field: string): void {
  if (capacity < T || capacity > context) throw new Error(`cache capacity ${capacity} must lie in [${T}, ${field}]`);
}

/** A prompt's recorded keys and values, zero-padded to `capacity` positions, and its last position [B, C]. */
export function prefillResult(hidden: Tensor, kv: { k: Tensor; v: Tensor }[], capacity: number) {
  const [B, T, C] = hidden.shape as [number, number, number];
  const grow = (t: Tensor) => F.pad(t, [0, 0, 0, 0, 0, 0, capacity - T, 0]);
  const cache: KVCache = { k: kv.map((e) => grow(e.k)), v: kv.map((e) => grow(e.v)) };
  return { last: F.reshape(F.slice(hidden, [T - 1], [T], [1]), [B, C]), cache };
}

/**
 * One decoding step at position `pos` (int64 [1]): writes each layer's new key and value [B, H, 1, hd] into slot pos
 * of the caches (into `next`) and attends to the slots ≤ pos.
 */
export function cachedAttend(cache: KVCache, pos: Tensor, dtype: DType, next: KVCache): Attend {
  const g = pos.graph;
  const capacity = cache.k[0]!.shape[2]!;
  // Slot numbers and the position as floats (exact): the int64 pos is only a Gather index, since WebGPU has no int64
  // comparisons (they would run on the CPU every token).
  const slots = F.constant(g, [...Array(capacity).keys()], dtype, [1, 1, capacity, 1]);
  const at = F.gather(F.constant(g, [...Array(capacity).keys()], dtype, [capacity]), pos); // [1]
  const here = F.cast(F.equal(slots, at), dtype); // [1, 1, capacity, 1]: 1 at pos
  const open = F.where(F.lessEqual(slots, at), F.scalar(g, 0, dtype), F.scalar(g, MASKED, dtype));
  const visible = F.reshape(open, [1, 1, 1, capacity]);
  return (i, q, k, v) => {
    // cache + (new − cache)·onehot(pos)
    const K = F.add(cache.k[i]!, F.mul(F.sub(k, cache.k[i]!), here));
    const V = F.add(cache.v[i]!, F.mul(F.sub(v, cache.v[i]!), here));
    next.k.push(K);
    next.v.push(V);
    return attend(q, K, V, visible);
  };
}
