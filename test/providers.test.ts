// Execution providers, honestly reported: only this platform's providers are accepted (naming the flag or setting);
// one that cannot start says what is missing and how to install it, once per runtime, and is not tried again for
// each new session shape; listed alone it fails with that reason. CUDA is listed on linux-x64 while its provider
// libraries are absent here (onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=skip): a real failure. Other
// failures (WebGPU without an adapter) are faked where the machine cannot give them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { F, Graph, compileGraph } from '../src/engine/graph/index';
import { collectWarnings } from '../src/engine/model/loadWarnings';
import { loadOrt } from '../src/engine/runtime/ort';
import { checkProviders, explainProviderFailure, ortBinaryDir, platformProviders,
} from '../src/engine/runtime/providers';
import { Runtime } from '../src/engine/runtime/session';
import { UserError } from '../src/shared/userError';
import { allCommands, program } from '../src/cli/main';
import { runCellSource } from '../src/engine/notebook/runCell';
import { EngineClient } from '../src/extension/engineClient';

const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-providers-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
/** Whether this machine has the CUDA provider's libraries (it has not on the project's CI and dev machines). */
const cudaInstalled = fs.existsSync(path.join(ortBinaryDir() ?? '', 'libonnxruntime_providers_cuda.so'));

function model(n: number) {
  const g = new Graph();
  const x = g.input('x', 'float32', [n]);
  return compileGraph(g, { y: F.mul(x, 2) });
}

/** Replaces onnxruntime-node's session creation for the test's length, counting the attempts per provider and
 *  failing the providers in `fail` with their message. */
function fakeCreate(fail: Record<string, string>): { tries: Map<string, number>; restore(): void } {
  const ort = loadOrt();
  const real = ort.InferenceSession.create;
  const tries = new Map<string, number>();
  ort.InferenceSession.create = (async (bytes: Uint8Array, opts: { executionProviders: string[] }) => {
    const p = opts.executionProviders[0]!;
    tries.set(p, (tries.get(p) ?? 0) + 1);
    if (fail[p]) throw new Error(fail[p]);
    return real.call(ort.InferenceSession, bytes, { ...opts, executionProviders: ['cpu'] });
  }) as unknown as typeof real;
  return { tries, restore: () => void (ort.InferenceSession.create = real) };
}

test('the provider list is checked against this platform\'s providers, naming the field', () => {
  const have = platformProviders();
  assert.ok(have.includes('cpu'));
  if (linuxX64) assert.deepEqual(have, ['cpu', 'webgpu', 'cuda', 'tensorrt']);
  assert.deepEqual(checkProviders(' webgpu , cpu', '--providers'), ['webgpu', 'cpu']);
  assert.deepEqual(checkProviders(['cpu'], 'tinymem.executionProviders'), ['cpu']);
  const missing = ['dml', 'coreml', 'cuda'].find((p) => !have.includes(p))!;
  assert.throws(() => checkProviders(`${missing},cpu`, '--providers'), (e: Error) => e instanceof UserError
    && e.message.startsWith(`--providers: "${missing}" is not an execution provider of onnxruntime-node on ` +
      `${process.platform}/${process.arch}`) && e.message.includes(`choose from ${have.join(', ')}`));
  assert.throws(() => checkProviders(['cpu', 'cpu'], 'tinymem.executionProviders'),
    /tinymem\.executionProviders: lists "cpu" twice/);
  assert.throws(() => checkProviders('', '--providers'), /--providers: names no provider; choose from/);
  assert.throws(() => checkProviders(['cpu', 3], 'tinymem.executionProviders'), /has an empty or non-text entry/);
});

