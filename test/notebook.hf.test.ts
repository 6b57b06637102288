// Notebook steps on a Hugging Face folder: a small random GPT-NeoX folder, a JSONL sequence set (half of it the
// model's own greedy continuations, so it "memorizes" them; half random controls) and a text file. A notebook with
// memorization, mitigate, inspect and compare cells runs headless (runNotebook, as `tinymem run` does) and leaves the
// same MIME items as on a TinyMem checkpoint, with masks named after NeoX tensors. Missing or misplaced keys fail
// with the cell's line and field. `tinymem compare --grid` works on the folder with the paper's selection rule.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { completionsAt, hoverAt } from '../src/extension/assist';
import { parseStep } from '../src/engine/notebook/parseStep';
import { runNotebook } from '../src/engine/notebook/runNotebook';
import { loadModelFolder } from '../src/engine/model/checkpoint';
import type { NotebookFile } from '../src/shared/notebookFormat';
import { VIEW_MIME, validateViewPayload } from '../src/shared/viewPayloads';
import { freshDir, writeMemorizedNeox } from './helpers/hfCheckpoints';

const PROMPT = 8;
const CONT = 16;
const tmp = freshDir('nb-hf');
const BIN = path.resolve(__dirname, '../bin/tinymem.js');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

before(async () => {
  await writeMemorizedNeox(path.join(tmp, 'pythia-tiny'), path.join(tmp, 'mem.jsonl'),
    { prompt: PROMPT, continuation: CONT, controls: 6, threads: 2 });
  fs.writeFileSync(path.join(tmp, 'text.txt'),
    'the cat and the hat sat in the sun, and then the man ran in. '.repeat(30));
});

const HF = `checkpoint: pythia-tiny\nsequences: mem.jsonl\ntext: text.txt\npromptLength: ` +
  `${PROMPT}\ncontinuationLength: ${CONT}\n`;
const notebook = (cells: string[]): NotebookFile =>
  ({ format: 'tinymem-notebook', version: 1,
    cells: cells.map((source) => ({ kind: 'step', source })) }) as NotebookFile;
const mimes = (views: { mime: string }[] | undefined) =>
  (views ?? []).map((v) => v.mime).filter((m) => m !== 'text/markdown');
const NEOX_MLP = /^gpt_neox\.layers\.\d+\.mlp\.dense_(h_to_4h|4h_to_h)\.(weight|bias)$/;

