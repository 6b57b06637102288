// The .tinymem notebook file: versioned JSON with cells and their outputs. Pure functions (no vscode, no engine), used
// by the extension's serializer and by the headless `tinymem run`. Bad files fail with a NotebookFormatError naming
// where (cell, field, line:column) and what to do, so an editor shows the error instead of opening an empty notebook
// that a save would write over the user's file.

export const NOTEBOOK_FORMAT = 'tinymem-notebook';
export const NOTEBOOK_VERSION = 1;

/** Files larger than this are refused before parsing (outputs are downsampled; a huge file is a mistake). */
export const MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024;
/** A cell's source is a few lines of YAML or markdown; a megabyte is a pasted blob. */
export const MAX_SOURCE_CHARS = 1024 * 1024;
/** One output item's string data (markdown fallbacks, error texts). */
export const MAX_ITEM_STRING_CHARS = 8 * 1024 * 1024;
export const MAX_CELLS = 10_000;

export type CellKind = 'markdown' | 'step';
export const CELL_KINDS: readonly CellKind[] = ['markdown', 'step'];

/**
 * One output item. `data` is a JSON value for JSON MIME types (stored as JSON, not base64, so files stay readable and
 * diffable), a string for text MIME types, and base64 text with `encoding: "base64"` for anything binary.
 */
export interface NotebookItem {
  mime: string;
  data: unknown;
  encoding?: 'base64';
}

export interface NotebookOutput {
  items: NotebookItem[];
  metadata?: Record<string, unknown>;
}

export interface NotebookCell {
  kind: CellKind;
  source: string;
  outputs?: NotebookOutput[];
  metadata?: Record<string, unknown>;
}

export interface NotebookFile {
  format: typeof NOTEBOOK_FORMAT;
  version: typeof NOTEBOOK_VERSION;
  cells: NotebookCell[];
  metadata?: Record<string, unknown>;
}

export class NotebookFormatError extends Error {
  override readonly name = 'NotebookFormatError';
  constructor(
    /** The file (or "notebook") and the place inside it, e.g. `demo.tinymem: cells[2].source`. */
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
  }
}

/** Whether an item's data is stored as a JSON value: `application/json` and any `+json` type. */
export function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || /\+json$/i.test(mime);
}

/** Whether an item's data is stored as a plain string. */
export function isTextMime(mime: string): boolean {
  return /^text\//i.test(mime) || mime === 'application/javascript' || mime === 'image/svg+xml';
}

