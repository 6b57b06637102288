// Issue 10, "Checkpoints that are always whole" (cases 5, 6, 7) and the messages about tinymem.json and write
// errors: the CLI, `tinymem run` and the engine process as a user runs them, with real faults (a file-size limit
// set with `ulimit -f`, signals, folders left as a killed save leaves them). Every refused or failed run leaves the
// files that were there byte for byte unchanged.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { EngineClient } from '../src/extension/engineClient';
import { loadCheckpoint } from '../src/engine/model/checkpoint';
import { readSafetensors, writeSafetensors } from '../src/engine/model/safetensors';
import { isSaveLeftover, pidAlive } from '../src/shared/saveLeftovers';
import { asWriteError } from '../src/shared/writeError';
import { BIN, type CliResult, TINY_TRAIN, assertRefused, assertUnchanged, fingerprint, tempDir,
  tinymem } from './helpers/userCli';

const ROOT = path.resolve(__dirname, '..');
const tmp = tempDir('rel-ckpt');
/** Training of a few seconds: 2 epochs of the tiny preset, a periodic checkpoint after each. */
const QUICK = [...TINY_TRAIN, 'train.epochs=2', 'train.checkpointEvery=1'];
const A = path.join(tmp, 'fixture-a');
const B = path.join(tmp, 'fixture-b');

/** A copy of a fixture checkpoint in a fresh folder of its own. */
function copyOf(src: string, name: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(tmp, `${name}-`)), name);
  fs.cpSync(src, dir, { recursive: true, preserveTimestamps: true });
  return dir;
}

/** `tinymem ARGS` with the file-size limit `ulimit -f KB`: a write past it fails with EFBIG, a real write error. */
function tinymemLimited(kb: number, args: readonly string[]): CliResult {
  const r = spawnSync('bash', ['-c', `ulimit -f ${kb} && exec "$0" "$@"`, process.execPath, BIN, ...args],
    { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Starts `tinymem ARGS`, sends `signal` once stderr matches `when`, and resolves with the result. */
function signalled(args: readonly string[], when: RegExp, signal: NodeJS.Signals): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      clearTimeout(limit);
      resolve({ code, signal: sig, stdout, stderr });
    });
  });
}

/** A process id that no process has now (for leftovers of a killed save). */
function deadPid(): number {
  for (let pid = 4_000_000; pid > 1000; pid -= 7919) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free process id found');
}

const manifestOf = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'tinymem.json'), 'utf8')) as Record<string, unknown> & {
    progress: { complete: boolean; stopped: boolean; epochs: number };
    contentHashes: Record<string, string>;
    fileStats: Record<string, unknown>;
  };
const writeManifest = (dir: string, m: unknown) =>
  fs.writeFileSync(path.join(dir, 'tinymem.json'), JSON.stringify(m, null, 2));
const leftoversIn = (dir: string) => fs.readdirSync(dir).filter(isSaveLeftover);

