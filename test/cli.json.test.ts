// `--json` on every command, as a script uses it: stdout holds exactly one JSON document (the result, or
// {"error": ...} when the command fails) and nothing else, the exit code says whether it worked, and the document's
// paths and numbers agree with what is on disk. Also the --threads default (0 = ONNX Runtime chooses, as the
// extension's tinymem.threads).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { allCommands, program } from '../src/cli/main';
import { freshDir, writeMemorizedNeox } from './helpers/hfCheckpoints';

const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const tmp = freshDir('cli-json');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string; doc: Record<string, unknown> }

/** `tinymem ARGS --json`: checks that stdout is one JSON document on one line and returns it parsed. */
function json(args: string[], cwd = tmp): Run {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', timeout: 240_000, cwd });
  const out = r.stdout;
  assert.ok(out.endsWith('\n') && !out.slice(0, -1).includes('\n'),
    `${args.join(' ')}: stdout is one line of JSON, got:\n${out}\nstderr:\n${r.stderr}`);
  return { code: r.status, stdout: out, stderr: r.stderr, doc: JSON.parse(out) as Record<string, unknown> };
}

/** A failure: non-zero exit, {"error": {"message": ...}} matching `pattern`, no stack trace anywhere. */
function fails(args: string[], pattern: RegExp, cwd?: string): Record<string, unknown> {
  const r = json(args, cwd);
  assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
  assert.deepEqual(Object.keys(r.doc), ['error']);
  const e = r.doc.error as { message: string };
  assert.match(e.message, pattern);
  assert.ok(!/\n\s+at /.test(r.stdout + r.stderr), r.stdout + r.stderr);
  return r.doc.error as Record<string, unknown>;
}

const PROMPT = 8;
const CONT = 16;
const HF = () => ['--sequences', path.join(tmp, 'mem.jsonl'), '--text', path.join(tmp, 'text.txt'), '--prompt-len',
  String(PROMPT), '--continuation-len', String(CONT)];

before(async () => {
  // A random GPT-NeoX folder and a sequence set half made of its own greedy continuations (memorized by
  // construction), so mitigate and compare have something to unlearn without a training run.
  await writeMemorizedNeox(path.join(tmp, 'neox'), path.join(tmp, 'mem.jsonl'),
    { prompt: PROMPT, continuation: CONT, controls: 6 });
  const text = 'the cat and the hat sat in the sun, and then the man ran in. ';
  fs.writeFileSync(path.join(tmp, 'text.txt'), text.repeat(30));
});

test('every command takes --json, and --threads defaults to 0 (ONNX Runtime chooses) everywhere but sweep jobs', () => {
  const p = program();
  const commands = allCommands(p).filter((c) => c !== p && c.commands.length === 0 && c.name() !== 'completion');
  assert.ok(commands.length >= 14, commands.map((c) => c.name()).join(' '));
  for (const c of commands) {
    const name = allCommands(p).find((x) => x.commands.includes(c)) === p ? c.name() : `sweep ${c.name()}`;
    assert.ok(c.options.some((o) => o.long === '--json'), `${name} has --json`);
    const threads = c.options.find((o) => o.long === '--threads');
    if (!threads) continue;
    assert.equal(threads.defaultValue, undefined, `${name}: no explicit --threads default`);
    if (name !== 'sweep job') assert.match(threads.description, /0 \(the default\) lets ONNX Runtime choose/, name);
  }
  assert.match(p.helpInformation() + spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout,
    /With --json, stdout holds exactly one JSON document/);
});

test('errors are one JSON document with a non-zero exit: commander\'s mistakes and the engine\'s user errors', () => {
  assert.equal(fails(['train', '--preset', 'cpu-math-noise'], /required option '--out <dir>' not specified/).code,
    'commander.missingMandatoryOptionValue');
  fails(['nonsense'], /unknown command 'nonsense'/);
  fails(['eval', tmp, '--threads', 'many'], /--threads must be a positive integer or 0/);
  const missing = fails(['eval', path.join(tmp, 'missing')], /missing: checkpoint folder not found/);
  assert.equal(missing.kind, 'file');
  assert.deepEqual((missing.problems as { path: string }[]).map((x) => x.path), [path.join(tmp, 'missing')]);
  const nb = path.join(tmp, 'empty.tinymem');
  fs.writeFileSync(nb, JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: [] }));
  fails(['run', nb], /has no step cells to run/);
  fails(['sweep', 'status', path.join(tmp, 'no-sweep')], /no-sweep/);
  fails(['mitigate', path.join(tmp, 'neox'), '--method', 'no-such', '--out', path.join(tmp, 'x'), ...HF()],
    /no-such/);
});

