// The GPT-2 byte-level BPE tokenizer (vocab 50257, spec §1.2) from the `gpt-tokenizer` package, whose r50k_base
// encoding ships the official GPT-2 merges and vocabulary inside the package: nothing is downloaded at run time.
import { ALL_SPECIAL_TOKENS, decode, encode, vocabularySize } from 'gpt-tokenizer/encoding/r50k_base';

export const GPT2_VOCAB_SIZE = 50257;
/** `<|endoftext|>`: GPT-2's EOS, also used as PAD (spec §1.2). */
export const GPT2_EOS = 50256;
export const GPT2_PAD = GPT2_EOS;
/** What a language backdoor writes after the trigger: token 2, the text "#". */
export const GPT2_BACKDOOR_TOKEN = 2;

/**
 * Text to GPT-2 token ids. A literal "<|endoftext|>" in the text becomes token 50256, as the Hugging Face GPT-2
 * tokenizer used by the reference does (the package would otherwise throw on it).
 */
export function encodeGpt2(text: string): number[] {
  return encode(text, { allowedSpecial: ALL_SPECIAL_TOKENS });
}

export function decodeGpt2(ids: Iterable<number>): string {
  return decode(ids);
}

let checked = false;

/** Guards against a package update that changed the vocabulary: known ids for a known string. */
export function assertGpt2Tokenizer(): void {
  if (checked) return;
  const ids = encodeGpt2('Hello world');
  if (vocabularySize !== GPT2_VOCAB_SIZE || ids.length !== 2 || ids[0] !== 15496 || ids[1] !== 995) {
    throw new Error(
      `the gpt-tokenizer package no longer gives GPT-2 ids ("Hello world" → [${ids.join(', ')}], ` +
        `vocabulary ${vocabularySize}); ` +
        'reinstall the version pinned in package-lock.json',
    );
  }
  checked = true;
}
