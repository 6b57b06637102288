// The block-diagonal inverse of an empirical Fisher matrix, built by Woodbury (Sherman–Morrison) rank-1 updates, as
// in oBERT's EmpiricalBlockFisherInverse: F = λ·I + (1/m)·Σ_j g_j·g_jᵀ restricted to blocks of B consecutive
// entries (the last block zero-padded), so each B×B block is inverted on its own. Float64 throughout: with λ = 1e-7
// the inverse starts at 1e7·I and float32 would lose the small corrections.

export class BlockFisherInverse {
  /** Row-major B×B inverse blocks, one after another. */
  readonly blocks: Float64Array;
  readonly numBlocks: number;

  /**
   * `size` entries (the tensor or slice this covers), blocks of `blockSize`, damping λ, and m: the number of
   * gradients the Fisher averages over (each update adds g·gᵀ/m, times its weight).
   */
  constructor(
    readonly size: number,
    readonly blockSize: number,
    readonly damping: number,
    readonly m: number,
  ) {
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(
      `block size must be a positive integer, got ${blockSize}`);
    if (!(damping > 0)) throw new RangeError(`damping must be positive, got ${damping}`);
    if (!(m > 0)) throw new RangeError(`the number of gradients must be positive, got ${m}`);
    this.numBlocks = Math.ceil(size / blockSize);
    const B = blockSize;
    this.blocks = new Float64Array(this.numBlocks * B * B);
    for (let k = 0; k < this.numBlocks; k++) for (let i = 0; i < B; i++) this.blocks[k * B * B + i * B
      + i] = 1 / damping;
  }

  /** Bytes the blocks of a Fisher over `size` entries take. */
  static bytes(size: number, blockSize: number): number {
    return Math.ceil(size / blockSize) * blockSize * blockSize * 8;
  }

  /**
   * Adds weight·g·gᵀ/m to F (g covers `size` entries) by one Sherman–Morrison update per block:
   * F⁻¹ ← F⁻¹ − (F⁻¹g)(F⁻¹g)ᵀ / (m/weight + gᵀF⁻¹g). A weight of c equals c repeated updates with the same g.
   */
  addGradient(g: ArrayLike<number>, weight = 1): void {
    if (g.length !== this.size) throw new RangeError(
      `gradient has ${g.length} entries, the Fisher covers ${this.size}`);
    if (!(weight > 0)) return;
    const B = this.blockSize;
    const u = new Float64Array(B);
    const gb = new Float64Array(B);
    const scale = this.m / weight;
    for (let k = 0; k < this.numBlocks; k++) {
      const base = k * B * B;
      const start = k * B;
      const len = Math.min(B, this.size - start);
      gb.fill(0);
      let any = false;
      for (let i = 0; i < len; i++) {
        gb[i] = g[start + i]!;
        if (gb[i] !== 0) any = true;
      }
      if (!any) continue;
      let denom = scale;
      for (let i = 0; i < B; i++) {
        let s = 0;
        const row = base + i * B;
        for (let j = 0; j < B; j++) s += this.blocks[row + j]! * gb[j]!;
        u[i] = s;
        denom += gb[i]! * s;
      }
      for (let i = 0; i < B; i++) {
        const row = base + i * B;
        const ui = u[i]! / denom;
        if (ui === 0) continue;
        for (let j = 0; j < B; j++) this.blocks[row + j]! -= ui * u[j]!;
      }
    }
  }

  /** The diagonal of F⁻¹ for the covered entries. */
  diagonal(): Float64Array {
    const B = this.blockSize;
    const d = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const k = Math.floor(i / B);
      const r = i - k * B;
      d[i] = this.blocks[k * B * B + r * B + r]!;
    }
    return d;
  }
}

/** OBS saliency of each weight, w² / (2·[F⁻¹]_ii): the estimated loss increase from zeroing it alone. */
export function obsSaliency(w: ArrayLike<number>, inverseDiagonal: ArrayLike<number>): Float64Array {
  if (w.length !== inverseDiagonal.length) throw new RangeError(
    `${w.length} weights but ${inverseDiagonal.length} diagonal entries`);
  const s = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) s[i] = (w[i]! * w[i]!) / (2 * inverseDiagonal[i]!);
  return s;
}
