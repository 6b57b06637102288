// npm run bench:gpu — the GPU benchmark, side by side on one machine (made for one NVIDIA H200; bench/gpu.sh runs
// it there from the folder scripts/pack-device.sh packs, see CONTRIBUTING.md):
//   * training tokens/s of the paper's 4-layer math model (bench/train.bench.ts's config: 814,336 parameters, batch
//     128 × 150 tokens) on each execution provider that starts (webgpu, cuda, cpu by default), one step per run and
//     GPU_BENCH_K steps per run, against the PyTorch reference (`torch_reference.py bench --device cuda`) run three
//     times between ours (its median is the figure);
//   * one BalancedSubnet step (after a first, compiling one) of a Pythia-1B-shaped GPT-NeoX on each provider that
//     started.
// Each measurement runs in a child process with a time limit taken from one overall budget (GPU_BENCH_BUDGET_S,
// default 420 s), so a provider that hangs or crashes costs its phase only, and the whole run ends in time. A
// provider that cannot start is reported with the reason. The results go to stdout and, as JSON, to
// GPU_BENCH_OUT/gpu-bench.json when GPU_BENCH_OUT is set.
//
// Settings (environment): GPU_BENCH_PROVIDERS (webgpu,cuda,cpu), GPU_BENCH_STEPS (10 timed steps), GPU_BENCH_K (8),
// GPU_BENCH_THREADS (0: ONNX Runtime chooses), GPU_BENCH_TORCH (the reference script; default torch_reference.py
// beside this file, else ../shared/bench/), GPU_BENCH_PYTHON (python3), GPU_BENCH_TORCH_DEVICE (cuda),
// GPU_BENCH_TORCH_STEPS (20), GPU_BENCH_SUBNET (1b; "small" is a 2-layer d-256 NeoX for a dry run on a CPU),
// GPU_BENCH_SUBNET_PROVIDERS (the providers to run the subnet step on; default: each that started).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../src/engine/data/rng';
import { type Gpt2Config } from '../src/engine/model/gpt2';
import { countParams } from '../src/engine/model/architecture';
import type { NeoxConfig } from '../src/engine/model/gptNeox';
import { balancedCoefficients } from '../src/engine/methods/subnet/balancedSubnet';
import { SUBNET_SGD, createSubnetState, subnetStep } from '../src/engine/methods/subnet/edgePopup';
import { platformProviders } from '../src/engine/runtime/providers';
import { Runtime } from '../src/engine/runtime/session';
import { getModel } from '../src/engine/train/models';
import { Trainer } from '../src/engine/train/trainStep';
import { pythiaShape, randomNeoxParams } from './randomNeox';

const env = (k: string, d: string) => process.env[k] ?? d;
const num = (k: string, d: number) => {
  const v = Number(env(k, String(d)));
  if (!Number.isFinite(v) || v < 0) throw new Error(`${k} must be a non-negative number, got "${process.env[k]}"`);
  return v;
};
const PROVIDERS = env('GPU_BENCH_PROVIDERS', 'webgpu,cuda,cpu').split(',').map((s) => s.trim()).filter(Boolean);
const STEPS = Math.max(1, num('GPU_BENCH_STEPS', 10));
const K = Math.max(1, num('GPU_BENCH_K', 8));
const THREADS = num('GPU_BENCH_THREADS', 0);
const BUDGET_S = num('GPU_BENCH_BUDGET_S', 420);
const TORCH_DEVICE = env('GPU_BENCH_TORCH_DEVICE', 'cuda');
const TORCH_STEPS = Math.max(1, num('GPU_BENCH_TORCH_STEPS', 20));
const PYTHON = env('GPU_BENCH_PYTHON', 'python3');
const SUBNET = env('GPU_BENCH_SUBNET', '1b');
const OUT = process.env.GPU_BENCH_OUT;

