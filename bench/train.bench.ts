// npm run bench:train — full training steps (forward, backward, AdamW) of the paper's 4-layer math TinyMem model,
// side by side with the PyTorch reference on the same machine in the same run, and against this machine's MatMul peak.
// The reference runs BENCH_REFS times (default 3) between blocks of our steps and its median is used, because its time
// moves with the machine's load. BENCH_PROFILE=1 then profiles a few more steps with ONNX Runtime's profiler and
// prints the kernel time per op type (the table of docs/cpu-profile.md).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatOpTypeTable, profileByOpType } from './profileTable';
import { F, Graph, compileGraph, gradients, matmulFlops } from '../src/engine/graph/index';
import { type Gpt2Config, declareGpt2Params, gpt2Forward, nextTokenTargets } from '../src/engine/model/gpt2';
import { countParams } from '../src/engine/model/architecture';
import { Rng } from '../src/engine/data/rng';
import { Runtime } from '../src/engine/runtime/session';
import { getModel } from '../src/engine/train/models';
import { Trainer } from '../src/engine/train/trainStep';

const STEPS = Number(process.env.BENCH_STEPS ?? 5);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const REFS = Number(process.env.BENCH_REFS ?? 3);
const PROFILE = process.env.BENCH_PROFILE === '1';
const PROVIDERS = (process.env.TINYMEM_PROVIDERS ?? 'cpu').split(',');
const B = 128;
const config: Gpt2Config = {
  vocab_size: 14, n_positions: 150, n_embd: 128, n_layer: 4, n_head: 4, n_inner: null,
  activation_function: 'relu', layer_norm_epsilon: 1e-5, initializer_range: 0.8 / Math.sqrt(128),
};
const TORCH_REFERENCE = path.resolve(__dirname, '../../shared/bench/torch_reference.py');
const PYTHON = process.env.TORCH_PYTHON ?? '/usr/bin/python3';

async function timeSteps(trainer: Trainer, batches: BigInt64Array[], steps: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await trainer.step({ tokens: batches[i % batches.length]! }, { rows: B });
    times.push(performance.now() - t0);
  }
  return times;
}

/** Best GFLOP/s of large ORT MatMuls (the shapes of toolchain.md's measurement). */
async function matmulPeak(rt: Runtime): Promise<number> {
  let best = 0;
  for (const [m, k, n] of [[4096, 256, 1024], [4096, 1024, 256]] as const) {
    const g = new Graph();
    const a = g.input('a', 'float32', [m, k]);
    const b = g.input('b', 'float32', [k, n]);
    const s = await rt.create(compileGraph(g, { c: F.matmul(a, b) }));
    const feeds = { a: new Float32Array(m * k).fill(0.5), b: new Float32Array(k * n).fill(0.25) };
    await s.run(feeds);
    for (let i = 0; i < 8; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      best = Math.max(best, (2 * m * k * n) / ((performance.now() - t0) / 1e3) / 1e9);
    }
    await s.session.release();
  }
  return best;
}

