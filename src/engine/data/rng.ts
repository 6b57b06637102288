// Seeded pseudo-random numbers for the data generators: xoshiro128** (Blackman & Vigna), seeded through splitmix32.
//
// Why our own generator: the datasets must be reproducible byte for byte from a seed on any machine, without a
// native dependency. The reference code draws from PyTorch (`torch.manual_seed(598)` permutations) and Python's
// `random` module; we do NOT reproduce those streams. The seeds (598 for the data split, the run seed for noise,
// duplication and triggers) are kept as seeds of this generator, so "seed 0" means the same thing across our runs,
// but the concrete permutations and noise positions differ from the PyTorch reference.

/** A 32-bit state word generator used only to expand a seed into the xoshiro state (never all zero). */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

function checkSeed(seed: number, what: string): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${seed}`);
  }
}

/**
 * Mixes a label into a seed so that each use (noise indices, noise values, duplication groups, trigger) draws from
 * its own stream: changing how many numbers one artifact consumes does not shift the others.
 */
export function deriveSeed(seed: number, label: string): number {
  checkSeed(seed, 'seed');
  // FNV-1a over the label, then fold in both 32-bit halves of the seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  const mix = splitmix32(h ^ lo);
  return (mix() ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** `seed`: any non-negative safe integer. */
  constructor(seed: number) {
    checkSeed(seed, 'seed');
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    const next = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // xoshiro must not start from all zeros
  }

  /** A generator with an exact xoshiro128** state, for checking against the published reference outputs. */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map((x) => x >>> 0) as [number, number, number, number];
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) throw new RangeError('xoshiro128** state must not be all zeros');
    return r;
  }

  /** Next raw 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal sample (Box-Muller; one uniform pair per sample, so the stream stays simple to replay). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.float())) * Math.cos(2 * Math.PI * this.float());
  }

  /** Uniform integer in [0, n), without modulo bias (rejection sampling). n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`int(n) needs 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = Math.floor(0x100000000 / n) * n;
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % n;
  }

  /** Uniform integer in [lo, hi] inclusive. */
  intRange(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RangeError(
      `intRange needs integers lo ≤ hi, got ${lo}, ${hi}`);
    return lo + this.int(hi - lo + 1);
  }

  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<A extends { length: number; [i: number]: unknown }>(a: A): A {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** A random permutation of 0 … n-1. */
  permutation(n: number): Uint32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`permutation(n) needs an integer n ≥ 0, got ${n}`);
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** k distinct integers from [0, n), in random order (a partial Fisher–Yates shuffle). */
  sample(n: number, k: number): Uint32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`sample(n, k) needs an integer n ≥ 0, got ${n}`);
    if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(
      `sample(n, k) needs 0 ≤ k ≤ n, got k = ${k}, n = ${n}`);
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = p[i]!;
      p[i] = p[j]!;
      p[j] = tmp;
    }
    return p.slice(0, k);
  }
}
