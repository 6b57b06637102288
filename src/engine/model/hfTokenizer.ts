// A Hugging Face folder's tokenizer.json, read with @huggingface/tokenizers (a pure-JS implementation of the
// `tokenizers` library's formats: BPE, WordPiece, Unigram with their normalizers and pre-tokenizers). No network.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { Tokenizer } from '@huggingface/tokenizers';
import { readTextLimited } from '../../shared/readLimited';
import { TOKENIZER_FILE } from './checkpoint';

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

/** Every regular expression a tokenizer.json gives its normalizer and pre-tokenizer (Split, Replace patterns). */
function regexPatterns(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) regexPatterns(x, out);
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Regex' && typeof x === 'string') out.push(x);
      else if (k !== 'model' && k !== 'added_tokens') regexPatterns(x, out);
    }
  }
  return out;
}

/**
 * Milliseconds tokenizing `chars` characters may take: generous for any sane tokenizer (they run at megabytes per
 * second), but finite, because a tokenizer.json's patterns run as JavaScript regular expressions and one that
 * backtracks catastrophically (e.g. "(a+)+$") would otherwise never end.
 */
export const tokenizeBudgetMs = (chars: number): number => 10_000 + Math.ceil(chars / 500);

/**
 * Runs `f` under a time limit. vm's timeout stops any JavaScript running in this thread when it expires, regular
 * expression backtracking included, and turns it into an error.
 */
function withinBudget<T>(ms: number, f: () => T, onTimeout: () => Error): T {
  try {
    return runInNewContext('run()', { run: f }, { timeout: ms }) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw onTimeout();
    throw e;
  }
}

/** The tokenizer of model folder `dir`; tokenizer_config.json is optional. Special tokens are not added to
 * encodings. */
export function loadTokenizer(dir: string): TextTokenizer {
  const file = join(dir, TOKENIZER_FILE);
  if (!existsSync(file)) throw new Error(`${file}: not found; this model folder has no tokenizer.json, so text ` +
    `cannot be tokenized: copy the model's tokenizer.json into it, or pass token ids (a JSON list of token-id lists) ` +
    `instead of text`);
  const cfgFile = join(dir, 'tokenizer_config.json');
  let tok: Tokenizer;
  const json = readJsonObject(file);
  const patterns = regexPatterns([json.normalizer, json.pre_tokenizer]);
  try {
    tok = new Tokenizer(json, existsSync(cfgFile) ? readJsonObject(cfgFile) : {});
  } catch (e) {
    throw new Error(`${file}: cannot be read as a Hugging Face tokenizer (${(e as Error).message})`);
  }
  return {
    file,
    encode: (text) => {
      const ms = tokenizeBudgetMs(text.length);
      const shown = patterns.map((p) => JSON.stringify(p)).join(', ') || 'none';
      const stopped = () => new Error(`${file}: tokenizing ${text.length} characters took more than ` +
        `${Math.round(ms / 1000)} s and was stopped; a normalizer or pre-tokenizer pattern of this tokenizer.json ` +
        `backtracks catastrophically on this text (its patterns: ${shown}); fix the pattern (e.g. "(a+)+$" → "a+$") ` +
        `or use the model's original tokenizer.json`);
      return withinBudget(ms, () => tok.encode(text, { add_special_tokens: false }).ids, stopped);
    },
    decode: (ids) => tok.decode([...ids], { skip_special_tokens: false }),
  };
}