test('presets, methods, train, eval, score: the document holds the result', { timeout: 240_000 }, () => {
  const presets = json(['presets']).doc as unknown as { name: string }[];
  const table = spawnSync(process.execPath, [BIN, 'presets'], { encoding: 'utf8' }).stdout.trim().split('\n');
  assert.deepEqual(presets.map((x) => x.name), table.slice(1).map((l) => l.split(/\s+/)[0]));
  const methods = json(['methods']).doc as unknown as { id: string; hyperParams: unknown[] }[];
  assert.ok(methods.some((m) => m.id === 'balanced-subnet') && methods.every((m) => Array.isArray(m.hyperParams)));

  const ckpt = path.join(tmp, 'trained');
  const t = json(['train', '--threads', '0', '--preset', 'cpu-math-noise', '--set', 'model.n_layer=1',
    'model.n_embd=16', 'model.n_head=2', 'data.numMain=300', 'data.numExtra=40', 'data.numTest=20',
    'data.numNoise=20', 'train.batchSize=32', 'train.epochs=2', '--out', ckpt]);
  assert.equal(t.code, 0, t.stderr);
  const manifest = JSON.parse(fs.readFileSync(path.join(ckpt, 'tinymem.json'), 'utf8')) as
    { progress: { steps: number }; executionProvider: string };
  assert.equal(t.doc.checkpoint, ckpt);
  assert.equal(t.doc.steps, manifest.progress.steps);
  assert.equal(t.doc.provider, manifest.executionProvider);
  assert.equal(t.doc.epochs, 2);
  assert.ok((t.doc.seconds as number) > 0);
  const ev = t.doc.evaluation as { metrics: { id: string }[] };
  assert.ok(ev.metrics.some((m) => m.id === 'memorization'));
  assert.match(t.stderr, /train/, 'progress went to stderr');

  const e = json(['eval', ckpt]);
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual((e.doc.metrics as { id: string }[]).map((m) => m.id), ev.metrics.map((m) => m.id));
  const tokens = path.join(tmp, 'tokens.json');
  fs.writeFileSync(tokens, JSON.stringify([[10, 1, 2, 12, 3, 4, 12, 5]]));
  const s = json(['score', ckpt, '--tokens', tokens]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((s.doc.loss as number[]).length, 1);
});

test('mitigate, compare and run on a Hugging Face folder: paths written, metrics, timings, provider',
  { timeout: 240_000 }, () => {
    const edited = path.join(tmp, 'edited');
    const m = json(['mitigate', path.join(tmp, 'neox'), ...HF(), '--method', 'activations', '--threads', '1',
      '--out', edited]);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.doc.out, edited);
    assert.equal(m.doc.method, 'activations');
    assert.ok(fs.existsSync(path.join(edited, 'masks.safetensors')));
    const recorded = JSON.parse(fs.readFileSync(path.join(edited, 'tinymem.json'), 'utf8')).mitigation as
      { hyperParams: unknown; after: unknown };
    assert.deepEqual(m.doc.hyperParams, recorded.hyperParams);
    assert.deepEqual(m.doc.after, recorded.after);
    assert.equal(m.doc.provider, 'cpu');

    const out = path.join(tmp, 'cmp');
    const c = json(['compare', path.join(tmp, 'neox'), ...HF(), '--methods', 'activations,zero-out', '--out', out]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.doc.files, [path.join(out, 'compare.csv'), path.join(out, 'compare.json')]);
    const written = JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8')) as { rows: unknown[] };
    assert.deepEqual(c.doc.rows, written.rows);
    assert.deepEqual((c.doc.rows as { method: string }[]).map((r) => r.method), ['activations', 'zero-out']);

    const nb = path.join(tmp, 'mem.tinymem');
    fs.writeFileSync(nb, JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: [{ kind: 'step',
      source: `step: memorization\ncheckpoint: neox\nsequences: mem.jsonl\npromptLength: ${PROMPT}\n` +
        `continuationLength: ${CONT}\n` }] }));
    const executed = path.join(tmp, 'executed.tinymem');
    const r = json(['run', nb, '--out', executed, '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.out, executed);
    assert.ok(fs.existsSync(executed));
    assert.equal(r.doc.failure, null);
    assert.deepEqual((r.doc.cells as { cell: number }[]).map((x) => x.cell), [1]);
  });

test('sweep run (and --dry-run), status, report, cancel, retry', { timeout: 300_000 }, () => {
  const spec = path.join(tmp, 'sweep.yaml');
  fs.writeFileSync(spec, stringify({ name: 'json', parallel: 1, threads: 1, seeds: [0],
    models: [{ preset: 'cpu-math-noise', set: { 'model.n_layer': 1, 'model.n_embd': 64, 'model.n_head': 2,
      'data.numMain': 40, 'data.numExtra': 10, 'data.numTest': 10, 'data.numNoise': 10, 'train.batchSize': 16,
      'train.epochs': 150 } }],
    methods: { durable: { ratio: 0.01 } } }));
  const plan = json(['sweep', 'run', spec, '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual(plan.doc, { jobs: 2, train: 1, unlearn: 1, by: { train: 1, durable: 1 } });
  const dir = path.join(tmp, 'sweep');
  const run = json(['sweep', spec, '--out', dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.doc.files, ['results.csv', 'results.jsonl', 'report.html'].map((n) => path.join(dir, n)));
  const rows = run.doc.rows as { job: string }[];
  assert.equal(rows.length, 2);
  const jsonl = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.job).sort(), jsonl.map((r: { job: string }) => r.job).sort());
  const status = json(['sweep', 'status', dir]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.doc.total, 2);
  assert.deepEqual(json(['sweep', 'cancel', dir]).doc, { dir, cancelled: [] });
  const report = json(['sweep', 'report', dir]);
  assert.equal((report.doc.rows as unknown[]).length, 2);
  const retry = json(['sweep', 'retry', dir]);
  assert.equal(retry.code, 0, retry.stderr);
  assert.equal(retry.doc.submitted, 0);
});
