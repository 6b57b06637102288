// A train cell whose folder already holds a finished run with the same settings reuses it (no training: the
// checkpoint's files keep their bytes and mtimes, and the output says so and still shows the curve and metrics);
// `force: true` retrains; a changed setting is refused as before. The notebook's state then lets a later notebook
// (a reload) measure that checkpoint without naming it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { type CellContext, type CellResult } from '../src/engine/notebook/context';
import { describeError } from '../src/engine/notebook/errors';
import { runCellSource } from '../src/engine/notebook/runCell';
import { runNotebook } from '../src/engine/notebook/runNotebook';
import { type NotebookFile, parseNotebook, serializeNotebook } from '../src/shared/notebookFormat';
import { NOTEBOOK_STATE_KEY } from '../src/shared/notebookState';
import { VIEW_MIME } from '../src/shared/viewPayloads';

const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-reuse-'));
after(() => fs.rmSync(ws, { recursive: true, force: true }));

const SET = '{ model.n_layer: 1, model.n_embd: 16, model.n_head: 2, data.numMain: 60, data.numExtra: 10, ' +
  'data.numTest: 10, data.numNoise: 10, train.batchSize: 16, train.epochs: 2 }';
const cell = (extra = '', set = SET) => `step: train\npreset: cpu-math-noise\nout: runs/tiny\nset: ${set}\n${extra}`;
const dir = path.join(ws, 'runs', 'tiny');

function ctx(notes: string[] = []): CellContext {
  return { baseDir: ws, state: {}, runtime: { threads: 1 }, seed: 0, signal: new AbortController().signal,
    onProgress: (p) => notes.push(p.message) };
}

/** Every file of the checkpoint with its mtime and size. */
function stamp(): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => {
    const s = fs.statSync(path.join(dir, f));
    return [f, `${s.mtimeMs}:${s.size}`];
  }));
}

const markdownOf = (r: CellResult) => r.outputs.filter((o) => o.mime === 'text/markdown').map((o) => o.markdown)
  .join('\n');
const createdAt = () => (JSON.parse(fs.readFileSync(path.join(dir, 'tinymem.json'), 'utf8')) as
  { createdAt: string }).createdAt;

test('a finished train cell with the same settings reuses its checkpoint; force: true retrains; other settings are ' +
  'refused', { timeout: 300_000 }, async () => {
  const first = await runCellSource(cell(), ctx());
  assert.match(markdownOf(first), /^Trained 2 epochs/m);
  const trained = stamp();
  const created = createdAt();
  assert.ok(trained['model.safetensors'] && trained['tinymem.json'], Object.keys(trained).join(', '));

  // Same settings, written differently (nested map, other key order): reused, nothing rewritten.
  const nested = '\n  train: { epochs: 2, batchSize: 16 }\n  data: { numNoise: 10, numTest: 10, numExtra: 10, ' +
    'numMain: 60 }\n  model: { n_head: 2, n_embd: 16, n_layer: 1 }';
  const c = ctx();
  const started = Date.now();
  const again = await runCellSource(cell('', nested), c);
  const reuseMs = Date.now() - started;
  console.log(`reuse took ${reuseMs} ms`);
  assert.deepEqual(stamp(), trained, 'no file of the checkpoint was written again');
  assert.equal(createdAt(), created);
  const text = markdownOf(again);
  assert.match(text, /Reused `runs\/tiny` \(trained earlier with the same settings; `force: true` retrains\)/);
  assert.doesNotMatch(text, /^Trained/m);
  assert.equal(again.provider, '', 'nothing ran on ONNX Runtime');
  const mimes = again.outputs.map((o) => o.mime);
  assert.ok(mimes.includes(VIEW_MIME.curves) && mimes.includes(VIEW_MIME.metrics), mimes.join(', '));
  const curve = again.outputs.find((o) => o.mime === VIEW_MIME.curves)!.payload as { points: unknown[] };
  assert.equal(curve.points.length, 2, 'one point per trained epoch from the manifest');
  assert.equal(c.state.lastCheckpoint, dir, 'the reused checkpoint becomes the notebook\u2019s latest');

  // force: true trains again and replaces the checkpoint.
  const forced = await runCellSource(cell('force: true\n'), ctx());
  assert.match(markdownOf(forced), /^Trained 2 epochs/m);
  assert.notEqual(createdAt(), created, 'force: true wrote a new run');
  assert.notEqual(stamp()['model.safetensors'], trained['model.safetensors']);

  // A changed setting: as before, the folder is not overwritten without force: true.
  const before = stamp();
  await assert.rejects(runCellSource(cell('', SET.replace('train.epochs: 2', 'train.epochs: 3')), ctx()), (e) => {
    assert.match(describeError(e).message, /already holds a checkpoint; choose another `out:` or add `force: true`/);
    return true;
  });
  assert.deepEqual(stamp(), before, 'the refused cell changed nothing');
});

test('a stopped run is not reused', { timeout: 300_000 }, async () => {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'tinymem.json'), 'utf8')) as Record<string, unknown>;
  const copy = path.join(ws, 'runs', 'copy');
  fs.cpSync(dir, copy, { recursive: true });
  const source = cell().replace('runs/tiny', 'runs/copy');
  // The manifest rewritten as it was (its content hashes cover the other files only): still reused.
  fs.writeFileSync(path.join(copy, 'tinymem.json'), JSON.stringify(m));
  assert.match(markdownOf(await runCellSource(source, ctx())), /^Reused `runs\/copy`/m);
  // The same run marked stopped: refused as before.
  fs.writeFileSync(path.join(copy, 'tinymem.json'),
    JSON.stringify({ ...m, progress: { ...(m.progress as object), complete: false, stopped: true } }));
  await assert.rejects(runCellSource(source, ctx()), (e) => /already holds a checkpoint/.test(describeError(e).message));
});

test('the notebook records its checkpoint; a reloaded notebook measures it without `checkpoint:`',
  { timeout: 300_000 }, async () => {
    const nb: NotebookFile = { format: 'tinymem-notebook', version: 1, cells: [{ kind: 'step', source: cell() }] };
    const o = { baseDir: ws, runtime: { threads: 1 } };
    const ran = await runNotebook(nb, o);
    assert.equal(ran.failure, null, ran.failure?.message);
    assert.deepEqual(ran.notebook.metadata, { [NOTEBOOK_STATE_KEY]: { lastCheckpoint: 'runs/tiny' } });
    // "Reload": the saved file is read back and a new notebook state starts from its metadata.
    const saved = parseNotebook(serializeNotebook(ran.notebook));
    const measure = await runNotebook({ ...saved, cells: [{ kind: 'step', source: 'step: memorization\n' }] }, o);
    assert.equal(measure.failure, null, measure.failure?.message);
    assert.ok(measure.views.get(0)!.some((v) => v.mime === VIEW_MIME.metrics));
    // Without the recorded state the same cell has nothing to measure.
    const fresh = await runNotebook({ ...nb, cells: [{ kind: 'step', source: 'step: memorization\n' }] }, o);
    assert.match(fresh.failure?.message ?? '', /no checkpoint given and no train step has run/);
  });