before(() => {
  for (const [dir, seed] of [[A, '0'], [B, '1']] as const) {
    const r = tinymem(['train', ...QUICK, `seed=${seed}`, '--no-eval', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
  }
});

test('case 5: a write error during a periodic checkpoint (file-size limit, EFBIG) ends training cleanly: exit 1, the ' +
  'path named, the previous checkpoint unchanged', () => {
  const out = copyOf(A, 'ckpt');
  const parent = path.dirname(out);
  const before = fingerprint(parent);
  // 16 KB: config.json and tinymem.json fit, model.safetensors (23 KB) does not.
  const r = tinymemLimited(16, ['train', ...QUICK, '--no-eval', '--force', '--out', out]);
  assertRefused(r, new RegExp(`${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/model\\.safetensors: cannot be written: ` +
    `.*EFBIG`), /previous contents are unchanged/);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stderr, /terminate called|Napi::Error|Aborted/);
  assert.match(r.stderr, /epoch/, 'training had started when the checkpoint failed');
  assertUnchanged(parent, before, true);
  assert.deepEqual(leftoversIn(parent), [], 'the failed save removed its temporary folder');
  assert.equal(loadCheckpoint(out, { verifyHash: true }).manifest!.seed, 0);
});

test('case 5: inside tinymem run, a train cell whose periodic checkpoint fails gets its error output, and the ' +
  'executed notebook is written', () => {
  const work = fs.mkdtempSync(path.join(tmp, 'nb-'));
  const out = path.join(work, 'runs', 'model');
  fs.mkdirSync(path.dirname(out));
  fs.cpSync(A, out, { recursive: true, preserveTimestamps: true });
  const set = QUICK.slice(QUICK.indexOf('--set') + 1).map((kv) => kv.replace('=', ': ')).join(', ');
  const cells = [
    { kind: 'markdown', source: '# write error probe' },
    { kind: 'step', source: `step: train\npreset: cpu-math-noise\nout: runs/model\nforce: true\nevaluate: ` +
      `false\nset: { ${set} }\n` },
  ];
  const nbFile = path.join(work, 'probe.tinymem');
  fs.writeFileSync(nbFile, JSON.stringify({ format: 'tinymem-notebook', version: 1, cells }));
  const before = fingerprint(work);
  const executed = path.join(work, 'executed.tinymem');
  const r = tinymemLimited(16, ['run', nbFile, '--threads', '1', '--out', executed]);
  assertRefused(r, /probe\.tinymem: cell 2: .*runs\/model\/model\.safetensors: cannot be written: .*EFBIG/);
  assert.doesNotMatch(r.stderr, /terminate called|Napi::Error/);
  assertUnchanged(work, before);
  const nb = JSON.parse(fs.readFileSync(executed, 'utf8')) as {
    cells: { outputs?: { items: { data: unknown }[] }[] }[]; };
  assert.match(JSON.stringify(nb.cells[1]!.outputs), /model\.safetensors: cannot be written: .*EFBIG/,
    'the failing cell holds its error');
  assert.deepEqual(leftoversIn(path.join(work, 'runs')), []);
});

test('case 6: new weights with the old manifest (a save killed between two renames) are refused on load, ' +
  'naming the file', () => {
  const dir = copyOf(A, 'mixed');
  fs.copyFileSync(path.join(B, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const tokens = path.join(path.dirname(dir), 'tokens.json');
  fs.writeFileSync(tokens, JSON.stringify([[1, 2, 3, 4]]));
  const before = fingerprint(path.dirname(dir));
  const weights = path.join(dir, 'model.safetensors').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const args of [['eval', dir], ['score', dir, '--tokens', tokens],
    ['mitigate', dir, '--method', 'balanced-subnet', '--out', `${dir}-edited`]]) {
    const r = tinymem(args);
    assertRefused(r, new RegExp(`${weights}: content hash sha256:\\w+ differs from sha256:\\w+ recorded in ` +
      `tinymem\\.json: it was changed after the checkpoint was saved .*run the step that wrote it again`));
  }
  assertUnchanged(path.dirname(dir), before, true);
});

test('case 6: a folder missing a file its manifest records is reported as incomplete', () => {
  const dir = copyOf(A, 'partial');
  fs.rmSync(path.join(dir, 'config.json'));
  const before = fingerprint(dir);
  assertRefused(tinymem(['eval', dir]),
    new RegExp(/config\.json: is missing, but tinymem\.json records it: the folder is incomplete /.source +
      /.*run the step that wrote the checkpoint again/.source));
  assertUnchanged(dir, before, true);
});

test('case 6: a folder killed between its swap renames is reported with where the previous checkpoint is; that copy ' +
  'is kept until a new save there succeeds', () => {
  // The state a save leaves when killed after moving the old folder aside and before renaming the new one in.
  const parent = fs.mkdtempSync(path.join(tmp, 'swap-'));
  const moved = path.join(parent, `.model.old-${deadPid()}-0badc0de`);
  fs.cpSync(A, moved, { recursive: true, preserveTimestamps: true });
  const before = fingerprint(parent);
  const target = path.join(parent, 'model');
  const r = tinymem(['eval', target]);
  assertRefused(r,
    new RegExp(/model: checkpoint folder not found; a save into it was interrupted: /.source +
      /the previous checkpoint is in .*\.model\.old-\d+-0badc0de, rename it back to model/.source));
  assertUnchanged(parent, before, true);
  // A save into the missing folder that fails keeps the only copy of the previous checkpoint.
  assertRefused(tinymemLimited(16, ['train', ...QUICK, '--no-eval', '--out', target]),
    /model\.safetensors: cannot be written/);
  assertUnchanged(parent, before, true);
  // Once a new checkpoint is saved there (what the interrupted save was doing), the moved-aside copy is removed.
  assert.equal(tinymem(['train', ...QUICK, '--no-eval', '--out', target]).code, 0);
  assert.equal(fs.existsSync(moved), false);
  assert.deepEqual(fs.readdirSync(parent), ['model']);
  loadCheckpoint(target, { verifyHash: true });
});

test('case 6: a file over 64 MiB recorded in the manifest loads; changed in place (a new mtime, the same size), it ' +
  'is re-hashed and refused', () => {
  const dir = copyOf(A, 'large');
  const big = path.join(dir, 'big.bin');
  const bytes = Buffer.alloc(65 * 1024 * 1024, 1);
  fs.writeFileSync(big, bytes);
  const m = manifestOf(dir);
  m.contentHashes['big.bin'] = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
  m.fileStats['big.bin'] = { bytes: bytes.length, mtimeMs: fs.statSync(big).mtimeMs };
  writeManifest(dir, m);
  const ok = tinymem(['eval', dir, '--threads', '1']);
  assert.equal(ok.code, 0, ok.stderr);
  // One byte changed in place: same size, a new mtime, so the file is hashed and the change found.
  const fd = fs.openSync(big, 'r+');
  fs.writeSync(fd, Buffer.from([2]), 0, 1, 12345);
  fs.closeSync(fd);
  fs.utimesSync(big, new Date(), new Date(Date.now() + 5000));
  const before = fingerprint(dir);
  assertRefused(tinymem(['eval', dir]),
    /big\.bin: content hash sha256:\w+ differs from sha256:\w+ recorded in tinymem\.json/);
  assertUnchanged(dir, before, true);
});

test('case 6: a manifest of a future version (99) is refused naming the file, the version and what to do', () => {
  const dir = copyOf(A, 'future');
  writeManifest(dir, { ...manifestOf(dir), version: 99 });
  const tokens = path.join(path.dirname(dir), 'tokens.json');
  fs.writeFileSync(tokens, JSON.stringify([[1, 2, 3, 4]]));
  const before = fingerprint(path.dirname(dir));
  const file = path.join(dir, 'tinymem.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const args of [['eval', dir], ['score', dir, '--tokens', tokens],
    ['mitigate', dir, '--method', 'balanced-subnet', '--out', `${dir}-edited`],
    ['compare', dir, '--methods', 'ft-clean']]) {
    const r = tinymem(args);
    assertRefused(r, new RegExp(`${file}: is manifest version 99, newer than this tinymem reads \\(version 1\\); ` +
      `update tinymem`));
  }
  assertUnchanged(path.dirname(dir), before, true);
});

test('case 6: NaN and Inf weights are evaluated with a warning naming the file and the tensors (eval, score, a ' +
  'notebook step)', () => {
  const dir = copyOf(A, 'nan');
  const weights = path.join(dir, 'model.safetensors');
  const st = readSafetensors(weights);
  const tensors = Object.fromEntries(
    [...st.tensors].map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape, data: t.data }]));
  const bias = tensors['transformer.ln_f.bias']!.data as Float32Array;
  bias[0] = Number.NaN;
  bias[1] = Number.NaN;
  (tensors['transformer.h.0.mlp.c_fc.weight']!.data as Float32Array)[3] = Number.POSITIVE_INFINITY;
  writeSafetensors(weights, tensors, st.metadata);
  // The hand edit is accepted the way the refusal message says: its entry removed from contentHashes.
  const m = manifestOf(dir);
  delete m.contentHashes['model.safetensors'];
  writeManifest(dir, m);
  const warning = new RegExp(/warning: .*model\.safetensors: 2 tensor\(s\) hold NaN or Inf values: /.source +
    /"transformer\.h\.0\.mlp\.c_fc\.weight" \(1 Inf\), "transformer\.ln_f\.bias" \(2 NaN\); /.source +
    /metrics computed from these weights are not meaningful/.source);

  const e = tinymem(['eval', dir, '--threads', '1']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, warning);
  const tokens = path.join(path.dirname(dir), 'tokens.json');
  fs.writeFileSync(tokens, JSON.stringify([[1, 2, 3, 4]]));
  const s = tinymem(['score', dir, '--tokens', tokens, '--threads', '1']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, warning);

  const nbFile = path.join(path.dirname(dir), 'nan.tinymem');
  fs.writeFileSync(nbFile,
    JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: [{ kind: 'step', source: `step: ` +
    `memorization\ncheckpoint: ${path.basename(dir)}\n` }] }));
  const executed = path.join(path.dirname(dir), 'nan-run.tinymem');
  const r = tinymem(['run', nbFile, '--threads', '1', '--out', executed]);
  assert.equal(r.code, 0, r.stderr);
  const nb = JSON.parse(fs.readFileSync(executed, 'utf8')) as { cells: { outputs: unknown[] }[] };
  assert.match(JSON.stringify(nb.cells[0]!.outputs[0]), /Warning:.*2 tensor\(s\) hold NaN or Inf values/,
    'the warning is the cell\'s first output');

  // A model without NaN or Inf gets no warning.
  const clean = tinymem(['eval', A, '--threads', '1']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.doesNotMatch(clean.stderr, /warning/);
});

