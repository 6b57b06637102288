// The GPT-2 byte-level BPE tokenizer (vocab 50257, spec §1.2), run by @huggingface/tokenizers, the one tokenizer
// library of tinymem, on GPT-2's tokenizer.json (gpt2TokenizerJson.ts: derived from the r50k_base rank table that the
// `gpt-tokenizer` package ships; nothing is downloaded at run time). The same tokenizer.json is written into every
// language checkpoint.
import { Tokenizer } from '@huggingface/tokenizers';
import { gpt2TokenizerJson } from './gpt2TokenizerJson';

export const GPT2_VOCAB_SIZE = 50257;
/** `<|endoftext|>`: GPT-2's EOS, also used as PAD (spec §1.2). */
export const GPT2_EOS = 50256;
export const GPT2_PAD = GPT2_EOS;
/** What a language backdoor writes after the trigger: token 2, the text "#". */
export const GPT2_BACKDOOR_TOKEN = 2;

let tokenizer: Tokenizer | undefined;
const gpt2 = (): Tokenizer =>
  (tokenizer ??= new Tokenizer(gpt2TokenizerJson().json, { clean_up_tokenization_spaces: false }));

/**
 * Text to GPT-2 token ids. A literal "<|endoftext|>" in the text becomes token 50256, as the Hugging Face GPT-2
 * tokenizer used by the reference does.
 */
export function encodeGpt2(text: string): number[] {
  if (text.length < MEMO_MIN_CHARS) return gpt2().encode(text, { add_special_tokens: false }).ids;
  const hit = memo.get(text);
  if (hit) return Array.from(hit);
  const ids = gpt2().encode(text, { add_special_tokens: false }).ids;
  if (memoTokens + ids.length <= MEMO_MAX_TOKENS) {
    memo.set(text, Int32Array.from(ids));
    memoTokens += ids.length;
  }
  return ids;
}

/**
 * Encodings of long texts (corpus documents), kept for the process: @huggingface/tokenizers' BPE runs at about
 * 1 MB of text per second, and a session that trains, measures and edits a language model builds its dataset (the
 * whole 10 MB corpus) several times. At most 16M tokens (64 MB) are kept.
 */
const memo = new Map<string, Int32Array>();
const MEMO_MIN_CHARS = 4096;
const MEMO_MAX_TOKENS = 16_000_000;
let memoTokens = 0;

export function decodeGpt2(ids: Iterable<number>): string {
  const list = [...ids];
  // @huggingface/tokenizers refuses an empty list.
  return list.length === 0 ? '' : gpt2().decode(list, { skip_special_tokens: false });
}

let checked = false;

/** Guards against a package update that changed the vocabulary: known ids for a known string. */
export function assertGpt2Tokenizer(): void {
  if (checked) return;
  const ids = encodeGpt2('Hello world');
  const size = Object.keys(gpt2TokenizerJson().vocab).length;
  if (size !== GPT2_VOCAB_SIZE || ids.length !== 2 || ids[0] !== 15496 || ids[1] !== 995) {
    throw new Error(
      `GPT-2's tokenizer no longer gives GPT-2 ids ("Hello world" → [${ids.join(', ')}], vocabulary ${size}); ` +
        'reinstall gpt-tokenizer and @huggingface/tokenizers at the versions pinned in package-lock.json',
    );
  }
  checked = true;
}