const B = 128;
const MATH_MODEL: Gpt2Config = {
  vocab_size: 14, n_positions: 150, n_embd: 128, n_layer: 4, n_head: 4, n_inner: null,
  activation_function: 'relu', layer_norm_epsilon: 1e-5, initializer_range: 0.8 / Math.sqrt(128),
};
const TOKENS_PER_STEP = B * MATH_MODEL.n_positions;
const SUBNET_ROWS = 8;
const SEQ = 80;

function subnetConfig(): NeoxConfig {
  if (SUBNET === '1b') return pythiaShape('1b');
  if (SUBNET === 'small') return pythiaShape('410m', { num_hidden_layers: 2, hidden_size: 256,
    num_attention_heads: 4, vocab_size: 1024 });
  throw new Error(`GPU_BENCH_SUBNET must be 1b or small, got "${SUBNET}"`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const since = (t0: number) => (performance.now() - t0) / 1000;

/** The reference script: beside this file (the packed folder), else the project's shared folder. */
function torchScript(): string | null {
  const candidates = [env('GPU_BENCH_TORCH', ''), path.join(__dirname, 'torch_reference.py'),
    path.resolve(__dirname, '../../shared/bench/torch_reference.py')].filter(Boolean);
  return candidates.find((f) => fs.existsSync(f)) ?? null;
}

/** A provider's runtime, started: the provider, or the reason it could not start. */
async function started(provider: string): Promise<{ rt: Runtime } | { skipped: string }> {
  const rt = new Runtime({ providers: [provider], threads: THREADS });
  try {
    await rt.preflight();
    return { rt };
  } catch (e) {
    await rt.dispose();
    return { skipped: e instanceof Error ? e.message : String(e) };
  }
}

type Result = Record<string, unknown>;

/** Child phase: training steps of the 4-layer math model on one provider, K = 1 and K = GPU_BENCH_K. */
async function trainPhase(provider: string): Promise<Result> {
  const s = await started(provider);
  if ('skipped' in s) return { provider, skipped: s.skipped };
  const { rt } = s;
  try {
    const def = getModel('gpt2');
    const c = def.resolveConfig!(MATH_MODEL) as Gpt2Config;
    const trainer = new Trainer(rt, { key: 'gpu-bench', params: def.paramShapes(c),
      batch: (rows) => def.batchSpec(c, rows), loss: def.loss(c) }, { params: def.init(c, 0) });
    const r = new Rng(1);
    const batches = Array.from({ length: Math.max(2, K) },
      () => ({ tokens: BigInt64Array.from({ length: TOKENS_PER_STEP }, () => BigInt(r.int(c.vocab_size))) }));
    let t0 = performance.now();
    const first = await trainer.step(batches[0]!, { rows: B });
    const firstS = since(t0);
    console.error(`  ${provider}: first training step (compiling) ${firstS.toFixed(1)} s`);
    await trainer.step(batches[1]!, { rows: B });
    const single: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      t0 = performance.now();
      await trainer.step(batches[i % batches.length]!, { rows: B });
      single.push(since(t0));
    }
    const out: Result = { provider: first.provider, params: countParams(c), firstStepSeconds: firstS,
      msPerStep: 1e3 * median(single), tokensPerS: TOKENS_PER_STEP / median(single), steps: STEPS };
    console.error(`  ${provider}: ${STEPS} steps, median ${(1e3 * median(single)).toFixed(1)} ms/step`);
    if (K > 1) {
      t0 = performance.now();
      await trainer.steps(batches.slice(0, K), { rows: B });
      const firstGroupS = since(t0);
      const groups: number[] = [];
      for (let i = 0; i < Math.max(1, Math.ceil(STEPS / K)); i++) {
        t0 = performance.now();
        await trainer.steps(batches.slice(0, K), { rows: B });
        groups.push(since(t0) / K);
      }
      Object.assign(out, { k: K, firstGroupSeconds: firstGroupS, msPerStepK: 1e3 * median(groups),
        tokensPerSK: TOKENS_PER_STEP / median(groups), groups: groups.length });
    }
    out.lossAfter = (await trainer.step(batches[0]!, { rows: B })).loss;
    return out;
  } finally {
    await rt.dispose();
  }
}

/** Child phase: BalancedSubnet steps of a Pythia-1B-shaped model on one provider (the first one compiles). */
async function subnetPhase(provider: string): Promise<Result> {
  const s = await started(provider);
  if ('skipped' in s) return { provider, skipped: s.skipped };
  const { rt } = s;
  try {
    const c = subnetConfig();
    let t0 = performance.now();
    const params = randomNeoxParams(c, 1);
    const weightsS = since(t0);
    const st = createSubnetState(c, params, 0, 0.05, SUBNET_SGD);
    const r = new Rng(2);
    const tokens = BigInt64Array.from({ length: SUBNET_ROWS * SEQ }, () => BigInt(r.int(c.vocab_size)));
    const coef = balancedCoefficients(Array.from({ length: SUBNET_ROWS }, (_, i) => i < SUBNET_ROWS / 4), 0.7);
    t0 = performance.now();
    const objective0 = await subnetStep(rt, c, st, tokens, coef, SEQ);
    const firstS = since(t0);
    console.error(`  ${provider}: first subnet step (compiling) ${firstS.toFixed(1)} s`);
    t0 = performance.now();
    const objective1 = await subnetStep(rt, c, st, tokens, coef, SEQ);
    const stepS = since(t0);
    return { provider, shape: SUBNET, params: countParams(c), batch: `${SUBNET_ROWS}×${SEQ}`, weightsSeconds: weightsS,
      firstStepSeconds: firstS, stepSeconds: stepS, objective: [objective0, objective1],
      peakRssGiB: process.resourceUsage().maxRSS / 2 ** 20 };
  } finally {
    await rt.dispose();
  }
}

/** Runs one phase in a child process within `limitS`; its result is the last line of its stdout. */
function child(phase: string, provider: string, limitS: number): Result {
  if (limitS < 5) return { provider, skipped: `not run: the time budget (${BUDGET_S} s) was spent` };
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--phase', phase, '--provider', provider],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: limitS * 1000, killSignal: 'SIGKILL',
      maxBuffer: 1 << 24 });
  const last = r.stdout?.trim().split('\n').at(-1) ?? '';
  if (r.status === 0 && last.startsWith('{')) return { ...JSON.parse(last) as Result, wallSeconds: since(t0) };
  const why = r.error?.message.includes('ETIMEDOUT') || r.signal === 'SIGKILL'
    ? `stopped after its ${limitS.toFixed(0)} s limit` : `failed (exit ${r.status ?? r.signal})`;
  return { provider, failed: `${phase} on ${provider} ${why}`, wallSeconds: since(t0) };
}