function torchBench(): { tokens_per_s: number; ms_per_step: number; torch: string } | string {
  if (!fs.existsSync(TORCH_REFERENCE)) return `not run: ${TORCH_REFERENCE} not found`;
  const args = [TORCH_REFERENCE, 'bench', '--layers', '4', '--d-model', '128', '--heads', '4', '--vocab', '14',
    '--ctx', '150',
    '--batch', String(B), '--steps', String(STEPS), '--warmup', '2', '--threads', String(THREADS), '--activation',
    'relu'];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (r.status !== 0) return `not run: ${PYTHON} could not run the reference (${(r.stderr || r.error?.message
    || '').trim().split('\n').pop()}); install python3-torch (see README)`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/**
 * Runs a few steps in a session with ONNX Runtime's profiler on and prints the kernel time per op type, and how much
 * of a step is spent outside the session run (feeding the weights and optimizer state, copying the new ones back).
 */
async function profileSteps(def: ReturnType<typeof getModel>, c: Gpt2Config, params: Record<string, Float32Array>,
  batches: BigInt64Array[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-profile-'));
  try {
    const rt = new Runtime({ providers: PROVIDERS, threads: THREADS, profile: path.join(dir, 'train') });
    const trainer = new Trainer(rt, { key: 'bench', params: def.paramShapes(c), batch: (rows) => def.batchSpec(c,
      rows), loss: def.loss(c) }, { params });
    const times = await timeSteps(trainer, batches, STEPS + 1);
    await rt.dispose(); // writes the trace
    const trace = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!trace) throw new Error(`ONNX Runtime wrote no profile into ${dir}`);
    const p = profileByOpType(path.join(dir, trace), 1);
    const stepMs = times.slice(1).reduce((s, t) => s + t, 0) / (times.length - 1);
    console.log(`\nprofile (ONNX Runtime profiler; means over ${p.runs} profiled steps of ${stepMs.toFixed(0)} ms, ` +
      `the first, warm-up step left out):`);
    console.log(formatOpTypeTable(p));
    console.log(`outside the session run (feeds, outputs copied back, JS): ${(stepMs - p.runMs).toFixed(1)} ms/step`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

(async () => {
  const rt = new Runtime({ providers: PROVIDERS, threads: THREADS });
  const def = getModel('gpt2');
  const c = def.resolveConfig!(config) as Gpt2Config;
  const params = def.init(c, 0);
  const trainer = new Trainer(rt, { key: 'bench', params: def.paramShapes(c), batch: (rows) => def.batchSpec(c, rows),
    loss: def.loss(c) }, { params });
  const r = new Rng(1);
  const batches = [0,
    1].map(() => BigInt64Array.from({ length: B * c.n_positions }, () => BigInt(r.int(c.vocab_size))));

  // Matrix-product work per step, counted on the traced forward + backward graph.
  const g = new Graph();
  const P = declareGpt2Params(g, c);
  const tokens = g.input('tokens', 'int64', [B, c.n_positions]);
  const loss = F.crossEntropy(gpt2Forward(c, P, tokens).logits, nextTokenTargets(tokens));
  gradients(loss, Object.values(P));
  const flopsPerStep = matmulFlops(g);

  console.log(`model: 4-layer TinyMem math GPT-2, ${countParams(c).toLocaleString('en')} parameters, batch ${B} × ` +
    `${c.n_positions} tokens, ${THREADS} threads`);
  await timeSteps(trainer, batches, 2); // compile and warm up
  // Our steps and the reference alternate, so that both see the same spread of machine load.
  const blocks: number[][] = [await timeSteps(trainer, batches, STEPS)];
  const refs: { tokens_per_s: number; ms_per_step: number; torch: string }[] = [];
  let refError = '';
  for (let r = 0; r < REFS && !refError; r++) {
    const t = torchBench();
    if (typeof t === 'string') refError = t;
    else refs.push(t);
    blocks.push(await timeSteps(trainer, batches, STEPS));
  }
  const peak = await matmulPeak(rt);
  const msPerStep = median(blocks.flat());
  const tokensPerS = (B * c.n_positions) / (msPerStep / 1e3);
  const achieved = flopsPerStep / (msPerStep / 1e3) / 1e9;
  const provider = (await trainer.step({ tokens: batches[0]! }, { rows: B })).provider;

  console.log(`tinymem (onnxruntime ${provider}): ${msPerStep.toFixed(0)} ms/step, ${tokensPerS.toFixed(0)} tokens/s ` +
    `(median of ${blocks.flat().length}; blocks' medians: ${blocks.map((b) => median(b).toFixed(0)).join(' / ')} ms)`);
  if (refError) console.log(`pytorch reference: ${refError}`);
  if (refs.length) {
    const refMs = median(refs.map((r) => r.ms_per_step));
    const refTokens = (B * c.n_positions) / (refMs / 1e3);
    console.log(`pytorch reference (torch ${refs[0]!.torch}): ${refMs.toFixed(0)} ms/step, ${refTokens.toFixed(0)} ` +
      `tokens/s (median of ${refs.length} runs: ${refs.map((r) => r.ms_per_step.toFixed(0)).join(' / ')} ms)`);
    console.log(`ratio: ${(tokensPerS / refTokens).toFixed(2)}x the reference's tokens/s (target ≥ 4x)`);
  }
  console.log(`matmul work: ${(flopsPerStep / 1e9).toFixed(1)} GFLOP/step → ${achieved.toFixed(1)} GFLOP/s; MatMul ` +
    `peak ${peak.toFixed(1)} GFLOP/s; fraction of peak ${(achieved / peak).toFixed(2)}`);
  console.log(`peak resident memory: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  await rt.dispose();
  if (PROFILE) await profileSteps(def, c, params, batches);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