test('case 7: SIGTERM stops tinymem train after the current step and leaves a valid checkpoint marked incomplete',
  async () => {
    const out = path.join(fs.mkdtempSync(path.join(tmp, 'term-')), 'model');
    const r = await signalled(['train', ...TINY_TRAIN, 'train.epochs=500', 'train.checkpointEvery=1000', '--out', out],
      /train \d+\/\d+/, 'SIGTERM');
    assert.equal(r.signal, null, `ended by ${r.signal}, not a clean stop:\n${r.stderr}`);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /SIGTERM: stopping after the current step/);
    assert.match(r.stdout, /stopped: .* steps .*checkpoint /);
    const m = manifestOf(out);
    assert.deepEqual([m.progress.complete, m.progress.stopped], [false, true]);
    assert.ok(m.progress.epochs < 500);
    loadCheckpoint(out, { verifyHash: true });
  });

test('case 7: SIGTERM stops tinymem run: the train cell stops with a valid checkpoint and the executed notebook is ' +
  'written', async () => {
  const work = fs.mkdtempSync(path.join(tmp, 'term-run-'));
  const set = TINY_TRAIN.slice(TINY_TRAIN.indexOf('--set') + 1).map((kv) => kv.replace('=', ': ')).join(', ');
  const nbFile = path.join(work, 'long.tinymem');
  fs.writeFileSync(nbFile,
    JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: [{ kind: 'step', source: `step: train\npreset: ` +
    `cpu-math-noise\nout: runs/long\nevaluate: false\nset: { ${set}, train.epochs: 500 }\n` }] }));
  const executed = path.join(work, 'executed.tinymem');
  const r = await signalled(['run', nbFile, '--threads', '1', '--out', executed], /epoch \d/, 'SIGTERM');
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /SIGTERM: stopping the running cell/);
  assert.match(fs.readFileSync(executed, 'utf8'), /Stopped after \d+ steps/);
  const m = manifestOf(path.join(work, 'runs', 'long'));
  assert.deepEqual([m.progress.complete, m.progress.stopped], [false, true]);
  loadCheckpoint(path.join(work, 'runs', 'long'), { verifyHash: true });
});

