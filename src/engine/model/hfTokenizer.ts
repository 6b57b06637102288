// A Hugging Face folder's tokenizer.json, read with @huggingface/tokenizers (a pure-JS implementation of the
// `tokenizers` library's formats: BPE, WordPiece, Unigram with their normalizers and pre-tokenizers). No network.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readTextLimited } from '../io/readLimited';
import { TOKENIZER_FILE } from './hfFolder';

export interface TextTokenizer {
  file: string;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

function readJsonObject(file: string): Record<string, unknown> {
  const text = readTextLimited(file, 'tokenizer');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: is not valid JSON (${(e as Error).message}); re-download it`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: must be a JSON object`);
  return v as Record<string, unknown>;
}

/** The tokenizer of model folder `dir`; tokenizer_config.json is optional. Special tokens are not added to encodings. */
export function loadTokenizer(dir: string): TextTokenizer {
  const file = join(dir, TOKENIZER_FILE);
  if (!existsSync(file)) throw new Error(`${file}: not found; this model folder has no tokenizer.json, so text cannot be tokenized: copy the model's tokenizer.json into it, or pass token ids (a JSON list of token-id lists) instead of text`);
  const cfgFile = join(dir, 'tokenizer_config.json');
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(readJsonObject(file), existsSync(cfgFile) ? readJsonObject(cfgFile) : {});
  } catch (e) {
    throw new Error(`${file}: cannot be read as a Hugging Face tokenizer (${(e as Error).message})`);
  }
  return {
    file,
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode([...ids], { skip_special_tokens: false }),
  };
}