test('memorization, mitigate, inspect and compare cells run on a GPT-NeoX folder with the usual views',
  { timeout: 120_000 }, async () => {
    const t0 = Date.now();
    const r = await runNotebook(notebook([
      `step: memorization\n${HF}`,
      `step: mitigate\n${HF}method: activations\nout: edited\n`,
      'step: inspect\n',
      `step: compare\n${HF}methods: [activations, durable]\n`,
    ]), { baseDir: tmp, runtime: { threads: 2 } });
    console.log(`HF notebook ran in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(r.failure, null, r.failure?.message);
    const expect = [
      [VIEW_MIME.metrics, VIEW_MIME.heatmap],
      [VIEW_MIME.heatmapPair, VIEW_MIME.masks, VIEW_MIME.metrics],
      [VIEW_MIME.masks],
      [VIEW_MIME.comparison],
    ];
    expect.forEach((want, i) => assert.deepEqual(mimes(r.views.get(i)), want, `cell ${i + 1}`));
    for (const views of r.views.values()) for (const v of views) if (v.mime !== 'text/markdown') validateViewPayload(
      v.mime, v.payload);
    // Every cell's stored output ends with its markdown fallback.
    for (const c of r.notebook.cells) assert.equal(c.outputs!.at(-1)!.items.at(-1)!.mime, 'text/markdown');

    const metrics = r.views.get(0)![0]!.payload as { metrics: { id: string; value: number | null }[] };
    assert.equal(metrics.metrics.find((m) => m.id === 'memorization')!.value, 50,
      'the 6 greedy sequences of 12 are memorized');
    assert.ok(metrics.metrics.find((m) => m.id === 'perplexity.paper')!.value! > 1);
    const heat = r.views.get(0)![1]!.payload as { rows: { memorized: boolean }[]; tokenText: [number, string][] };
    assert.equal(heat.rows.length, 12);
    assert.equal(heat.rows.filter((x) => x.memorized).length, 6);

    for (const i of [1, 2]) {
      const masks = r.views.get(i)!.find((v) => v.mime === VIEW_MIME.masks)!.payload as {
        tensors: { name: string; shape: number[] }[]; };
      assert.ok(masks.tensors.length > 0, `cell ${i + 1} shows masks`);
      for (const t of masks.tensors) assert.match(t.name, NEOX_MLP);
      // dense_h_to_4h is [inner, hidden] in NeoX's Linear layout.
      assert.deepEqual(masks.tensors.find((t) => t.name === 'gpt_neox.layers.0.mlp.dense_h_to_4h.weight')?.shape,
        [64, 32]);
    }
    assert.ok(fs.existsSync(path.join(tmp, 'edited/masks.safetensors')));
    assert.equal(loadModelFolder(path.join(tmp, 'edited')).modelType, 'gpt_neox');
    const cmp = r.views.get(3)![0]!.payload as { utility: string;
      rows: { method: string; memBefore: number | null; utilityBefore: number | null; error: string | null }[]; };
    assert.deepEqual(cmp.rows.map((x) => x.method), ['activations', 'durable']);
    assert.ok(cmp.rows.every((x) => x.error === null && x.memBefore === 50 && x.utilityBefore! > 1),
      JSON.stringify(cmp.rows));
  });

test('a Hugging Face folder without sequences, or a TinyMem checkpoint with them, fails naming the line and field',
  async () => {
    const r = await runNotebook(notebook(['step: mitigate\nmethod: activations\ncheckpoint: pythia-tiny\n']),
      { baseDir: tmp, runtime: { threads: 1 } });
    assert.equal(r.failure?.field, 'sequences');
    assert.equal(r.failure?.line, 3, 'reported on the checkpoint line');
    assert.match(r.failure!.message, /Hugging Face model folder without TinyMem data: add `sequences: /);

    const m = await runNotebook(notebook(['step: memorization\ncheckpoint: pythia-tiny\n']),
      { baseDir: tmp, runtime: { threads: 1 } });
    assert.equal(m.failure?.field, 'sequences');
    assert.match(m.failure!.message, /`sequences: .*and\/or `text: /);

    const tinymem = path.join(tmp, 'tinymem-ckpt');
    fs.mkdirSync(tinymem, { recursive: true });
    fs.writeFileSync(path.join(tinymem, 'config.json'), '{}');
    fs.writeFileSync(path.join(tinymem, 'tinymem.json'), JSON.stringify({ data: { kind: 'tinymem' } }));
    const t = await runNotebook(notebook(['step: memorization\ncheckpoint: tinymem-ckpt\ntext: text.txt\n']),
      { baseDir: tmp, runtime: { threads: 1 } });
    assert.equal(t.failure?.field, 'text');
    assert.equal(t.failure?.line, 3);
    assert.match(t.failure!.message, /is a TinyMem checkpoint.*remove it/);

    const missing = await runNotebook(
      notebook(['step: memorization\ncheckpoint: pythia-tiny\nsequences: nope.jsonl\n']),
      { baseDir: tmp, runtime: { threads: 1 } });
    assert.equal(missing.failure?.field, 'sequences');
    assert.match(missing.failure!.message, /nope\.jsonl: no such file/);

    // Parse-time: lengths and the retain set only go with a sequence set; lengths are at least 1.
    const p = parseStep('step: mitigate\nmethod: activations\npromptLength: 8\nretain: r.txt\n');
    assert.deepEqual(p.issues.map((i) => [i.field, i.line]), [['promptLength', 3], ['retain', 4]]);
    assert.match(p.issues[0]!.message, /add `sequences: /);
    const z = parseStep('step: memorization\nsequences: m.jsonl\ncontinuationLength: 0\n');
    assert.deepEqual(z.issues.map((i) => i.field), ['continuationLength']);
  });

test('completion and hover know the Hugging Face keys', () => {
  const src = 'step: mitigate\nmethod: activations\n';
  const keys = completionsAt(src, 2, 0).map((c) => c.label);
  for (const k of ['sequences', 'text', 'retain', 'promptLength', 'continuationLength']) assert.ok(keys.includes(k), k);
  assert.ok(!completionsAt('step: memorization\n', 1, 0).some((c) => c.label === 'retain'),
    'memorization takes no retain set');
  assert.deepEqual(completionsAt('step: memorization\npromptLength: ', 1, 14).map((c) => c.label), ['32']);
  assert.match(hoverAt('step: compare\nsequences: m.jsonl\n', 1, 3)!.markdown, /memorized-sequence set/);
});

test('tinymem compare --grid on a Hugging Face folder: grid points per method, one selected each',
  { timeout: 120_000 }, () => {
    const out = path.join(tmp, 'grid');
    const t0 = Date.now();
    const args = ['compare', path.join(tmp, 'pythia-tiny'), '--methods', 'activations,zero-out', '--grid',
      '--sequences',
      path.join(tmp, 'mem.jsonl'), '--prompt-len', String(PROMPT), '--continuation-len', String(CONT), '--threads', '2',
      '--out', out];
    const r = spawnSync(process.execPath, [BIN, ...args, '--text', path.join(tmp, 'text.txt')],
      { encoding: 'utf8', timeout: 110_000 });
    console.log(`tinymem compare --grid on a NeoX folder: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8')) as { utility: string;
      modelType: string; rows: { method: string; hyperParams: Record<string, number>; score: number | null;
        selected: boolean; }[]; };
    assert.equal(res.utility, 'perplexity');
    assert.equal(res.modelType, 'gpt_neox');
    // Both methods sweep ratio over the paper's three values.
    assert.deepEqual(res.rows.map((x) => `${x.method}:${x.hyperParams.ratio}`),
      ['activations:0.001', 'activations:0.01', 'activations:0.05', 'zero-out:0.001', 'zero-out:0.01',
        'zero-out:0.05']);
    assert.ok(res.rows.every((x) => typeof x.score === 'number'));
    for (const m of ['activations', 'zero-out']) assert.equal(
      res.rows.filter((x) => x.method === m && x.selected).length, 1, m);
    assert.match(fs.readFileSync(path.join(out, 'compare.csv'), 'utf8'), /^method,name,family,hyper_params/);
    assert.match(r.stdout, /selected/);

    const noText = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(noText.status, 0);
    assert.match(noText.stderr, /--grid .*pass --text FILE/);
  });