test('case 7: SIGTERM to the engine process stops a running train cell, saves its checkpoint and then exits',
  { timeout: 120_000 }, async () => {
    const work = fs.mkdtempSync(path.join(tmp, 'term-engine-'));
    const engine = new EngineClient(
      { modulePath: path.join(ROOT, 'src/worker/engineProcess.ts'), execArgv: ['--import', 'tsx'] });
    try {
      const source = 'step: train\npreset: cpu-math-noise\nout: runs/engine\nevaluate: false\n' +
        'set: { model.n_layer: 1, model.n_embd: 16, model.n_head: 2, data.numMain: 40, data.numExtra: 10, ' +
        'data.numTest: 10, data.numNoise: 10, train.batchSize: 8, train.epochs: 5000 }\n';
      let sent = false;
      const h = engine.run({ source, baseDir: work, state: {}, settings: { providers: ['cpu'], threads: 1, seed: 0 } },
        (p) => {
          if (!sent && p.outputs?.length) {
            sent = true;
            process.kill(engine.pid!, 'SIGTERM');
          }
        });
      const pid = engine.pid!;
      const o = await h.outcome;
      assert.equal(o.kind, 'done', JSON.stringify(o));
      assert.equal(o.kind === 'done' && o.stopped, true);
      const m = manifestOf(path.join(work, 'runs', 'engine'));
      assert.deepEqual([m.progress.complete, m.progress.stopped], [false, true]);
      loadCheckpoint(path.join(work, 'runs', 'engine'), { verifyHash: true });
      // The process exits once its cells have stopped.
      for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((res) => setTimeout(res, 50));
      assert.equal(pidAlive(pid), false, 'the engine process exited after SIGTERM');
    } finally {
      engine.dispose();
    }
  });

