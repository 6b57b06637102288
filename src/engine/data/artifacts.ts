// Pieces shared by the math and language generators: seeded splits, ±1 noise draws and duplication groups
// (spec §1.1 "Sizes and splits", "Noise injection", "Duplication"; §1.2 the same for language).
import { Rng, deriveSeed } from './rng';

export interface Split {
  /** Indices into the original list, in permuted order. */
  readonly train: Uint32Array;
  readonly test: Uint32Array;
}

/**
 * Permutes 0 … n-1 with a fresh generator seeded by `dataSeed`, then the last `numTest` go to test and the rest
 * to train. A fresh generator per call mirrors the reference, which re-seeds (598) before every distribution, so the
 * clean and noisy copies of a distribution line up index for index.
 */
export function splitLast(n: number, numTest: number, dataSeed: number): Split {
  const perm = new Rng(dataSeed).permutation(n);
  return { train: perm.slice(0, n - numTest), test: perm.slice(n - numTest) };
}

/** `len // 10` for the default 10 %: held-out counts round down, as in the reference. */
export function heldOutCount(n: number, fraction: number): number {
  return Math.floor(n * fraction + 1e-9);
}

/** −1 with probability p, +1 with probability p, else 0 (p = 0.05 in the spec, so ~10 % of draws change). */
export function plusMinusOne(rng: Rng, pEach: number): -1 | 0 | 1 {
  const u = rng.float();
  if (u < pEach) return -1;
  if (u < 2 * pEach) return 1;
  return 0;
}

export interface DuplicationGroups {
  /** Class of each artifact row: index into `factors`. */
  readonly dupClass: Uint8Array;
  /** 10^power for each class. */
  readonly factors: number[];
}

/**
 * Splits n artifact rows at random into len(powers) groups of (nearly) equal size; group i is repeated 10^powers[i]
 * times. When n is not divisible, the first n % groups get one extra row (numpy's array_split convention), so
 * 1000 rows in 3 groups are 334 / 333 / 333.
 */
export function duplicationGroups(n: number, powers: readonly number[], seed: number): DuplicationGroups {
  const factors = powers.map((p) => 10 ** p);
  const dupClass = new Uint8Array(n);
  const order = new Rng(deriveSeed(seed, 'duplication-groups')).permutation(n);
  const g = powers.length;
  const base = Math.floor(n / g);
  const extra = n % g;
  let at = 0;
  for (let c = 0; c < g; c++) {
    const size = base + (c < extra ? 1 : 0);
    for (let k = 0; k < size; k++) dupClass[order[at + k]!] = c;
    at += size;
  }
  return { dupClass, factors };
}

export function repeatsOf(groups: DuplicationGroups): Uint32Array {
  return Uint32Array.from(groups.dupClass, (c) => groups.factors[c]!);
}
