// The tinymem CLI as a user runs it: every bad-input case gets one clear line and a non-zero exit without touching
// what is on disk; a tiny training run writes a loadable checkpoint; Ctrl-C leaves a valid, incomplete checkpoint.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../src/engine/model/checkpoint';

const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// --set is variadic: further key=value words may follow TINY.
const TINY = ['--threads', '1', '--preset', 'cpu-math-noise', '--set', 'model.n_layer=1', 'model.n_embd=16',
  'model.n_head=2', 'data.numMain=300',
  'data.numExtra=40', 'data.numTest=20', 'data.numNoise=20', 'train.batchSize=32'];

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function failsWith(args: string[], pattern: RegExp): void {
  const r = cli(args);
  assert.notEqual(r.code, 0, `expected a failure for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.match(r.stderr, pattern);
  assert.ok(lines.length <= 2, `one clear line, got:\n${r.stderr}`);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace:\n${r.stderr}`);
}

const trained = path.join(tmp, 'trained');

test('train a tiny preset, then eval and score it', { timeout: 180_000 }, () => {
  const r = cli(['train', ...TINY, 'train.epochs=2', 'train.checkpointEvery=1', '--out', trained]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /trained: 2\.00 epochs/);
  assert.match(r.stdout, /Memorization %/);
  const ck = loadCheckpoint(trained, { verifyHash: true });
  const m = ck.manifest as { progress: { complete: boolean; epochs: number }; lossHistory: unknown[];
    metricHistory: unknown[]; data: { kind: string }; };
  assert.equal(m.progress.complete, true);
  assert.equal(m.lossHistory.length, 2);
  assert.equal(m.metricHistory.length, 1);
  assert.equal(m.data.kind, 'tinymem');
  assert.equal(ck.config.n_layer, 1);

  const e = cli(['eval', trained, '--json', '--threads', '1']);
  assert.equal(e.code, 0, e.stderr);
  const res = JSON.parse(e.stdout) as { metrics: { id: string; value: number | null }[] };
  assert.ok(res.metrics.some((x) => x.id === 'memorization'));

  const seqFile = path.join(tmp, 'seqs.json');
  fs.writeFileSync(seqFile, JSON.stringify([[10, 1, 2, 12, 3, 4, 12, 5], [10, 7, 12, 1, 4, 12, 2, 1, 12, 2, 8]]));
  const s = cli(['score', trained, '--tokens', seqFile, '--generate', '5', '--prompt-len', '4', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const out = JSON.parse(s.stdout) as { loss: number[]; greedy: number[][] };
  assert.equal(out.loss.length, 2);
  assert.ok(out.loss.every(Number.isFinite));
  assert.deepEqual(out.greedy.map((g) => g.length), [5, 5]);
});

test('bad input: one line, non-zero exit, nothing on disk damaged', { timeout: 180_000 }, () => {
  failsWith(['train', '--preset', 'no-such', '--out', path.join(tmp, 'x')], /unknown preset "no-such"/);
  failsWith(['train', ...TINY, 'model.n_lyer=2', '--out', path.join(tmp, 'x')], /model\.n_lyer/);
  failsWith(['train', ...TINY, 'train.lr=-1', '--out', path.join(tmp, 'x')], /train\.lr/);
  failsWith(['train', '--preset', 'cpu-math-noise', '--set', 'epochs', '--out', path.join(tmp, 'x')],
    /expected key=value/);
  failsWith(['train', '--preset', 'cpu-math-noise'], /required option '--out <dir>'/);
  failsWith(['train', '--threads', 'zero', ...TINY.slice(2), '--out', path.join(tmp, 'x')],
    /--threads must be a positive integer/);

  // Existing folders: a checkpoint is not replaced without --force; a foreign folder never is.
  const before = fs.readFileSync(path.join(trained, 'model.safetensors'));
  failsWith(['train', ...TINY, '--out', trained], /already holds a checkpoint; choose another --out or pass --force/);
  assert.deepEqual(fs.readFileSync(path.join(trained, 'model.safetensors')), before);
  const foreign = path.join(tmp, 'foreign');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'keep me');
  failsWith(['train', ...TINY, '--out', foreign, '--force'], /holds no TinyMem checkpoint/);
  assert.equal(fs.readFileSync(path.join(foreign, 'notes.txt'), 'utf8'), 'keep me');
  const aFile = path.join(tmp, 'a-file');
  fs.writeFileSync(aFile, 'x');
  failsWith(['train', ...TINY, '--out', path.join(aFile, 'sub')], /a-file/);

  // Missing and corrupt checkpoints.
  failsWith(['eval', path.join(tmp, 'missing')], /missing: checkpoint folder not found/);
  const corrupt = path.join(tmp, 'corrupt');
  fs.cpSync(trained, corrupt, { recursive: true });
  const w = path.join(corrupt, 'model.safetensors');
  fs.truncateSync(w, fs.statSync(w).size - 100);
  failsWith(['eval', corrupt], /model\.safetensors/);
  failsWith(['score', corrupt, '--tokens', path.join(tmp, 'seqs.json')], /model\.safetensors/);

  // Token files.
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, '[[1, 2, 3');
  failsWith(['score', trained, '--tokens', bad], /bad\.json: is not valid JSON/);
  fs.writeFileSync(bad, '[[1, 2, 99]]');
  failsWith(['score', trained, '--tokens', bad],
    /sequence 0, position 2: 99 is not a token id of this model \(0 … 13\)/);
  failsWith(['score', trained, '--tokens', path.join(tmp, 'none.json')], /none\.json: cannot be read/);
  const ctx = loadCheckpoint(trained).config.n_positions;
  failsWith(['score', trained, '--tokens', bad, '--generate', String(ctx)],
    new RegExp(`exceeds the model's context of ${ctx} tokens`));
});

test('Ctrl-C stops after the current step and leaves a valid checkpoint marked incomplete', { timeout: 180_000 },
  async () => {
    const out = path.join(tmp, 'interrupted');
    const child = spawn(process.execPath, [BIN, 'train', ...TINY, 'train.epochs=200', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Wait until training has made progress, then interrupt.
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (/train \d+/.test(stderr)) {
          clearInterval(t);
          child.kill('SIGINT');
          resolve();
        }
      }, 100);
      child.on('exit', () => {
        clearInterval(t);
        reject(new Error(`exited before training started:\n${stderr}`));
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 130, stderr);
    const ck = loadCheckpoint(out, { verifyHash: true });
    const m = ck.manifest as { progress: { complete: boolean; stopped: boolean; steps: number } };
    assert.equal(m.progress.complete, false);
    assert.equal(m.progress.stopped, true);
    assert.ok(m.progress.steps > 0 && m.progress.steps < 200 * 12);
  });