/** A math checkpoint's files: the model, its manifest and its tokenizer. */
const CHECKPOINT_LISTING = ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tinymem.json',
  'tokenizer.json', 'tokenizer_config.json'];

test('case 7: leftovers of killed saves are removed by the next save next to them, live ones and user files are ' +
  'kept, and their names are recognised (the workspace checkpoint list skips them)', () => {
  const out = copyOf(A, 'model');
  const parent = path.dirname(out);
  const dead = deadPid();
  const deadTmp = path.join(parent, `.model.tmp-${dead}-0123abcd`);
  const deadOld = path.join(parent, `.model.old-${dead}-4567abcd`);
  const siblingTmp = path.join(parent, `.other.tmp-${dead}-89abcdef`);
  const liveTmp = path.join(parent, `.model.tmp-${process.pid}-00000000`);
  const innerTmp = path.join(out, `.tinymem.json.tmp-${dead}-deadbeef`);
  for (const d of [deadTmp, deadOld, siblingTmp, liveTmp]) fs.cpSync(A, d, { recursive: true });
  fs.writeFileSync(innerTmp, '{"half": ');
  const user = path.join(parent, '.model.tmp-notes');
  fs.writeFileSync(user, 'a file of the user with a similar name');
  // An earlier version's staging folder (mkdtemp, no process id), from before this run: removed. One that holds a
  // file that is not a checkpoint's is kept.
  const legacy = path.join(parent, '.model.tmp-AbC123');
  fs.cpSync(A, legacy, { recursive: true });
  const legacyUser = path.join(parent, '.model.tmp-XyZ789');
  fs.mkdirSync(legacyUser);
  fs.writeFileSync(path.join(legacyUser, 'notes.txt'), 'mine');
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const d of [legacy, legacyUser]) fs.utimesSync(d, hourAgo, hourAgo);
  for (const d of [deadTmp, deadOld, siblingTmp, liveTmp, innerTmp]) assert.ok(isSaveLeftover(path.basename(d)), d);
  assert.equal(isSaveLeftover(path.basename(user)), false);

  const r = tinymem(['train', ...QUICK, '--no-eval', '--force', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  for (const d of [deadTmp, deadOld, siblingTmp, innerTmp, legacy]) assert.equal(fs.existsSync(d), false,
    `${d} was removed`);
  assert.equal(fs.readFileSync(path.join(legacyUser, 'notes.txt'), 'utf8'), 'mine');
  assert.ok(fs.existsSync(liveTmp), 'the leftover of a live process is kept');
  assert.equal(fs.readFileSync(user, 'utf8'), 'a file of the user with a similar name');
  assert.deepEqual(fs.readdirSync(out).sort(), CHECKPOINT_LISTING);
});

test('case 7: train --force into an edited folder leaves no masks.safetensors or other file of the old content', () => {
  const out = copyOf(A, 'edited');
  fs.writeFileSync(path.join(out, 'masks.safetensors'), 'old masks');
  fs.writeFileSync(path.join(out, 'tokenizer.json'), '{}');
  const r = tinymem(['train', ...QUICK, '--no-eval', '--force', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), CHECKPOINT_LISTING);
  assert.deepEqual(leftoversIn(path.dirname(out)), []);
  loadCheckpoint(out, { verifyHash: true });
});

test('tinymem.json problems name the file and the field', () => {
  const dir = copyOf(A, 'bad-manifest');
  const m = manifestOf(dir) as unknown as { data: { options: Record<string, unknown> } };
  m.data.options.numNoise = -5;
  writeManifest(dir, m);
  let before = fingerprint(dir);
  const file = path.join(dir, 'tinymem.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assertRefused(tinymem(['eval', dir]), new RegExp(`${file}: data\\.options\\.numNoise: must be an integer .*got -5; ` +
    `fix the "data" field of tinymem\\.json`));
  assertRefused(tinymem(['mitigate', dir, '--method', 'balanced-subnet', '--out', `${dir}-x`]),
    new RegExp(`${file}: data\\.options\\.numNoise`));
  assertUnchanged(dir, before, true);
  writeManifest(dir, [1]);
  before = fingerprint(dir);
  assertRefused(tinymem(['eval', dir]),
    new RegExp(`${file}: must be a JSON object \\(the run manifest\\), got an array`));
  assertUnchanged(dir, before, true);
});

