// Zeroing chosen entries of a tensor and recording what was pruned.
import type { Params } from '../types';

/**
 * Indices of the k largest scores (ties broken by lower index, so the result is deterministic), largest first, or
 * in ascending index order when `ordered` is false (enough for a mask, and it skips the comparator sort of k
 * entries). k = 0 gives none. The k-th largest value comes from a native numeric sort of a copy, so a 16M-entry MLP
 * matrix of a 1B model takes seconds, not minutes; the copy is the one large temporary (4 bytes per entry for
 * Float32Array scores, 8 otherwise).
 */
export function topKIndices(scores: ArrayLike<number>, k: number, ordered = true): Uint32Array {
  const n = scores.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`k = ${k} is out of range for ${n} scores`);
  if (k === 0) return new Uint32Array(0);
  const sorted = (scores instanceof Float32Array ? Float32Array.from(scores) : Float64Array.from(scores)).sort();
  const threshold = sorted[n - k]!; // the k-th largest value
  let above = 0;
  for (let i = 0; i < n; i++) if (scores[i]! > threshold) above++;
  // Everything above the threshold, then entries equal to it by ascending index until there are k.
  const idx = new Uint32Array(k);
  let m = 0;
  let ties = k - above;
  for (let i = 0; i < n; i++) {
    const v = scores[i]!;
    if (v > threshold) idx[m++] = i;
    else if (v === threshold && ties > 0) {
      idx[m++] = i;
      ties--;
    }
  }
  return ordered ? idx.sort((a, b) => scores[b]! - scores[a]! || a - b) : idx;
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
    if (src.length !== mask.length) throw new Error(
      `mask for "${name}" has ${mask.length} entries, the tensor ${src.length}`);
    const dst = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) dst[i] = mask[i] ? src[i]! : 0;
    out.set(name, dst);
  }
  return out;
}
