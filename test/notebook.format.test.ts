// The .tinymem file format: round trips, and every kind of bad file fails with a message naming where and what to
// do (never an empty notebook that a save would write over the file).
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  MAX_ITEM_STRING_CHARS,
  MAX_NOTEBOOK_BYTES,
  MAX_SOURCE_CHARS,
  type NotebookFile,
  emptyNotebook,
  parseNotebook,
  serializeNotebook,
} from '../src/shared/notebookFormat';
import { errorOutput, viewToOutput } from '../src/shared/cellOutputs';
import { UserError } from '../src/shared/userError';

const sample: NotebookFile = {
  format: 'tinymem-notebook',
  version: 1,
  metadata: { created: 'test' },
  cells: [
    { kind: 'markdown', source: '# Title\nwith "quotes" and ünïcode' },
    {
      kind: 'step',
      source: 'step: train\npreset: cpu-math-noise\n',
      outputs: [
        { items: [{ mime: 'application/vnd.tinymem.curves+json',
          data: { version: 1, title: 't', points: [{ epoch: 1, loss: 2.5 }] } },
        { mime: 'text/markdown', data: '**t**' }] },
        { items: [{ mime: 'image/png', data: Buffer.from([0, 1, 2, 255]).toString('base64'), encoding: 'base64' }],
          metadata: { note: 1 } },
      ],
      metadata: { tag: 'x' },
    },
  ],
};

const enc = (s: string) => new TextEncoder().encode(s);
const file = (cells: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ format: 'tinymem-notebook', version: 1, cells, ...extra });

function rejects(input: string | Uint8Array, where: RegExp, what: RegExp): void {
  assert.throws(
    () => parseNotebook(typeof input === 'string' ? enc(input) : input, 'nb.tinymem'),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.match(e.path, where);
      assert.match(e.message, what);
      return true;
    },
  );
}

test('a notebook survives serialize → parse unchanged, JSON outputs stored as JSON (not base64)', () => {
  const text = serializeNotebook(sample);
  assert.deepEqual(parseNotebook(enc(text)), sample);
  assert.ok(text.includes('"points":[{"epoch":1,"loss":2.5}]'), 'rich payload stored as compact JSON');
  assert.ok(text.endsWith('\n'));
  // Serializing twice gives the same bytes (stable diffs).
  assert.equal(serializeNotebook(parseNotebook(text)), text);
});

test('a UTF-8 BOM is accepted, from bytes and from a string', () => {
  const text = serializeNotebook(sample);
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc(text)]);
  assert.deepEqual(parseNotebook(withBom), sample);
  assert.deepEqual(parseNotebook('\ufeff' + text), sample);
});

test('an empty file (0 bytes, BOM only, whitespace) opens as a new notebook: saving it loses nothing', () => {
  assert.deepEqual(parseNotebook(new Uint8Array(0)), emptyNotebook());
  assert.deepEqual(parseNotebook(new Uint8Array([0xef, 0xbb, 0xbf])), emptyNotebook());
  assert.deepEqual(parseNotebook(enc(' \n\t\n')), emptyNotebook());
});

test('invalid JSON names the line and column', () => {
  rejects('{"format": "tinymem-notebook",\n "version": 1 x}', /nb\.tinymem/,
    /not valid JSON at line 2, column \d+.*text editor/);
  rejects('not json at all', /nb\.tinymem/, /not valid JSON/);
});

test('a truncated file says so instead of opening empty', () => {
  const text = serializeNotebook(sample);
  for (const cut of [text.length - 3, Math.floor(text.length / 2), 10]) rejects(text.slice(0, cut), /nb\.tinymem/,
    /truncated/);
});

test('a file from a newer TinyMem (unknown future version) is refused with "update"', () => {
  rejects(JSON.stringify({ format: 'tinymem-notebook', version: 2, cells: [] }), /version/, /version 2.*newer.*update/);
  rejects(JSON.stringify({ format: 'tinymem-notebook', version: 0, cells: [] }), /version/, /positive integer/);
  rejects(JSON.stringify({ format: 'tinymem-notebook', version: '1', cells: [] }), /version/, /positive integer/);
});

test('other JSON that is not a TinyMem notebook is refused', () => {
  rejects('[1, 2]', /nb\.tinymem/, /expected a JSON object/);
  rejects(JSON.stringify({ cells: [] }), /format/, /not a TinyMem notebook/);
  rejects(JSON.stringify({ format: 'jupyter', version: 1, cells: [] }), /format/, /not a TinyMem notebook/);
  rejects(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /nb\.tinymem/, /not UTF-8/);
});