test('a full disk (ENOSPC) or another write error is reported naming the file the user asked for, ' +
  'not a temporary name', () => {
  const target = path.join(tmp, 'some', 'model.safetensors');
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const e = asWriteError(target, enospc, 'the folder\'s previous contents are unchanged') as Error;
  assert.equal(e.message, `${target}: cannot be written: the disk is full (ENOSPC); free some space, or choose ` +
    `another folder; the folder's previous contents are unchanged`);
  const eperm = asWriteError(target,
    Object.assign(new Error('EPERM: operation not permitted, open'), { code: 'EPERM' })) as Error;
  assert.match(eperm.message, /^.*model\.safetensors: cannot be written: the operation is not permitted \(EPERM\)/);
  const bug = new TypeError('not a file-system error');
  assert.equal(asWriteError(target, bug), bug);
});

test('ENOSPC: training over a checkpoint on a full disk fails naming the checkpoint, and the previous checkpoint ' +
  'stays whole', () => {
  // A real full disk: a 512 KB tmpfs mounted in a private mount namespace (as root, or in a user namespace), holding
  // a checkpoint trained there; then the rest of it is filled and the same training is repeated with --force.
  const mnt = fs.mkdtempSync(path.join(tmp, 'small-disk-'));
  const out = fs.mkdtempSync(path.join(tmp, 'small-disk-out-'));
  const train = (extra: string) => `"${process.execPath}" "${BIN}" train ` +
    `${TINY_TRAIN.map((a) => `'${a}'`).join(' ')} train.epochs=1 --no-eval ${extra} --out "$M/ck"`;
  const script = [
    'set -e', 'M="$1"; O="$2"',
    'mount -t tmpfs -o size=512k tmpfs "$M"',
    `${train('')} > "$O/first.log" 2>&1`,
    '(cd "$M/ck" && sha256sum -- * | sort) > "$O/before.txt"',
    'avail=$(df --output=avail -B1 "$M" | tail -n 1)',
    // Two pages left: the output lock and the save's first small file fit, the weights do not.
    'head -c "$((avail - 8192))" /dev/zero > "$M/filler"',
    'set +e',
    `${train('--force')} > "$O/stdout.txt" 2> "$O/stderr.txt"; echo $? > "$O/rc"`,
    '(cd "$M/ck" && sha256sum -- * | sort) > "$O/after.txt"',
    'ls -a "$M" > "$O/listing.txt"',
    // Completely full: the run fails taking its output lock, before any work.
    'avail=$(df --output=avail -B1 "$M" | tail -n 1); head -c "$avail" /dev/zero > "$M/filler2"',
    `${train('--force')} > /dev/null 2> "$O/stderr-full.txt"; echo $? > "$O/rc-full"`,
    '(cd "$M/ck" && sha256sum -- * | sort) > "$O/after-full.txt"',
  ].join('\n');
  const ns = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
  const r = spawnSync('unshare', [...ns, 'bash', '-c', script, 'bash', mnt, out],
    { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `the small-disk set-up ran (unshare ${ns.join(' ')} and mount need root or user ` +
    `namespaces): ${r.stderr}`);
  const rc = Number(fs.readFileSync(path.join(out, 'rc'), 'utf8'));
  const stderr = fs.readFileSync(path.join(out, 'stderr.txt'), 'utf8');
  assertRefused({ code: rc, signal: null, stdout: '', stderr },
    /ck[\\/][^\s:]*: cannot be written: the disk is full \(ENOSPC\); free some space/);
  assert.doesNotMatch(stderr, /\.ck\.tmp-|\.tmp-\d/, 'the message names the checkpoint, not a hidden temporary name');
  const before = fs.readFileSync(path.join(out, 'before.txt'), 'utf8');
  assert.ok(before.includes('model.safetensors') && before.includes('tinymem.json'), before);
  assert.equal(fs.readFileSync(path.join(out, 'after.txt'), 'utf8'), before,
    'the previous checkpoint is byte for byte unchanged');
  const leftovers = fs.readFileSync(path.join(out, 'listing.txt'), 'utf8').split('\n').filter((n) => isSaveLeftover(n));
  assert.deepEqual(leftovers, [], 'the failed save removed its temporary folder');
  const full = fs.readFileSync(path.join(out, 'stderr-full.txt'), 'utf8');
  assertRefused({ code: Number(fs.readFileSync(path.join(out, 'rc-full'), 'utf8')), signal: null, stdout: '',
    stderr: full },
  /ck: cannot be written: the disk is full \(ENOSPC\); free some space, or choose another folder; nothing was written/);
  assert.equal(fs.readFileSync(path.join(out, 'after-full.txt'), 'utf8'), before);
});

test('a training run leaves nothing of ONNX Runtime in the temp folder ' +
  '(its telemetry is off in the training worker too)', () => {
  const own = fs.mkdtempSync(path.join(tmp, 'own-tmp-'));
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: own };
  delete env.ORT_DISABLE_TELEMETRY;
  const r = tinymem(['train', ...TINY_TRAIN, 'train.epochs=1', '--out', path.join(own, 'ck')], { env });
  assert.equal(r.code, 0, r.stderr);
  // tsx-0 is the TypeScript loader's cache of a development checkout; the bundled CLI has none.
  assert.deepEqual(fs.readdirSync(own).filter((n) => n !== 'ck' && n !== 'tsx-0'), []);
});
