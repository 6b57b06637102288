// Zeroing chosen entries of a tensor and recording what was pruned.
import type { Params } from '../types';

/**
 * Indices of the k largest scores (ties broken by lower index, so the result is deterministic). k = 0 gives none.
 * Runs in O(n log n); the methods call it once per tensor.
 */
export function topKIndices(scores: ArrayLike<number>, k: number): Uint32Array {
  if (!Number.isInteger(k) || k < 0 || k > scores.length) throw new RangeError(`k = ${k} is out of range for ${scores.length} scores`);
  const idx = Uint32Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, k);
}

/** ⌊ratio·n⌋ entries, the count the paper prunes per tensor (spec §7.3). */
export function pruneCount(ratio: number, n: number): number {
  return Math.floor(ratio * n + 1e-9);
}

/** A 0/1 mask of length n with zeros at `pruned`. */
export function keepMask(n: number, pruned: ArrayLike<number>): Uint8Array {
  const m = new Uint8Array(n).fill(1);
  for (let i = 0; i < pruned.length; i++) m[pruned[i]!] = 0;
  return m;
}

/** A copy of `params` in which each masked tensor is multiplied by its 0/1 mask. */
export function applyMasks(params: Params, masks: Map<string, Uint8Array>): Params {
  const out = new Map(params);
  for (const [name, mask] of masks) {
    const src = params.get(name);
    if (!src) throw new Error(`mask for unknown tensor "${name}"`);
    if (src.length !== mask.length) throw new Error(`mask for "${name}" has ${mask.length} entries, the tensor ${src.length}`);
    const dst = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) dst[i] = mask[i] ? src[i]! : 0;
    out.set(name, dst);
  }
  return out;
}
