// Half precision (IEEE binary16 and bfloat16) to and from float32: bit-level conversions written out by hand; a 64K
// table makes the bulk F16 path a lookup.

/** The float32 bit pattern of an IEEE 754 binary16 bit pattern (exact; NaN payloads kept). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let frac = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (frac << 13)) >>> 0; // inf / nan
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (frac << 13)) >>> 0; // normal: rebias 15 → 127
  if (frac === 0) return sign >>> 0; // ±0
  // Subnormal frac·2^-24: shift the leading 1 up to the implicit-bit position; every half subnormal is a float normal.
  let e = 113;
  while ((frac & 0x400) === 0) {
    frac <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((frac & 0x3ff) << 13)) >>> 0;
}

let f16Table: Float32Array | undefined;
function f16Lookup(): Float32Array {
  if (!f16Table) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
    f16Table = new Float32Array(bits.buffer);
  }
  return f16Table;
}

/** The value of a binary16 bit pattern. */
export const f16ToNumber = (h: number): number => f16Lookup()[h & 0xffff]!;
/** The value of a bfloat16 bit pattern. */
export function bf16ToNumber(h: number): number {
  const u = new Uint32Array([(h & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0]!;
}

export function f16ToFloat32Array(bits: Uint16Array): Float32Array {
  const table = f16Lookup();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

export function bf16ToFloat32Array(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

/** binary16 bits of a float32 (bit pattern given), rounded to nearest, ties to even; overflow gives ±inf. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, or a quiet nan
  const e = exp - 112; // half's biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Half subnormal f·2^-24. With M the 24-bit significand (implicit 1 included) the value is M·2^(e-38),
    // so f = M / 2^(14-e), rounded.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to ±0
    const M = mant | 0x800000;
    const shift = 14 - e;
    const rem = M & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let f = M >>> shift;
    if (rem > halfway || (rem === halfway && (f & 1) === 1)) f++;
    return sign | f; // f may carry into 0x400: the smallest normal, which is the right encoding
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct (up to inf)
  return h;
}

export function float32ToF16Array(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

export function float32ToBf16Array(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40; // nan stays a (quiet) nan
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even; < 2^32 for every non-nan
  }
  return out;
}
