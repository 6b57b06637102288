// Issue 10, "never overwrite what the user did not ask to overwrite": every probe as a user runs it (the CLI and
// `tinymem run`), asserting the exit code, a message naming the path and what to do, and that the sha256 of every
// file that was there before is unchanged. Covers cases 1, 2, 3, 4 and 11 (the notebook path that is a folder:
// test/reliability.input.test.ts).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { parseNotebook } from '../src/shared/notebookFormat';
import { writeMemorizedNeox } from './helpers/hfCheckpoints';
import { BIN, type CliResult, TINY_TRAIN, assertRefused, assertUnchanged, fingerprint, tempDir,
  tinymem } from './helpers/userCli';

const root = tempDir('outputs');
/** The notebooks' folder (the workspace of `tinymem run`), holding a trained checkpoint `ckpt`. */
const ws = path.join(root, 'ws');
const ckpt = path.join(ws, 'ckpt');
/** A small Hugging Face (GPT-NeoX) folder with a sequence set it reproduces, for the compare and HF mitigate probes. */
const hf = path.join(root, 'hf');
const PROMPT = 8;
const CONT = 16;
const HF_ARGS = ['--sequences', path.join(hf, 'mem.jsonl'), '--text', path.join(hf, 'text.txt'), '--prompt-len',
  String(PROMPT), '--continuation-len', String(CONT), '--threads', '1'];
const SHORT = (epochs: number) => [...TINY_TRAIN, `train.epochs=${epochs}`];
const CELL_SET = 'set: { model.n_layer: 1, model.n_embd: 16, model.n_head: 2, data.numMain: 300, data.numExtra: 40, ' +
  'data.numTest: 20, data.numNoise: 20, train.batchSize: 32, train.epochs: 2 }\n';
const lockOf = (dir: string) => path.join(path.dirname(dir), `.${path.basename(dir)}.tinymem-lock`);

function writeNotebook(file: string,
  cells: (string | { kind: 'markdown' | 'step'; source: string; outputs?: unknown[] })[]): void {
  const c = cells.map((x) => (typeof x === 'string' ? { kind: 'step', source: x } : x));
  fs.writeFileSync(file, JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: c }, null, 1));
}

/** `tinymem ARGS` without waiting: resolves with the result and the time it ended. */
function tinymemAsync(args: readonly string[]): Promise<CliResult & { ended: number }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ended: Date.now() }));
  });
}

const sha256 = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

before(async () => {
  fs.mkdirSync(ws, { recursive: true });
  const t = tinymem(['train', ...SHORT(2), '--out', ckpt, '--no-eval']);
  assert.equal(t.code, 0, t.stderr);
  // A random GPT-NeoX folder and its own greedy continuations: sequences it "memorizes", so compare has work to do.
  await writeMemorizedNeox(path.join(hf, 'pythia-tiny'), path.join(hf, 'mem.jsonl'),
    { prompt: PROMPT, continuation: CONT, controls: 0 });
  fs.writeFileSync(path.join(hf, 'text.txt'),
    'the cat and the hat sat in the sun, and then the man ran in. '.repeat(30));
});

