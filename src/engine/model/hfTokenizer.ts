// A Hugging Face folder's tokenizer.json, read with @huggingface/tokenizers (a pure-JS implementation of the
// `tokenizers` library's formats: BPE, WordPiece, Unigram with their normalizers and pre-tokenizers). No network.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { Tokenizer } from '@huggingface/tokenizers';
import { readTextLimited } from '../../shared/readLimited';
import { MANIFEST_FILE, TOKENIZER_FILE } from './checkpoint';
import { type TokenizerKind, manifestTokenizerKind, tokenizerConfig, tokenizerJson } from './tokenizerFiles';

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

/** The tokenizer a TinyMem checkpoint's tinymem.json implies (its data: math or language), or null. */
function manifestKind(dir: string): TokenizerKind | null {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  try {
    return manifestTokenizerKind(JSON.parse(readTextLimited(file, 'manifest')));
  } catch {
    return null;
  }
}

/**
 * The tokenizer of model folder `dir`: its tokenizer.json (tokenizer_config.json is optional), or, for a TinyMem
 * checkpoint saved before checkpoints carried tokenizer files, the vocabulary its tinymem.json's data implies.
 * Special tokens are not added to encodings; a character outside the vocabulary is an error naming it.
 */
export function loadTokenizer(dir: string): TextTokenizer {
  const file = join(dir, TOKENIZER_FILE);
  const cfgFile = join(dir, 'tokenizer_config.json');
  const kind = existsSync(file) ? null : manifestKind(dir);
  if (!existsSync(file) && !kind) throw new Error(`${file}: not found; the model folder ${dir} has no ` +
    `tokenizer.json, so text cannot be tokenized: copy the model's tokenizer.json into it, or pass token ids (a ` +
    `JSON list of token-id lists) instead of text`);
  let tok: Tokenizer;
  const json = kind ? tokenizerJson(kind) : readJsonObject(file);
  const patterns = regexPatterns([json.normalizer, json.pre_tokenizer]);
  const shown = kind ? `${file} (missing: the ${kind === 'math' ? 'math' : 'GPT-2'} vocabulary that ${MANIFEST_FILE} ` +
    `implies was used)` : file;
  try {
    tok = new Tokenizer(json, kind ? tokenizerConfig(kind, 0) : existsSync(cfgFile) ? readJsonObject(cfgFile) : {});
  } catch (e) {
    throw new Error(`${file}: cannot be read as a Hugging Face tokenizer (${(e as Error).message})`);
  }
  return {
    file: shown,
    encode: (text) => {
      const ms = tokenizeBudgetMs(text.length);
      const shownPatterns = patterns.map((p) => JSON.stringify(p)).join(', ') || 'none';
      const stopped = () => new Error(`${file}: tokenizing ${text.length} characters took more than ` +
        `${Math.round(ms / 1000)} s and was stopped; a normalizer or pre-tokenizer pattern of this tokenizer.json ` +
        `backtracks catastrophically on this text (its patterns: ${shownPatterns}); fix the pattern (e.g. "(a+)+$" → ` +
        `"a+$") or use the model's original tokenizer.json`);
      const enc = withinBudget(ms, () => tok.encode(text, { add_special_tokens: false }), stopped);
      // A word-level vocabulary without an unknown token gives no id for a piece it lacks.
      const bad = enc.ids.findIndex((id) => !Number.isInteger(id));
      if (bad >= 0) throw new Error(`${shown}: ${JSON.stringify(enc.tokens[bad])} (token ${bad} of the text) is not ` +
        `in this tokenizer's vocabulary; remove it from the text`);
      return enc.ids;
    },
    decode: (ids) => (ids.length === 0 ? '' : tok.decode([...ids], { skip_special_tokens: false })),
  };
}
