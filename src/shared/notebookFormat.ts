// The .tinymem notebook file: versioned JSON with cells and their outputs, declared as a valibot schema with the types
// derived from it. Pure functions (no vscode, no engine), used by the extension's serializer and by the headless
// `tinymem run`. Bad files fail with a UserError naming where (cell, field, line:column) and what to do, so an editor
// shows the error instead of opening an empty notebook that a save would write over the user's file.
import * as v from 'valibot';
import { boundedArray, checked, isObject, issuePath, plainObject } from './schemaParts';
import { userError } from './userError';

export const NOTEBOOK_FORMAT = 'tinymem-notebook';
export const NOTEBOOK_VERSION = 1;

/** Files larger than this are refused before parsing (outputs are downsampled; a huge file is a mistake). */
export const MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024;
/** A cell's source is a few lines of YAML or markdown; a megabyte is a pasted blob. */
export const MAX_SOURCE_CHARS = 1024 * 1024;
/** One output item's string data (markdown fallbacks, error texts). */
export const MAX_ITEM_STRING_CHARS = 8 * 1024 * 1024;
export const MAX_CELLS = 10_000;

export const CELL_KINDS = ['markdown', 'step'] as const;
export type CellKind = (typeof CELL_KINDS)[number];

/** Whether an item's data is stored as a JSON value: `application/json` and any `+json` type. */
export function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || /\+json$/i.test(mime);
}

/** Whether an item's data is stored as a plain string. */
export function isTextMime(mime: string): boolean {
  return /^text\//i.test(mime) || mime === 'application/javascript' || mime === 'image/svg+xml';
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object'
  ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`);

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
    throw userError(file, `is ${(bytes.length / 1048576).toFixed(0)} MB, over the ${MAX_NOTEBOOK_BYTES / 1048576} MB ` +
      `limit of a notebook; clear large outputs with another editor or split the notebook`, 'file');
  }
  try {
    // fatal: invalid UTF-8 is an error rather than silently replaced characters that a save would write back.
    // ignoreBOM false (the default) drops a leading UTF-8 BOM, which some editors add.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw userError(file, 'is not UTF-8 text; it is not a TinyMem notebook (open it with another editor)', 'file');
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    if (/end of JSON input|Unterminated string/i.test(msg) || (pos && Number(pos[1]) >= text.trimEnd().length)) {
      throw userError(file, 'ends in the middle of the JSON (truncated?); restore it from a backup or version ' +
        'control, or open it with a text editor to repair it', 'file');
    }
    const where = pos ? ` at ${lineCol(text, Number(pos[1]))}` : '';
    throw userError(file, `is not valid JSON${where} (${msg}); open it with a text editor to repair it`, 'file');
  }
}

const tooManyCells = (n: number) => `has ${n} cells, over the ${MAX_CELLS} limit`;
const expected = (what: string) => (i: { input: unknown }) => `expected ${what}, got ${typeOf(i.input)}`;
const metadata = v.optional(v.custom<Record<string, unknown>>(isObject, expected('an object')));
const list = <T extends v.GenericSchema>(item: T) => boundedArray(item, Infinity, expected('a list'), () => '');

/**
 * One output item. `data` is a JSON value for JSON MIME types (stored as JSON, not base64, so files stay readable and
 * diffable), a string for text MIME types, and base64 text with `encoding: "base64"` for anything binary.
 */
const item = checked(
  plainObject(
    {
      mime: v.pipe(v.string(expected('a MIME type string')), v.minLength(1, expected('a MIME type string'))),
      data: v.custom<unknown>((x) => x !== undefined, 'is missing'),
      encoding: v.optional(v.literal('base64', expected('"base64" or nothing'))),
    },
    expected('an object {"mime": ..., "data": ...}'),
  ),
  (it, fail) => {
    const d = it.data;
    if (it.encoding && typeof d !== 'string') fail(['data'], expected('base64 text')({ input: d }));
    else if (!it.encoding && !isJsonMime(it.mime) && typeof d !== 'string') {
      fail(['data'], expected(`a string for ${it.mime}`)({ input: d }));
    } else if (typeof d === 'string' && d.length > MAX_ITEM_STRING_CHARS) {
      const limit = `over the ${MAX_ITEM_STRING_CHARS} limit`;
      fail(['data'], `is ${d.length} characters, ${limit}; delete this output in a text editor`);
    }
  },
);
export type NotebookItem = v.InferOutput<typeof item>;

const output = plainObject({ items: list(item), metadata }, expected('an object {"items": [...]}'));
export type NotebookOutput = v.InferOutput<typeof output>;

const cell = plainObject(
  {
    kind: v.pipe(
      v.string(expected('"markdown" or "step"')),
      v.picklist(
        CELL_KINDS,
        (i) =>
          `unknown cell kind ${JSON.stringify(i.input)}; this TinyMem knows "markdown" and "step" ` +
          '(a newer TinyMem may have written it: update the extension)',
      ),
    ),
    source: v.pipe(
      v.string(expected('a string')),
      v.maxLength(
        MAX_SOURCE_CHARS,
        (i) => `is ${(i.input as string).length} characters, over the ${MAX_SOURCE_CHARS} limit of a cell`,
      ),
    ),
    outputs: v.optional(list(output)),
    metadata,
  },
  expected('a cell object {"kind": ..., "source": ...}'),
);
export type NotebookCell = v.InferOutput<typeof cell>;

const notebook = plainObject(
  {
    format: v.literal(
      NOTEBOOK_FORMAT,
      (i) => `${expected(`"${NOTEBOOK_FORMAT}"`)(i)}; this is not a TinyMem notebook (open it with a text editor)`,
    ),
    version: v.pipe(
      v.number(expected('a positive integer')),
      v.integer(expected('a positive integer')),
      v.minValue(1, expected('a positive integer')),
      v.maxValue(
        NOTEBOOK_VERSION,
        (i) =>
          `the file has format version ${String(i.input)}, written by a newer TinyMem; this one reads version ` +
          `${NOTEBOOK_VERSION}: update the TinyMem extension (the file was not changed)`,
      ),
    ),
    cells: boundedArray(cell, MAX_CELLS, expected('a list of cells'), tooManyCells),
    metadata,
  },
  expected(`a JSON object {"format": "${NOTEBOOK_FORMAT}", ...}`),
);
export type NotebookFile = v.InferOutput<typeof notebook>;

export function emptyNotebook(): NotebookFile {
  return { format: NOTEBOOK_FORMAT, version: NOTEBOOK_VERSION, cells: [] };
}

/**
 * Parses a notebook file. A file that is empty (0 bytes, or only a BOM or whitespace) opens as a new notebook:
 * saving it loses nothing. Anything else that is not a valid notebook throws a UserError.
 * @param file a name for messages (the file's path or base name).
 */
export function parseNotebook(bytes: Uint8Array | string, file = 'notebook'): NotebookFile {
  const text = decode(bytes, file);
  if (text.trim() === '') return emptyNotebook();
  const r = v.safeParse(notebook, parseJson(text, file), { abortEarly: true });
  if (r.success) return r.output;
  const at = issuePath(r.issues[0]);
  throw userError(at ? `${file}: ${at}` : file, r.issues[0].message, 'file');
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