test('case 1: a notebook mitigate step whose out: is its checkpoint is refused (same path, symlink, `..`, trailing ' +
  'slash, inside it), even with force: true', () => {
  fs.symlinkSync(ckpt, path.join(ws, 'ckpt-link'));
  const nb = path.join(ws, 'self.tinymem');
  const before = fingerprint(ws);
  for (const out of ['ckpt', 'ckpt-link', '../ws/ckpt', 'ckpt/', 'ckpt/edited']) {
    writeNotebook(nb, [`step: mitigate\ncheckpoint: ckpt\nmethod: balanced-subnet\nout: ${out}\nforce: true\n`]);
    const r = tinymem(['run', nb, '--threads', '1']);
    assertRefused(r, /cell 1, line 4, field out: /, new RegExp(`${ckpt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      /choose another `out:`/, out === 'ckpt/edited' ? /lies inside the input/ : /is the input .* itself/);
    assert.doesNotMatch(r.stderr, /measuring|measure /, `refused before the base model was measured (${out})`);
  }
  fs.rmSync(nb);
  assertUnchanged(ws, before, true);
  fs.rmSync(path.join(ws, 'ckpt-link'));
});

test('case 1: a notebook train step into an existing checkpoint of other settings is refused without force: true, ' +
  'and replaces it with force: true', () => {
  const copy = path.join(ws, 'ckpt-copy');
  fs.cpSync(ckpt, copy, { recursive: true });
  const nb = path.join(ws, 'train.tinymem');
  const before = fingerprint(ws);
  // The same settings as the checkpoint's would reuse it (test/notebook.trainReuse.test.ts): one epoch more.
  const other = CELL_SET.replace('train.epochs: 2', 'train.epochs: 3');
  assert.notEqual(other, CELL_SET);
  writeNotebook(nb, [`step: train\npreset: cpu-math-noise\nout: ckpt-copy\n${other}`]);
  const r = tinymem(['run', nb, '--threads', '1']);
  assertRefused(r, /cell 1, line 3, field out: /,
    /ckpt-copy: already holds a checkpoint; choose another `out:` or add `force: true` to the cell to replace it/);
  assert.doesNotMatch(r.stderr, /epoch/, 'refused before training started');
  assertUnchanged(ws, before);
  const created = JSON.parse(fs.readFileSync(path.join(copy, 'tinymem.json'), 'utf8')).createdAt as string;
  writeNotebook(nb, [`step: train\npreset: cpu-math-noise\nout: ckpt-copy\nforce: true\n${CELL_SET}`]);
  const ok = tinymem(['run', nb, '--threads', '1']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.notEqual(JSON.parse(fs.readFileSync(path.join(copy, 'tinymem.json'), 'utf8')).createdAt, created,
    'force: true replaced the checkpoint');
  assert.ok(!fs.existsSync(lockOf(copy)), 'the lock was released');
  fs.rmSync(copy, { recursive: true });
  fs.rmSync(nb);
});

test('case 1: tinymem mitigate SRC --out SRC --force is refused, whatever the spelling, before the base model is ' +
  'measured', () => {
  fs.symlinkSync(ckpt, path.join(root, 'link-to-ckpt'));
  const before = fingerprint(ws);
  const spellings: [string, RegExp][] = [
    [ckpt, /is the input .*ckpt itself/],
    [`${ckpt}/`, /is the input .*ckpt itself/],
    [path.join(root, 'link-to-ckpt'), /link-to-ckpt: is the input .*ckpt itself \(it resolves to .*ws\/ckpt\)/],
    [path.join(ckpt, '..', 'ckpt'), /is the input .*ckpt itself/],
    [path.join(ckpt, 'edited'), /lies inside the input .*ckpt/],
    [ws, /ws: holds the input .*ckpt; replacing it would lose the input/],
  ];
  for (const [out, why] of spellings) {
    const r = tinymem(['mitigate', ckpt, '--method', 'balanced-subnet', '--out', out, '--force', '--threads', '1']);
    assertRefused(r, why, /choose another --out/);
    assert.doesNotMatch(r.stderr, /measure/, `refused before measuring (${out})`);
  }
  // A Hugging Face folder is guarded the same way, and so are its data files.
  const hfBefore = fingerprint(hf);
  const m = tinymem(['mitigate', path.join(hf, 'pythia-tiny'), ...HF_ARGS, '--method', 'activations', '--out',
    path.join(hf, 'pythia-tiny'), '--force']);
  assertRefused(m, /pythia-tiny: is the input .*pythia-tiny itself/);
  const d = tinymem(['mitigate', path.join(hf, 'pythia-tiny'), ...HF_ARGS, '--method', 'activations', '--out', hf,
    '--force']);
  assertRefused(d, /hf: holds the input .*pythia-tiny/);
  assertUnchanged(hf, hfBefore, true);
  assertUnchanged(ws, before, true);
  fs.rmSync(path.join(root, 'link-to-ckpt'));
});

test('case 1: a notebook out: outside the workspace is refused (also through a symlink); --allow-outside allows it',
  () => {
    const nb = path.join(ws, 'outside.tinymem');
    const outside = path.join(root, 'outside');
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(ws, 'escape'));
    const before = fingerprint(root);
    for (const out of ['../outside/run', 'escape/run', path.join(outside, 'run')]) {
      writeNotebook(nb, [`step: train\npreset: cpu-math-noise\nout: ${out}\n${CELL_SET}`]);
      const r = tinymem(['run', nb, '--threads', '1']);
      assertRefused(r, /field out: /,
        /outside the notebook's workspace folder .*ws; use a path inside it, or allow paths outside with the setting tinymem\.allowPathsOutsideWorkspace \(tinymem run: --allow-outside\)/);
      assert.doesNotMatch(r.stderr, /epoch/);
    }
    // Reading a checkpoint outside is refused the same way, naming the key.
    writeNotebook(nb,
      [`step: memorization\ncheckpoint: ${path.join(hf, 'pythia-tiny')}\nsequences: ../hf/mem.jsonl\n`]);
    assertRefused(tinymem(['run', nb, '--threads', '1']),
      /field checkpoint: .*pythia-tiny is outside the notebook's workspace folder/);
    fs.rmSync(nb);
    assertUnchanged(root, before, true);
    writeNotebook(nb, [`step: train\npreset: cpu-math-noise\nout: ../outside/run\n${CELL_SET}`]);
    const ok = tinymem(['run', nb, '--threads', '1', '--allow-outside']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(fs.existsSync(path.join(outside, 'run', 'model.safetensors')), 'the opt-out lets the cell write outside');
    fs.rmSync(nb);
    fs.rmSync(path.join(ws, 'escape'));
  });

test('case 2: compare --out with an existing compare.csv is refused, and replaced with --force', () => {
  const out = path.join(root, 'cmp');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'compare.csv'), 'an earlier comparison\n');
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine\n');
  const before = fingerprint(out);
  const args = ['compare', path.join(hf, 'pythia-tiny'), ...HF_ARGS, '--methods', 'zero-out', '--out', out];
  const r = tinymem(args);
  assertRefused(r,
    /cmp: already holds compare\.csv from an earlier run; choose another --out or pass --force to replace it/);
  assert.doesNotMatch(r.stderr, /\[1\/1\]/, 'refused before any method ran');
  assertUnchanged(out, before, true);
  // The TinyMem path refuses the same way (before its base evaluation).
  const t = tinymem(['compare', ckpt, '--methods', 'zero-out', '--out', out, '--threads', '1']);
  assertRefused(t, /cmp: already holds compare\.csv/);
  assert.doesNotMatch(t.stderr, /measure/);
  // The output may not be the model itself.
  assertRefused(tinymem(['compare', ckpt, '--methods', 'zero-out', '--out', ckpt, '--force']),
    /is the input .*ckpt itself/);
  const f = tinymem([...args, '--force']);
  assert.equal(f.code, 0, f.stderr);
  assert.match(fs.readFileSync(path.join(out, 'compare.csv'), 'utf8'), /^method,name,family/,
    '--force replaced compare.csv');
  assert.ok(fs.existsSync(path.join(out, 'compare.json')));
  assert.equal(sha256(path.join(out, 'notes.txt')), before.get('notes.txt'), 'other files in --out are left alone');
  assert.ok(!fs.existsSync(lockOf(out)), 'the lock was released');
});

test('case 3: tinymem run NB --out NB with a failing cell keeps the later cells\u2019 earlier outputs', () => {
  const nb = path.join(ws, 'keep.tinymem');
  writeNotebook(nb, ['step: data\npreset: cpu-math-noise\n', 'step: data\npreset: cpu-math-noise\n',
    'step: data\npreset: cpu-math-noise\ntitle: third\n']);
  const first = tinymem(['run', nb, '--out', nb]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /\[3\/3\] cell 3/);
  const ran = parseNotebook(fs.readFileSync(nb), nb);
  assert.ok(ran.cells[2]!.outputs?.length, 'the third cell has outputs');
  // Break the second cell (keeping every output), run again over the same file.
  const cells = ran.cells.map((c, i) => (i === 1 ? { ...c, source: 'step: mitigate\nmethod: balanced-subnet\nhp:\n  ' +
    'ratio: 7\n' } : c));
  fs.writeFileSync(nb, JSON.stringify({ ...ran, cells }));
  const r = tinymem(['run', nb, '--out', nb]);
  assertRefused(r, /keep\.tinymem: cell 2, line 4, field hp\.ratio: /,
    /later cells were not run; fix the cell and run the notebook again/);
  const after = parseNotebook(fs.readFileSync(nb), nb);
  assert.match(JSON.stringify(after.cells[1]!.outputs), /Cell 2 failed/);
  assert.deepEqual(after.cells[2]!.outputs, ran.cells[2]!.outputs, 'the later cell kept its outputs');
  assert.equal(after.cells[2]!.source, ran.cells[2]!.source);
  fs.rmSync(nb);
});

test('case 4: two concurrent trainings into one --out: exactly one succeeds, the other is refused at once naming the ' +
  'folder and the holder', { timeout: 240_000 }, async () => {
  const out = path.join(root, 'race');
  const args = ['train', ...SHORT(30), '--out', out, '--no-eval'];
  const [a, b] = await Promise.all([tinymemAsync(args), tinymemAsync(args)]);
  const winners = [a, b].filter((r) => r.code === 0);
  assert.equal(winners.length, 1, `exactly one succeeds:\n${a.stderr}\n---\n${b.stderr}`);
  const [win, lose] = a.code === 0 ? [a, b] : [b, a];
  assertRefused(lose,
    /race: is being written by another tinymem \(pid \d+, since [^)]+\); wait for it to finish or choose another --out/);
  assert.ok(lose.ended < win.ended, 'the loser was refused while the winner still trained');
  assert.doesNotMatch(lose.stderr, /epoch/, 'the loser never trained');
  // The folder holds the winner's run whole: the manifest's weights hash is the weights on disk.
  const m = JSON.parse(fs.readFileSync(path.join(out, 'tinymem.json'), 'utf8')) as { contentHashes: Record<string,
    string>; progress: { complete: boolean }; };
  assert.equal(m.contentHashes['model.safetensors']!.replace(/^sha256:/, ''),
    sha256(path.join(out, 'model.safetensors')));
  assert.equal(m.progress.complete, true);
  assert.ok(!fs.existsSync(lockOf(out)), 'the lock was released');
  // A later run without --force is refused by the ordinary rule, with the lock free.
  assertRefused(tinymem(['train', ...SHORT(2), '--out', out]),
    /race: already holds a checkpoint; choose another --out or pass --force to replace it/);
});

test('case 4: a lock held by a live process refuses a writer; a stale lock (its pid gone) is taken over with a note',
  () => {
    const out = path.join(root, 'locked');
    fs.writeFileSync(lockOf(out),
      JSON.stringify({ pid: process.pid, host: os.hostname(), started: '2026-01-01T00:00:00.000Z' }));
    const held = tinymem(['train', ...SHORT(2), '--out', out]);
    assertRefused(held, new RegExp(`locked: is being written by another tinymem \\(pid ${process.pid}, since ` +
    `2026-01-01T00:00:00.000Z\\); wait for it to finish or choose another --out \\(if no tinymem is running, remove ` +
    `.*\\.locked\\.tinymem-lock\\)`));
    assert.ok(!fs.existsSync(out), 'nothing written');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(lockOf(out),
      JSON.stringify({ pid: dead, host: os.hostname(), started: '2026-01-01T00:00:00.000Z' }));
    const r = tinymem(['train', ...SHORT(2), '--out', out, '--no-eval']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`tinymem: note: .*locked: took over a stale lock of pid ${dead} \\(started ` +
    `2026-01-01T00:00:00.000Z\\), which is no longer running`));
    assert.ok(fs.existsSync(path.join(out, 'model.safetensors')));
    assert.ok(!fs.existsSync(lockOf(out)), 'released after the run');
  });

test('case 4: a training ended by SIGTERM or Ctrl-C gives its lock back', { timeout: 120_000 }, async () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const out = path.join(root, `signal-${sig}`);
    const c = spawn(process.execPath, [BIN, 'train', ...SHORT(5000), '--out', out, '--no-eval'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<void>((resolve) => c.on('close', () => resolve()));
    const t0 = Date.now();
    while (!fs.existsSync(lockOf(out)) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fs.existsSync(lockOf(out)), `the running training holds the lock of ${out}:\n${stderr}`);
    assert.equal(JSON.parse(fs.readFileSync(lockOf(out), 'utf8')).pid, c.pid, 'the lock names the holder\u2019s pid');
    // Ctrl-C twice: the first asks the run to stop after its step, the second quits at once.
    c.kill(sig);
    if (sig === 'SIGINT') setTimeout(() => c.kill('SIGINT'), 200);
    await ended;
    assert.ok(!fs.existsSync(lockOf(out)), `the lock was released after ${sig}:\n${stderr}`);
  }
});

test('case 11: mitigate with an unknown method or a bad --out is refused before the base model is measured', () => {
  const before = fingerprint(root);
  const fresh = path.join(root, 'edited');
  const unknown = tinymem(['mitigate', ckpt, '--method', 'no-such-method', '--out', fresh, '--threads', '1']);
  assertRefused(unknown, /unknown method "no-such-method"; known methods: .*balanced-subnet/);
  assert.doesNotMatch(unknown.stderr, /measure|nothing to unlearn/);
  const reg = tinymem(['mitigate', ckpt, '--method', 'spectral-norm', '--out', fresh, '--threads', '1']);
  assertRefused(reg, /"spectral-norm" is a regularizer.*tinymem train --preset NAME --regularizer spectral-norm/);
  assert.doesNotMatch(reg.stderr, /measure/);
  const foreign = path.join(root, 'foreign');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'thesis.tex'), 'mine\n');
  const before2 = fingerprint(root);
  const bad = tinymem(['mitigate', ckpt, '--method', 'balanced-subnet', '--out', foreign, '--force', '--threads', '1']);
  assertRefused(bad, /foreign: exists, is not empty and holds no TinyMem checkpoint; choose another --out/);
  assert.doesNotMatch(bad.stderr, /measure/);
  const file = tinymem(['mitigate', ckpt, '--method', 'balanced-subnet', '--out', path.join(foreign, 'thesis.tex'),
    '--threads', '1']);
  assertRefused(file, /thesis\.tex: exists and is not a folder; choose another --out/);
  const hfUnknown = tinymem(['mitigate', path.join(hf, 'pythia-tiny'), ...HF_ARGS, '--method', 'no-such-method',
    '--out', fresh]);
  assertRefused(hfUnknown, /unknown method "no-such-method"/);
  assert.doesNotMatch(hfUnknown.stderr, /measure/);
  const hfFt = tinymem(['mitigate', path.join(hf, 'pythia-tiny'), ...HF_ARGS, '--method', 'ft-clean', '--out', fresh]);
  assertRefused(hfFt, /"ft-clean".*not an unlearning method/);
  assert.doesNotMatch(hfFt.stderr, /measure/);
  assertUnchanged(root, before2, true);
  assert.ok(!fs.existsSync(fresh));
  // The control: a valid method and a fresh --out do reach the base evaluation (which these probes never did).
  const control = tinymem(['mitigate', ckpt, '--method', 'balanced-subnet', '--out', fresh, '--threads', '1']);
  assert.match(control.stderr, /measure \d+/);
  fs.rmSync(fresh, { recursive: true, force: true });
  fs.rmSync(foreign, { recursive: true });
  assertUnchanged(root, before, true);
});

test('case 11: run --out / --html into a missing or read-only folder, or onto a folder, is refused before any cell ' +
  'runs, naming the user\u2019s path', () => {
  const nb = path.join(ws, 'report.tinymem');
  writeNotebook(nb, ['step: data\npreset: cpu-math-noise\n']);
  const before = fingerprint(root);
  let ro = '/sys';
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) {
    ro = path.join(root, 'readonly');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
  }
  const probes: [string[], RegExp][] = [
    [['--out', path.join(root, 'missing', 'x.tinymem')],
      /missing\/x\.tinymem: --out: the folder .*missing does not exist; create it or choose another --out/],
    [['--html', path.join(root, 'missing', 'r.html')], /missing\/r\.html: --html: the folder .*missing does not exist/],
    [['--out', path.join(ro, 'x.tinymem')], /x\.tinymem: --out: the folder .* is not writable; choose another --out/],
    [['--html', path.join(ro, 'r.html')], /r\.html: --html: the folder .* is not writable; choose another --html/],
    [['--html', ws], /ws: --html names a folder; give a file path/],
    [['--out', path.join(nb, 'x.tinymem')], /report\.tinymem\/x\.tinymem: --out: .*report\.tinymem is not a folder/],
  ];
  try {
    for (const [flags, why] of probes) {
      const r = tinymem(['run', nb, ...flags]);
      assertRefused(r, why);
      assert.doesNotMatch(r.stderr, /cell 1|\.tmp/,
        `refused before any cell ran, naming no temporary file (${flags.join(' ')})`);
    }
  } finally {
    if (!asRoot) fs.chmodSync(ro, 0o755);
  }
  if (!asRoot) fs.rmSync(ro, { recursive: true });
  assertUnchanged(root, before, true);
  fs.rmSync(nb);
});