test('cuda alone fails with what is missing and how to install it (a real failure on linux-x64 without the '
  + 'provider libraries)', { skip: !linuxX64 || cudaInstalled ? 'needs linux-x64 without the CUDA libraries' : false },
async () => {
  const rt = new Runtime({ providers: ['cuda'] });
  await assert.rejects(rt.preflight(), (e: Error) => {
    assert.ok(e instanceof UserError, 'a UserError (a problem the user can fix)');
    assert.doesNotMatch(e.message, /no execution provider could run the model/);
    assert.match(e.message, /^execution provider cuda could not start: the cuda provider's libraries /);
    assert.match(e.message, /libonnxruntime_providers_cuda\.so/);
    assert.match(e.message, /ONNXRUNTIME_NODE_INSTALL=skip/);
    assert.match(e.message, /ONNXRUNTIME_NODE_INSTALL=1 npm rebuild onnxruntime-node/);
    assert.match(e.message, /CUDA 12 and cuDNN 9/);
    assert.match(e.message, /\(ONNX Runtime: .*Failed to load shared library\)/);
    return true;
  });
  await rt.dispose();
});

test('a provider that cannot start is tried once per runtime and reported once, with the provider that ran',
  async () => {
    const adapter = 'Failed to get a WebGPU adapter: No supported adapters';
    const fake = fakeCreate({ webgpu: adapter });
    const rt = new Runtime({ providers: ['webgpu', 'cpu'], threads: 1 });
    try {
      const warnings: string[] = [];
      const ran = await collectWarnings(warnings, async () => {
        const a = await rt.create(model(2));
        const b = await rt.create(model(3));
        const c = await rt.session('shape-4', () => model(4));
        return [a.provider, b.provider, c.provider];
      });
      assert.deepEqual(ran, ['cpu', 'cpu', 'cpu']);
      assert.equal(fake.tries.get('webgpu'), 1, 'webgpu is not retried for new session shapes');
      assert.equal(fake.tries.get('cpu'), 3);
      assert.equal(warnings.length, 1, `one warning per run, got ${JSON.stringify(warnings)}`);
      assert.match(warnings[0]!, /^execution provider webgpu was skipped, running on cpu: no WebGPU adapter was found/);
      if (process.platform === 'linux') assert.match(warnings[0]!, /Vulkan driver/);
      assert.deepEqual(rt.skipped.map((s) => s.provider), ['webgpu']);
      // A second runtime (the next run) tries again.
      const rt2 = new Runtime({ providers: ['webgpu', 'cpu'], threads: 1 });
      await collectWarnings([], () => rt2.preflight());
      assert.equal(fake.tries.get('webgpu'), 2);
      await rt2.dispose();
    } finally {
      fake.restore();
      await rt.dispose();
    }
  });

test('a model that fails on the CPU is the model\'s error, not a provider\'s: cpu is never marked failed', async () => {
  const fake = fakeCreate({ cpu: 'Node (n1) Op (Foo) [ShapeInferenceError] something about the graph' });
  const rt = new Runtime({ providers: ['cpu'], threads: 1 });
  try {
    await assert.rejects(rt.create(model(2)), /no execution provider could run the model \(tried cpu\):\ncpu: Node/);
    await assert.rejects(rt.create(model(2)));
    assert.equal(fake.tries.get('cpu'), 2, 'the CPU provider is tried for every model');
  } finally {
    fake.restore();
    await rt.dispose();
  }
});

test('the reasons name what to install for each provider', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'ort-'));
  if (linuxX64) {
    assert.match(explainProviderFailure('cuda', 'Failed to load shared library', dir),
      /the cuda provider's libraries \(libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so\) are not installed/);
    for (const f of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) {
      fs.writeFileSync(path.join(dir, f), '');
    }
    assert.match(explainProviderFailure('cuda', 'Failed to load shared library', dir),
      /installed but did not load: they need CUDA 12 and cuDNN 9 .*ldd /);
    assert.match(explainProviderFailure('tensorrt', 'Failed to load shared library', dir),
      /libonnxruntime_providers_tensorrt\.so\) are not installed.*TensorRT 10/);
  }
  assert.match(explainProviderFailure('webgpu', 'Failed to get a WebGPU adapter: No supported adapters'),
    /^no WebGPU adapter was found: /);
  assert.match(explainProviderFailure('xnnpack', 'boom\nsecond line'), /^the xnnpack provider could not start\. \(ONNX Runtime: boom\)$/);
});

