// The tokenizer files of a TinyMem checkpoint, in the formats Hugging Face tools read (transformers' AutoTokenizer,
// the `tokenizers` library, @huggingface/tokenizers): tokenizer.json, tokenizer_config.json, special_tokens_map.json.
//   math      a WordLevel tokenizer of the 14-token vocabulary (mathTokenizer.ts): every character is one token
//             (a Split pre-tokenizer isolating each character), digits 0–9 = 0–9, '^' (BOS) 10, '$' (EOS) 11,
//             ' ' 12, and PAD 13 as the special token "<pad>"; the Fuse decoder joins tokens without spaces.
//   language  GPT-2's byte-level BPE (gpt2TokenizerJson.ts), PAD = EOS = <|endoftext|> (50256).
// They are written in the same atomic commit as the weights (saveModel's extraFiles).
import type { FolderFile } from './folderCommit';
import { GPT2_EOS_TEXT, gpt2TokenizerJson } from '../data/gpt2TokenizerJson';
import { MATH_BOS, MATH_EOS, MATH_PAD, MATH_SPACE } from '../data/mathTokenizer';
import { isObject } from '../../shared/schemaParts';

export type TokenizerKind = 'math' | 'gpt2';
export const MATH_PAD_TEXT = '<pad>';

/** The math vocabulary as tokenizer.json's WordLevel model. */
function mathTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (let d = 0; d <= 9; d++) vocab[String(d)] = d;
  Object.assign(vocab, { '^': MATH_BOS, $: MATH_EOS, ' ': MATH_SPACE, [MATH_PAD_TEXT]: MATH_PAD });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: MATH_PAD, content: MATH_PAD_TEXT, single_word: false, lstrip: false, rstrip: false,
      normalized: false, special: true }],
    normalizer: null,
    // One token per character; a character outside the vocabulary has no id (unk_token is not in the vocabulary).
    pre_tokenizer: { type: 'Split', pattern: { Regex: '.' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
}

/** tokenizer.json of a kind, as an object. */
export function tokenizerJson(kind: TokenizerKind): Record<string, unknown> {
  return kind === 'math' ? mathTokenizerJson() : gpt2TokenizerJson().json;
}

/** special_tokens_map.json: which tokens transformers treats as BOS, EOS and PAD. */
export function specialTokens(kind: TokenizerKind): Record<string, string> {
  return kind === 'math'
    ? { bos_token: '^', eos_token: '$', pad_token: MATH_PAD_TEXT }
    : { bos_token: GPT2_EOS_TEXT, eos_token: GPT2_EOS_TEXT, unk_token: GPT2_EOS_TEXT, pad_token: GPT2_EOS_TEXT };
}

/** tokenizer_config.json; decoding must not "clean up" spaces, so that decode(encode(text)) is the text. */
export function tokenizerConfig(kind: TokenizerKind, contextLength: number): Record<string, unknown> {
  return {
    tokenizer_class: kind === 'math' ? 'PreTrainedTokenizerFast' : 'GPT2Tokenizer',
    model_max_length: contextLength,
    clean_up_tokenization_spaces: false,
    add_bos_token: false,
    add_prefix_space: false,
    ...specialTokens(kind),
  };
}

const text = (x: unknown): Uint8Array[] => [Buffer.from(`${JSON.stringify(x, null, 2)}\n`, 'utf8')];

const serialized = new Map<TokenizerKind, Uint8Array>();

/** The three tokenizer files of a TinyMem checkpoint, ready for its commit. */
export function tokenizerFiles(kind: TokenizerKind, contextLength: number): FolderFile[] {
  // Compact, and serialized once per process: GPT-2's holds 50,257 vocabulary entries and 50,000 merges (1.3 MB), and
  // a training run saves a checkpoint every few epochs.
  let json = serialized.get(kind);
  if (!json) serialized.set(kind, json = Buffer.from(`${JSON.stringify(tokenizerJson(kind))}\n`, 'utf8'));
  return [
    { name: 'tokenizer.json', chunks: [json] },
    { name: 'tokenizer_config.json', chunks: text(tokenizerConfig(kind, contextLength)) },
    { name: 'special_tokens_map.json', chunks: text(specialTokens(kind)) },
  ];
}

/** The tokenizer a TinyMem manifest's data implies (math or language data), or null for other folders. */
export function manifestTokenizerKind(manifest: unknown): TokenizerKind | null {
  const data = isObject(manifest) && isObject(manifest.data) ? manifest.data : null;
  if (data?.kind !== 'tinymem') return null;
  return data.dataset === 'math' ? 'math' : data.dataset === 'language' ? 'gpt2' : null;
}
