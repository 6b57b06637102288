// GPT-2's tokenizer.json (the Hugging Face `tokenizers` format: byte-level BPE, vocab 50257, <|endoftext|> = 50256),
// derived at run time from the BPE rank table of r50k_base that the `gpt-tokenizer` package ships (token i's bytes).
// Nothing is downloaded. The vocabulary is each token's bytes written with GPT-2's byte-to-character map; the merges
// follow from the ranks: the token of rank r (r ≥ 256) is what byte-level BPE forms by merging two tokens of lower
// rank, and running BPE on its bytes with the merges of ranks below r leaves exactly those two parts.
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';

export const GPT2_EOS_TEXT = '<|endoftext|>';
const EOS_ID = 50256;

/** GPT-2's printable stand-in for every byte: printable Latin-1 bytes stand for themselves, the rest 256, 257, … */
export function byteToChar(): string[] {
  const out = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCharCode(printable ? b : next++);
  }
  return out;
}

/** Token i's bytes as a Latin-1 string (one char per byte), for rank i = 0 … 50255. */
function tokenBytes(): string[] {
  const enc = new TextEncoder();
  return (r50kRanks as (string | number[])[]).map((t) =>
    String.fromCharCode(...(typeof t === 'string' ? enc.encode(t) : t)));
}

/** The two parts BPE leaves of `word` when only merges into tokens of rank < `below` are allowed. */
function bpeParts(word: string, rank: ReadonlyMap<string, number>, below: number): string[] {
  let parts = [...word];
  for (;;) {
    let best = -1;
    let bestRank = below;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rank.get(parts[i]! + parts[i + 1]!);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return parts;
    parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
  }
}

export interface Gpt2TokenizerJson {
  vocab: Record<string, number>;
  merges: string[];
  json: Record<string, unknown>;
}

let cached: Gpt2TokenizerJson | undefined;

/** GPT-2's tokenizer.json as an object (built once per process, about 0.3 s). */
export function gpt2TokenizerJson(): Gpt2TokenizerJson {
  if (cached) return cached;
  const chars = byteToChar();
  const bytes = tokenBytes();
  if (bytes.length !== EOS_ID) throw new Error(`gpt-tokenizer's r50k_base rank table has ${bytes.length} tokens, ` +
    `not GPT-2's ${EOS_ID}; reinstall the version pinned in package-lock.json`);
  const rank = new Map(bytes.map((b, i) => [b, i]));
  const show = (b: string) => Array.from(b, (c) => chars[c.charCodeAt(0)]).join('');
  const vocab: Record<string, number> = {};
  const merges: string[] = [];
  bytes.forEach((b, i) => {
    vocab[show(b)] = i;
    if (b.length === 1) return;
    const parts = bpeParts(b, rank, i);
    if (parts.length !== 2) throw new Error(`token ${i} of r50k_base is not one merge of two lower-ranked tokens`);
    merges.push(`${show(parts[0]!)} ${show(parts[1]!)}`);
  });
  vocab[GPT2_EOS_TEXT] = EOS_ID;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: EOS_ID, content: GPT2_EOS_TEXT, single_word: false, lstrip: false, rstrip: false,
      normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  cached = { vocab, merges, json };
  return cached;
}