test('an edited Hugging Face folder records its sets (relative to it): eval and a memorization cell measure it again ' +
  'without them', { timeout: 120_000 }, async () => {
  const edited = path.join(tmp, 'models', 'edited-recorded');
  const sets = ['--sequences', path.join(tmp, 'mem.jsonl'), '--text', path.join(tmp, 'text.txt'), '--prompt-len',
    String(PROMPT), '--continuation-len', String(CONT)];
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--threads', '1'],
    { encoding: 'utf8', timeout: 60_000 });
  const m = run(['mitigate', path.join(tmp, 'pythia-tiny'), ...sets, '--method', 'activations', '--out', edited]);
  assert.equal(m.status, 0, m.stderr);
  const data = JSON.parse(fs.readFileSync(path.join(edited, 'tinymem.json'), 'utf8')).data;
  assert.deepEqual(data,
    { kind: 'sequences', sequences: '../../mem.jsonl', text: '../../text.txt', retain: '../../text.txt',
      promptLength: PROMPT, continuationLength: CONT });
  const values = (stdout: string) =>
    (JSON.parse(stdout) as { metrics: { id: string; value: number | null }[] }).metrics.map((x) => [x.id, x.value]);
  const given = run(['eval', edited, ...sets, '--json']);
  const recorded = run(['eval', edited, '--json']);
  assert.equal(recorded.status, 0, recorded.stderr);
  assert.deepEqual(values(recorded.stdout), values(given.stdout));
  assert.deepEqual(values(recorded.stdout).map(([id]) => id),
    ['memorization', 'memorization.count', 'perplexity.paper', 'perplexity.expMeanLoss']);
  // The folder and its sets moved together still resolve; a cell with only `checkpoint:` measures the same.
  const moved = freshDir('nb-hf-moved');
  fs.cpSync(tmp, moved, { recursive: true });
  const r = await runNotebook(notebook(['step: memorization\ncheckpoint: models/edited-recorded\n']),
    { baseDir: moved, runtime: { threads: 1 } });
  assert.equal(r.failure, null, r.failure?.message);
  const payload = r.views.get(0)![0]!.payload as { dataset: string; artifact?: string;
    metrics: { id: string; value: number | null }[]; };
  assert.equal(payload.dataset, 'sequences');
  assert.equal(payload.artifact, undefined);
  assert.deepEqual(payload.metrics.map((x) => [x.id, x.value]), values(given.stdout));
  fs.rmSync(moved, { recursive: true, force: true });
});
