// Memorized-sequence sets for pretrained models (spec §6, the MemPi format of Chang et al. 2024): token-id
// sequences, 80 tokens each, checked by prompting with the first 32 and comparing the next 40 greedy tokens. Read
// from JSON (a list of token-id lists, or {"sequences": [...]}) or JSONL (one list, or one object with "tokens" /
// "input_ids", per line). Also: fixed-length chunks of a text or token file, for perplexity and the retain set.
import { extname } from 'node:path';
import { type FileKind, readTextLimited } from '../../shared/readLimited';
import { UserError } from '../../shared/userError';
import { type TokenMatrix, matrixFromRows } from './tokenMatrix';
import { showValue } from '../../shared/showValue';

/** The paper's Pythia setting (spec §6): 80-token sequences, prompt 32, exact match on the next 40. */
export const MEMPI_SEQUENCE_LENGTH = 80;
export const MEMPI_PROMPT_LENGTH = 32;
export const MEMPI_CONTINUATION_LENGTH = 40;

export interface SequenceFileOptions {
  /** Token ids must lie in [0, vocab). */
  vocab: number;
  /** The model's context: no sequence may be longer. */
  context: number;
  /** Every sequence needs at least promptLength + continuationLength tokens. */
  promptLength?: number;
  continuationLength?: number;
}

function readText(file: string, kind: FileKind): string {
  try {
    return readTextLimited(file, kind);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new Error(`${file}: cannot be read (${(e as Error).message}); check the path`);
  }
}

/** The token list of one JSON value: a list of ids, or an object holding one under tokens / input_ids / ids. */
function idsOf(v: unknown, where: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && v !== null) {
    for (const key of ['tokens', 'input_ids', 'ids', 'token_ids']) {
      const x = (v as Record<string, unknown>)[key];
      if (Array.isArray(x)) return x;
    }
  }
  throw new Error(`${where}: expected a list of token ids (or an object with a "tokens" or "input_ids" list), got ` +
    `${JSON.stringify(v)?.slice(0, 60)}`);
}

/**
 * Reads a memorized-sequence set. All sequences must have the same length, at least prompt + continuation tokens
 * and at most the model's context; ids must be integers in [0, vocab). Errors name the file and line (JSONL) or
 * sequence index (JSON) and say what to fix.
 */
export function readSequenceFile(file: string, o: SequenceFileOptions): TokenMatrix {
  const p = o.promptLength ?? MEMPI_PROMPT_LENGTH;
  const k = o.continuationLength ?? MEMPI_CONTINUATION_LENGTH;
  const text = readText(file, 'tokens');
  const items: { where: string; value: unknown }[] = [];
  const jsonl = extname(file).toLowerCase() === '.jsonl'
    || (!text.trimStart().startsWith('[') && !text.trimStart().startsWith('{"sequences"'));
  if (!jsonl) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: is not valid JSON (${(e as Error).message}); expected a list of token-id lists, e.g. ` +
        `[[10, 1, 2], [10, 3, 4]], or JSONL with one list per line`);
    }
    const list = Array.isArray(raw) ? raw : (raw as { sequences?: unknown }).sequences;
    if (!Array.isArray(list)) throw new Error(`${file}: expected a list of token-id lists or {"sequences": [...]}`);
    list.forEach((value, i) => items.push({ where: `${file}: sequence ${i}`, value }));
  } else {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        items.push({ where: `${file}:${i + 1}`, value: JSON.parse(line) });
      } catch (e) {
        throw new Error(`${file}:${i + 1}: is not valid JSON (${(e as Error).message}); each line must be one list ` +
          `of token ids`);
      }
    });
  }
  if (items.length === 0) throw new Error(`${file}: holds no sequences`);
  const rows: number[][] = [];
  let cols = -1;
  for (const { where, value } of items) {
    const ids = idsOf(value, where);
    ids.forEach((t, j) => {
      if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= o.vocab) throw new Error(
        `${where}, position ${j}: ${showValue(t)} is not a token id of this model (0 … ${o.vocab - 1}); were the ` +
        `sequences tokenized for another model?`);
    });
    if (ids.length < p + k) throw new Error(`${where}: has ${ids.length} tokens, fewer than prompt ${p} + ` +
      `continuation ${k}; use longer sequences or set --prompt-len / --continuation-len`);
    if (ids.length > o.context) throw new Error(
      `${where}: has ${ids.length} tokens, more than the model's context of ${o.context}`);
    if (cols === -1) cols = ids.length;
    else if (ids.length !== cols) throw new Error(
      `${where}: has ${ids.length} tokens but the first sequence has ${cols}; all sequences of a set must have the ` +
      `same length`);
    rows.push(ids as number[]);
  }
  return matrixFromRows(rows, cols, 0);
}

/** Consecutive non-overlapping `length`-token chunks of `ids`; the incomplete tail is dropped. */
export function chunkTokens(ids: readonly number[], length: number, maxRows = Infinity): TokenMatrix {
  if (!Number.isInteger(length) || length < 2) throw new RangeError(
    `chunk length must be an integer ≥ 2, got ${length}`);
  const n = Math.min(maxRows, Math.floor(ids.length / length));
  const rows = Array.from({ length: n }, (_, r) => ids.slice(r * length, (r + 1) * length));
  return matrixFromRows(rows, length, 0);
}

/**
 * Token chunks of a user file for perplexity or the retain set: a .json file is a list of token-id lists (or one
 * flat list), concatenated; anything else is text, tokenized with `encode` (the model folder's tokenizer.json).
 */
export function readTextOrTokens(file: string,
  o: { length: number; vocab: number; encode?: (text: string) => number[]; tokenizerFile?: string;
    maxRows?: number; }): TokenMatrix {
  const text = readText(file, extname(file).toLowerCase() === '.json' ? 'tokens' : 'text');
  let ids: number[];
  if (extname(file).toLowerCase() === '.json') {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: is not valid JSON (${(e as Error).message}); a .json file must hold token ids, use a ` +
        `.txt file for text`);
    }
    if (!Array.isArray(raw)) throw new Error(`${file}: expected a list of token ids or of token-id lists`);
    ids = (raw.every(Array.isArray) ? (raw as unknown[][]).flat() : raw) as number[];
    ids.forEach((t, j) => {
      if (!Number.isInteger(t) || t < 0 || t >= o.vocab) throw new Error(
        `${file}: token ${j}: ${showValue(t)} is not a token id of this model (0 … ${o.vocab - 1})`);
    });
  } else {
    if (!o.encode) throw new Error(`${file}: is text, but the model folder has no tokenizer.json to tokenize it; add ` +
      `the tokenizer or pass token ids as a .json file`);
    ids = o.encode(text);
    const bad = ids.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= o.vocab);
    if (bad >= 0) {
      throw new Error(`${o.tokenizerFile ?? 'the tokenizer'}: turns ${file} into token id ${ids[bad]} (token ` +
        `${bad}), outside this model's vocabulary (0 … ${o.vocab - 1}, vocab_size in config.json); this tokenizer ` +
        `does not belong to the model: copy the model's own tokenizer.json into its folder`);
    }
  }
  const m = chunkTokens(ids, o.length, o.maxRows);
  if (m.rows === 0) throw new Error(`${file}: gives ${ids.length} tokens, not one full chunk of ${o.length}; use a ` +
    `longer file`);
  return m;
}
