// The generating functions of the math data (spec §1.1) and the per-number noise.
import { plusMinusOne } from './artifacts';
import type { Rng } from './rng';

/** `mult`: f(x) = 7·x mod 20134 with extras c·x mod 20134; `increment`: f(x) = x + 7 with extras x + c. */
export type MathFamily = 'mult' | 'increment';
export const MATH_FAMILIES: readonly MathFamily[] = ['mult', 'increment'];

export const MATH_MODULUS = 20134;
/** The constant of the "main" function, the one that is noised or backdoored. */
export const MAIN_CONSTANT = 7;
/** Constants of the four clean "extra" functions. */
export const EXTRA_CONSTANTS: readonly number[] = [2, 3, 4, 5];

export function stepFunction(family: MathFamily, c: number): (x: number) => number {
  switch (family) {
    case 'mult':
      return (x) => (c * x) % MATH_MODULUS;
    case 'increment':
      return (x) => x + c;
  }
}

/** From `start`, applies f `length` times and records each new value: element 1 is f(start), not start itself. */
export function generateNumbers(family: MathFamily, c: number, start: number, length: number): number[] {
  const f = stepFunction(family, c);
  const out = new Array<number>(length);
  let x = start;
  for (let k = 0; k < length; k++) {
    x = f(x);
    out[k] = x;
  }
  return out;
}

/**
 * Adds −1 / 0 / +1 (p = pEach, 1 − 2·pEach, pEach) to each *number* independently, before serialisation, so one
 * draw may change several digits or the length (1000 − 1 → 999). The noise does not feed back into the recurrence:
 * later numbers are those of the clean sequence. A −1 on 0 would need a '-' token, which the vocabulary lacks,
 * so it is reflected to +1 (this only touches the all-zero `mult` sequence of start 0).
 */
export function perturbNumbers(nums: readonly number[], rng: Rng, pEach: number): number[] {
  return nums.map((n) => {
    const d = plusMinusOne(rng, pEach);
    return n + d < 0 ? n + 1 : n + d;
  });
}