test('unknown cell kinds name the cell', () => {
  rejects(file([{ kind: 'markdown', source: '' }, { kind: 'python', source: 'x' }]), /cells\[1\]\.kind/,
    /unknown cell kind "python"/);
});

test('wrong types name the field', () => {
  rejects(file('nope'), /cells$/, /expected a list of cells/);
  rejects(file([42]), /cells\[0\]$/, /expected a cell object/);
  rejects(file([{ kind: 'step', source: 3 }]), /cells\[0\]\.source/, /expected a string, got number 3/);
  rejects(file([{ kind: 'step' }]), /cells\[0\]\.source/, /expected a string/);
  rejects(file([{ kind: 7, source: '' }]), /cells\[0\]\.kind/, /expected "markdown" or "step"/);
  rejects(file([{ kind: 'step', source: '', outputs: {} }]), /cells\[0\]\.outputs$/, /expected a list/);
  rejects(file([{ kind: 'step', source: '', outputs: [{ items: 'x' }] }]), /outputs\[0\]\.items$/, /expected a list/);
  rejects(file([{ kind: 'step', source: '', outputs: [{ items: [{ data: 1 }] }] }]), /items\[0\]\.mime/, /MIME type/);
  rejects(file([{ kind: 'step', source: '', outputs: [{ items: [{ mime: 'text/markdown' }] }] }]), /items\[0\]\.data/,
    /missing/);
  rejects(file([{ kind: 'step', source: '', outputs: [{ items: [{ mime: 'text/markdown', data: { a: 1 } }] }] }]),
    /items\[0\]\.data/, /expected a string/);
  rejects(file(
    [{ kind: 'step', source: '', outputs: [{ items: [{ mime: 'image/png', data: 'AA==', encoding: 'hex' }] }] }]),
  /encoding/, /base64/);
  rejects(file([{ kind: 'step', source: '', metadata: [] }]), /cells\[0\]\.metadata/, /expected an object/);
  rejects(file([], { metadata: 'x' }), /metadata/, /expected an object/);
});

test('huge strings and files are refused before they slow the editor', () => {
  rejects(file([{ kind: 'step', source: 'x'.repeat(MAX_SOURCE_CHARS + 1) }]), /cells\[0\]\.source/,
    /over the \d+ limit/);
  rejects(file(
    [{ kind: 'step', source: '',
      outputs: [{ items: [{ mime: 'text/plain', data: 'y'.repeat(MAX_ITEM_STRING_CHARS + 1) }] }] }]),
  /items\[0\]\.data/, /over the \d+ limit/);
  rejects(new Uint8Array(MAX_NOTEBOOK_BYTES + 1), /nb\.tinymem/, /over the 64 MB limit/);
});

test('serialize refuses to write something it could not read back', () => {
  const bad = { ...sample, cells: [{ kind: 'code', source: '' }] } as unknown as NotebookFile;
  assert.throws(() => serializeNotebook(bad), /unknown cell kind "code"/);
});

test('view outputs become [rich item, markdown]; oversized charts keep only their text; errors are markdown', () => {
  const view = { mime: 'application/vnd.tinymem.curves+json',
    payload: { version: 1, title: 't',
      points: Array.from({ length: 100 }, (_, i) => ({ epoch: i, loss: 1 / (i + 1) })) }, markdown: '**curve**' };
  const full = viewToOutput(view, 1024);
  assert.deepEqual(full.items.map((i) => i.mime), ['application/vnd.tinymem.curves+json', 'text/markdown']);
  assert.deepEqual(full.items[0]!.data, view.payload);
  const capped = viewToOutput(view, 1);
  assert.deepEqual(capped.items.map((i) => i.mime), ['text/markdown']);
  assert.match(String(capped.items[0]!.data), /\*\*curve\*\*[\s\S]*left out.*outputSizeCapKB/);
  assert.equal(capped.metadata?.droppedMime, view.mime);
  const err = errorOutput('Cell 3', 'preset: unknown preset "x"\n<script>');
  assert.match(String(err.items[0]!.data), /^\*\*Cell 3 failed\*\*/);
  assert.ok(!String(err.items[0]!.data).includes('<script>'), 'markdown errors are escaped');
  // A saved notebook with these outputs parses back.
  const nb: NotebookFile = { format: 'tinymem-notebook', version: 1,
    cells: [{ kind: 'step', source: 's', outputs: [full, capped, err] }] };
  assert.deepEqual(parseNotebook(serializeNotebook(nb)), nb);
});