export function emptyNotebook(): NotebookFile {
  return { format: NOTEBOOK_FORMAT, version: NOTEBOOK_VERSION, cells: [] };
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`);

/** Line and column (1-based) of a character offset. */
function lineCol(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `line ${line}, column ${col}`;
}

function decode(bytes: Uint8Array | string, file: string): string {
  if (typeof bytes === 'string') return bytes.charCodeAt(0) === 0xfeff ? bytes.slice(1) : bytes;
  if (bytes.length > MAX_NOTEBOOK_BYTES) {
    throw new NotebookFormatError(file, `is ${(bytes.length / 1048576).toFixed(0)} MB, over the ${MAX_NOTEBOOK_BYTES / 1048576} MB limit of a notebook; clear large outputs with another editor or split the notebook`);
  }
  try {
    // fatal: invalid UTF-8 is an error rather than silently replaced characters that a save would write back.
    // ignoreBOM false (the default) drops a leading UTF-8 BOM, which some editors add.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new NotebookFormatError(file, 'is not UTF-8 text; it is not a TinyMem notebook (open it with another editor)');
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    if (/end of JSON input|Unterminated string/i.test(msg) || (pos && Number(pos[1]) >= text.trimEnd().length)) {
      throw new NotebookFormatError(file, 'ends in the middle of the JSON (truncated?); restore it from a backup or version control, or open it with a text editor to repair it');
    }
    const where = pos ? ` at ${lineCol(text, Number(pos[1]))}` : '';
    throw new NotebookFormatError(file, `is not valid JSON${where} (${msg}); open it with a text editor to repair it`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMetadata(v: unknown, where: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) throw new NotebookFormatError(where, `expected an object, got ${typeOf(v)}`);
  return v;
}

function checkItem(v: unknown, where: string): NotebookItem {
  if (!isRecord(v)) throw new NotebookFormatError(where, `expected an object {"mime": ..., "data": ...}, got ${typeOf(v)}`);
  if (typeof v.mime !== 'string' || v.mime === '') throw new NotebookFormatError(`${where}.mime`, `expected a MIME type string, got ${typeOf(v.mime)}`);
  if (!('data' in v)) throw new NotebookFormatError(`${where}.data`, 'is missing');
  const item: NotebookItem = { mime: v.mime, data: v.data };
  if (v.encoding !== undefined) {
    if (v.encoding !== 'base64') throw new NotebookFormatError(`${where}.encoding`, `expected "base64" or nothing, got ${typeOf(v.encoding)}`);
    if (typeof v.data !== 'string') throw new NotebookFormatError(`${where}.data`, `expected base64 text, got ${typeOf(v.data)}`);
    item.encoding = 'base64';
  } else if (!isJsonMime(v.mime) && typeof v.data !== 'string') {
    throw new NotebookFormatError(`${where}.data`, `expected a string for ${v.mime}, got ${typeOf(v.data)}`);
  }
  if (typeof v.data === 'string' && v.data.length > MAX_ITEM_STRING_CHARS) {
    throw new NotebookFormatError(`${where}.data`, `is ${v.data.length} characters, over the ${MAX_ITEM_STRING_CHARS} limit; delete this output in a text editor`);
  }
  return item;
}

function checkCell(v: unknown, where: string): NotebookCell {
  if (!isRecord(v)) throw new NotebookFormatError(where, `expected a cell object {"kind": ..., "source": ...}, got ${typeOf(v)}`);
  if (typeof v.kind !== 'string') throw new NotebookFormatError(`${where}.kind`, `expected "markdown" or "step", got ${typeOf(v.kind)}`);
  if (!(CELL_KINDS as readonly string[]).includes(v.kind)) {
    throw new NotebookFormatError(`${where}.kind`, `unknown cell kind ${JSON.stringify(v.kind)}; this TinyMem knows "markdown" and "step" (a newer TinyMem may have written it: update the extension)`);
  }
  if (typeof v.source !== 'string') throw new NotebookFormatError(`${where}.source`, `expected a string, got ${typeOf(v.source)}`);
  if (v.source.length > MAX_SOURCE_CHARS) throw new NotebookFormatError(`${where}.source`, `is ${v.source.length} characters, over the ${MAX_SOURCE_CHARS} limit of a cell`);
  const cell: NotebookCell = { kind: v.kind as CellKind, source: v.source };
  if (v.outputs !== undefined) {
    if (!Array.isArray(v.outputs)) throw new NotebookFormatError(`${where}.outputs`, `expected a list, got ${typeOf(v.outputs)}`);
    cell.outputs = v.outputs.map((o, j) => {
      const w = `${where}.outputs[${j}]`;
      if (!isRecord(o)) throw new NotebookFormatError(w, `expected an object {"items": [...]}, got ${typeOf(o)}`);
      if (!Array.isArray(o.items)) throw new NotebookFormatError(`${w}.items`, `expected a list, got ${typeOf(o.items)}`);
      const out: NotebookOutput = { items: o.items.map((it, k) => checkItem(it, `${w}.items[${k}]`)) };
      const md = checkMetadata(o.metadata, `${w}.metadata`);
      if (md) out.metadata = md;
      return out;
    });
  }
  const md = checkMetadata(v.metadata, `${where}.metadata`);
  if (md) cell.metadata = md;
  return cell;
}

/**
 * Parses a notebook file. A file that is empty (0 bytes, or only a BOM or whitespace) opens as a new notebook:
 * saving it loses nothing. Anything else that is not a valid notebook throws a NotebookFormatError.
 * @param file a name for messages (the file's path or base name).
 */
export function parseNotebook(bytes: Uint8Array | string, file = 'notebook'): NotebookFile {
  const text = decode(bytes, file);
  if (text.trim() === '') return emptyNotebook();
  const raw = parseJson(text, file);
  if (!isRecord(raw)) throw new NotebookFormatError(file, `expected a JSON object {"format": "${NOTEBOOK_FORMAT}", ...}, got ${typeOf(raw)}`);
  if (raw.format !== NOTEBOOK_FORMAT) {
    throw new NotebookFormatError(`${file}: format`, `expected "${NOTEBOOK_FORMAT}", got ${typeOf(raw.format)}; this is not a TinyMem notebook (open it with a text editor)`);
  }
  if (typeof raw.version !== 'number' || !Number.isInteger(raw.version) || raw.version < 1) {
    throw new NotebookFormatError(`${file}: version`, `expected a positive integer, got ${typeOf(raw.version)}`);
  }
  if (raw.version > NOTEBOOK_VERSION) {
    throw new NotebookFormatError(`${file}: version`, `the file has format version ${raw.version}, written by a newer TinyMem; this one reads version ${NOTEBOOK_VERSION}: update the TinyMem extension (the file was not changed)`);
  }
  if (!Array.isArray(raw.cells)) throw new NotebookFormatError(`${file}: cells`, `expected a list of cells, got ${typeOf(raw.cells)}`);
  if (raw.cells.length > MAX_CELLS) throw new NotebookFormatError(`${file}: cells`, `has ${raw.cells.length} cells, over the ${MAX_CELLS} limit`);
  const nb: NotebookFile = { format: NOTEBOOK_FORMAT, version: NOTEBOOK_VERSION, cells: raw.cells.map((c, i) => checkCell(c, `${file}: cells[${i}]`)) };
  const md = checkMetadata(raw.metadata, `${file}: metadata`);
  if (md) nb.metadata = md;
  return nb;
}

/**
 * The file's text: one line per cell field and per output item (diffable), with each item's data as compact JSON
 * (outputs are the bulk of a file). Validates the result so that nothing unreadable is ever saved.
 */
export function serializeNotebook(nb: NotebookFile): string {
  const j = (v: unknown) => JSON.stringify(v);
  const cell = (c: NotebookCell) => {
    const lines = [`  {"kind": ${j(c.kind)}, "source": ${j(c.source)}`];
    if (c.metadata && Object.keys(c.metadata).length) lines.push(`   "metadata": ${j(c.metadata)}`);
    if (c.outputs?.length) {
      const outs = c.outputs.map((o) => {
        const items = o.items.map((it) => `     ${j(it)}`).join(',\n');
        const md = o.metadata && Object.keys(o.metadata).length ? `, "metadata": ${j(o.metadata)}` : '';
        return `    {"items": [\n${items}\n    ]${md}}`;
      });
      lines.push(`   "outputs": [\n${outs.join(',\n')}\n   ]`);
    }
    return lines.join(',\n') + '}';
  };
  const head = [`"format": ${j(NOTEBOOK_FORMAT)}`, `"version": ${NOTEBOOK_VERSION}`];
  if (nb.metadata && Object.keys(nb.metadata).length) head.push(`"metadata": ${j(nb.metadata)}`);
  const cells = nb.cells.length ? `[\n${nb.cells.map(cell).join(',\n')}\n ]` : '[]';
  const text = `{${head.join(', ')},\n "cells": ${cells}\n}\n`;
  parseNotebook(text, 'notebook being saved');
  return text;
}