test('every command that runs a model takes --threads and --providers; train and run take --steps-per-run', () => {
  const p = program();
  // Top-level commands first, so that `run` is the notebook command, not `sweep run`.
  const byName = new Map([...allCommands(p)].reverse().map((c) => [c.name(), c]));
  const flags = (n: string) => byName.get(n)!.options.map((o) => o.long);
  for (const n of ['train', 'eval', 'score', 'mitigate', 'compare', 'run', 'job']) {
    assert.ok(flags(n).includes('--providers'), `${n} takes --providers`);
    assert.ok(flags(n).includes('--threads'), `${n} takes --threads`);
  }
  for (const n of ['train', 'run']) assert.ok(flags(n).includes('--steps-per-run'), `${n} takes --steps-per-run`);
});

test('the CLI refuses a provider this platform lacks naming --providers, and cuda alone with its reason', {
  timeout: 120_000 }, () => {
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  const bad = run(['eval', tmp, '--providers', 'cpu,nosuch']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--providers: "nosuch" is not an execution provider of onnxruntime-node/);
  if (!linuxX64 || cudaInstalled) return;
  const out = path.join(tmp, 'cuda-run');
  const r = run(['train', '--preset', 'cpu-math-noise', '--set', 'train.epochs=1', '--providers', 'cuda', '--out',
    out]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /execution provider cuda could not start: the cuda provider's libraries/);
  assert.doesNotMatch(r.stderr, /no execution provider could run/);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace:\n${r.stderr}`);
  const k = run(['train', '--preset', 'cpu-math-noise', '--steps-per-run', '0', '--out', out]);
  assert.notEqual(k.status, 0);
  assert.match(k.stderr, /--steps-per-run must be a positive integer, got "0"/);
});

test('a notebook train cell shows a skipped provider\'s reason once, as its first output, and trains on the next ' +
  'provider with K steps per run', { timeout: 300_000 }, async () => {
  const fake = fakeCreate({ webgpu: 'Failed to get a WebGPU adapter: No supported adapters' });
  try {
    const set = '{ model.n_layer: 1, model.n_embd: 16, model.n_head: 2, data.numMain: 60, data.numExtra: 10, ' +
      'data.numTest: 10, data.numNoise: 10, train.batchSize: 16, train.epochs: 2 }';
    const progress: (string | undefined)[] = [];
    const r = await runCellSource(`step: train\npreset: cpu-math-noise\nout: runs/k\nset: ${set}\n`, {
      baseDir: tmp, state: {}, runtime: { threads: 1, providers: ['webgpu', 'cpu'], stepsPerRun: 3 }, seed: 0,
      signal: new AbortController().signal, onProgress: (p) => progress.push(p.provider) });
    const md = r.outputs.filter((o) => o.mime === 'text/markdown').map((o) => o.markdown);
    assert.match(md[0]!, /^\*\*Warning:\*\* execution provider webgpu was skipped, running on cpu: no WebGPU adapter/);
    assert.equal(md.filter((m) => /webgpu was skipped/.test(m)).length, 1, 'the reason shows once');
    assert.equal(fake.tries.get('webgpu'), 1, 'neither the worker nor the evaluation tries webgpu again');
    assert.equal(r.provider, 'cpu');
    assert.ok(progress.includes('cpu'), 'the progress view names the provider that ran');
  } finally {
    fake.restore();
  }
});

test('the engine process refuses a provider this platform lacks, naming tinymem.executionProviders, and runs on the '
  + 'list it accepts', { timeout: 120_000 }, async () => {
  const engine = new EngineClient({ modulePath: path.resolve(__dirname, '../src/worker/engineProcess.ts'),
    execArgv: ['--import', 'tsx'] });
  try {
    const cell = { source: 'step: data\npreset: cpu-math-noise\n', baseDir: tmp, state: {} };
    const bad = await engine.run({ ...cell, settings: { providers: ['cpu', 'nosuch'], threads: 1, seed: 0 } },
      () => {}).outcome;
    assert.equal(bad.kind, 'error', JSON.stringify(bad));
    assert.match((bad as { message: string }).message,
      /tinymem\.executionProviders: "nosuch" is not an execution provider of onnxruntime-node on .*; choose from cpu/);
    const good = await engine.run({ ...cell, settings: { providers: ['cpu'], threads: 1, seed: 0, stepsPerRun: 4 } },
      () => {}).outcome;
    assert.equal(good.kind, 'done', JSON.stringify(good));
  } finally {
    engine.dispose();
  }
});
