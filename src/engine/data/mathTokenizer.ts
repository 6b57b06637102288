// The math vocabulary (spec §1.1): one token per character. Digits 0–9 are tokens 0–9, then BOS '^' = 10,
// EOS '$' = 11, space = 12 and PAD = 13. Vocabulary size 14.

export const MATH_BOS = 10;
export const MATH_EOS = 11;
export const MATH_SPACE = 12;
export const MATH_PAD = 13;
export const MATH_VOCAB_SIZE = 14;

const CHAR_TO_TOKEN: Readonly<Record<string, number>> = { '^': MATH_BOS, $: MATH_EOS, ' ': MATH_SPACE };
const TOKEN_TO_CHAR = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '^', '$', ' '];

/** Wraps the numbers as "^n1 n2 … nk$", the string the model learns. */
export function serializeNumbers(nums: readonly number[]): string {
  for (const n of nums) {
    // '-' and '.' are not in the vocabulary, so only non-negative integers can be written.
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`math sequences hold non-negative integers only, got ${n}`);
  }
  return `^${nums.join(' ')}$`;
}

/** Character-level tokenisation; throws naming the first character outside the vocabulary. */
export function tokenizeMath(text: string): number[] {
  const out = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = ch.charCodeAt(0) - 48;
    if (code >= 0 && code <= 9) out[i] = code;
    else if (ch in CHAR_TO_TOKEN) out[i] = CHAR_TO_TOKEN[ch]!;
    else throw new RangeError(`character ${JSON.stringify(ch)} at position ${i} is not in the math vocabulary ` +
      `(digits, ^, $, space)`);
  }
  return out;
}

/**
 * Tokens back to text. PAD tokens are dropped unless `pad` gives a character to show them as, so the string of a
 * padded row is the sequence itself (this is the string the backdoor trigger is searched in).
 */
export function detokenizeMath(tokens: ArrayLike<number>, pad?: string): string {
  let s = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === MATH_PAD) {
      if (pad !== undefined) s += pad;
    } else if (Number.isInteger(t) && t >= 0 && t < TOKEN_TO_CHAR.length) {
      s += TOKEN_TO_CHAR[t];
    } else {
      throw new RangeError(`token ${t} at position ${i} is not a math token (0–${MATH_VOCAB_SIZE - 1})`);
    }
  }
  return s;
}

/** Reads the numbers back out of "^n1 n2 …$" (ignoring padding); null if the text is not in that form. */
export function parseMathNumbers(text: string): number[] | null {
  const m = /^\^(\d+(?: \d+)*)\$$/.exec(text);
  return m ? m[1]!.split(' ').map(Number) : null;
}