/** The PyTorch reference's training steps of the same model, on GPU_BENCH_TORCH_DEVICE. */
function torchRun(limitS: number): Result {
  const script = torchScript();
  if (!script) return { skipped: 'torch_reference.py not found (GPU_BENCH_TORCH)' };
  if (limitS < 5) return { skipped: 'not run: the time budget was spent' };
  const args = [script, 'bench', '--layers', '4', '--d-model', '128', '--heads', '4', '--vocab', '14', '--ctx', '150',
    '--batch', String(B), '--steps', String(TORCH_STEPS), '--warmup', '3', '--activation', 'relu', '--device',
    TORCH_DEVICE, '--threads', String(THREADS || 2)];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: limitS * 1000, killSignal: 'SIGKILL' });
  if (r.status !== 0) return { skipped: `${PYTHON} ${path.basename(script)} failed: ${(r.stderr || r.error?.message
    || '').trim().split('\n').pop()}` };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

function machine(): Result {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
    { encoding: 'utf8' });
  return { node: process.version, platform: `${process.platform}/${process.arch}`,
    onnxruntimeProviders: platformProviders(), gpu: smi.status === 0 ? smi.stdout.trim() : 'nvidia-smi not found',
    cores: os.availableParallelism() };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const left = () => BUDGET_S - since(t0);
  const m = machine();
  console.log(`machine: ${JSON.stringify(m)}`);
  const torch: Result[] = [];
  const train: Result[] = [];
  const torchOnce = () => {
    const r = torchRun(Math.min(90, left()));
    torch.push(r);
    const what = 'tokens_per_s' in r ? `${Number(r.tokens_per_s).toFixed(0)} tokens/s, ` +
      `${Number(r.ms_per_step).toFixed(1)} ms/step (torch ${r.torch})` : r.skipped;
    console.log(`pytorch reference (${TORCH_DEVICE}): ${what}`);
  };
  torchOnce();
  for (const p of PROVIDERS) {
    // Each provider gets an equal share of what the training phases may use (a third of the budget is kept for the
    // subnet steps and the reference).
    const r = child('train', p, Math.min(150, left() - BUDGET_S / 3));
    train.push(r);
    const perRun = r.k ? `; ${r.k} steps per run: ${Number(r.tokensPerSK).toFixed(0)} tokens/s ` +
      `(${Number(r.msPerStepK).toFixed(1)} ms/step)` : '';
    console.log(`train 4-layer math model on ${p}: ${'tokensPerS' in r ? `${Number(r.tokensPerS).toFixed(0)} ` +
      `tokens/s (${Number(r.msPerStep).toFixed(1)} ms/step; first step ${Number(r.firstStepSeconds).toFixed(1)} s)` +
      perRun : r.skipped ?? r.failed}`);
    if (p === PROVIDERS[Math.floor((PROVIDERS.length - 1) / 2)]) torchOnce();
  }
  torchOnce();
  const ran = train.filter((r) => 'tokensPerS' in r).map((r) => r.provider as string);
  const subnetProviders = process.env.GPU_BENCH_SUBNET_PROVIDERS?.split(',').filter(Boolean) ?? ran;
  const subnet: Result[] = [];
  for (const p of subnetProviders) {
    const r = child('subnet', p, Math.min(200, left() / Math.max(1, subnetProviders.length - subnet.length)));
    subnet.push(r);
    const what = 'stepSeconds' in r ? `${Number(r.stepSeconds).toFixed(2)} s (first, compiling: ` +
      `${Number(r.firstStepSeconds).toFixed(1)} s; weights built in ${Number(r.weightsSeconds).toFixed(1)} s; ` +
      `peak RSS ${Number(r.peakRssGiB).toFixed(1)} GiB)` : r.skipped ?? r.failed;
    console.log(`BalancedSubnet step, ${SUBNET} shape, on ${p}: ${what}`);
  }
  const torchTokens = torch.filter((r) => 'tokens_per_s' in r).map((r) => Number(r.tokens_per_s));
  const ref = torchTokens.length ? median(torchTokens) : null;
  const ratios = Object.fromEntries(train.filter((r) => 'tokensPerS' in r).map((r) => [r.provider as string, {
    k1: ref ? Number(r.tokensPerS) / ref : null, k: ref && r.tokensPerSK ? Number(r.tokensPerSK) / ref : null }]));
  if (ref) {
    console.log(`pytorch reference median: ${ref.toFixed(0)} tokens/s (of ${torchTokens.length} runs)`);
    for (const [p, x] of Object.entries(ratios)) {
      console.log(`ratio on ${p}: ${x.k1!.toFixed(3)}x the reference's tokens/s` +
        (x.k ? `; with ${K} steps per run ${x.k.toFixed(3)}x` : ''));
    }
  }
  const doc = { machine: m, budgetSeconds: BUDGET_S, seconds: since(t0), torch, torchMedianTokensPerS: ref, train,
    ratios, subnet };
  console.log(JSON.stringify(doc));
  if (OUT) {
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, 'gpu-bench.json'), `${JSON.stringify(doc, null, 2)}\n`);
  }
}

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const phase = arg('phase');
(phase === undefined ? main() : (async () => {
  const provider = arg('provider')!;
  const r = phase === 'train' ? await trainPhase(provider) : await subnetPhase(provider);
  console.log(JSON.stringify(r));
})()).catch((e) => {
  console.error(e);
  process.exit(1);
});
