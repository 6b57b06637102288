// npm run bench:prod — the production-grade setting of the paper (spec §6) on a CPU: a randomly initialised
// Pythia-410M-shaped GPT-NeoX (24 layers, d 1024, 16 heads, MLP 4096, rotary 25 %, vocab 50304, context 2048),
// MemPi-shaped 80-token sequences. Reports the peak resident memory and the seconds per
//   * evaluation batch: per-sequence loss (teacher-forced);
//   * memorization batch: greedy continuation (prompt 32, 40 tokens);
//   * BalancedSubnet step (forward, backward to the MLP scores only, SGD update of scores and momentum),
// with the GFLOP/s each achieves. `npm run bench:prod -- --shape 1b` does the same on a Pythia-1B shape (16 layers,
// d 2048, 8 heads, MLP 8192; 1.01B parameters) with batches of 8 and 2 subnet steps, to check that a 1B model fits
// in a 24 GB machine.
//
// Each phase runs in its own child process, so each peak RSS is that phase's alone (maxRSS never goes down). The
// weights are built in the child too, so every peak includes them.
//
// Options: --shape 410m|1b, --arena auto|on|off (ONNX Runtime's CPU arena; auto = off for large models), --phases
// loss,greedy,subnet. Sizes: BENCH_LAYERS, BENCH_HIDDEN, BENCH_HEADS, BENCH_VOCAB, BENCH_EVAL_BATCH,
// BENCH_SUBNET_BATCH, BENCH_STEPS, BENCH_THREADS (2), BENCH_WARMUP (0: the first evaluation batch is timed;
// compiling the graph takes about a second of it, nothing next to a 405M-parameter batch).
import { spawnSync } from 'node:child_process';
import { Rng } from '../src/engine/data/rng';
import { configKey, countParams } from '../src/engine/model/architecture';
import type { NeoxConfig } from '../src/engine/model/gptNeox';
import { pythiaShape, randomNeoxParams } from './randomNeox';
import { greedyContinuation, sequenceLosses } from '../src/engine/metrics/score';
import { balancedCoefficients } from '../src/engine/methods/subnet/balancedSubnet';
import { SUBNET_SGD, buildSubnetStep, createSubnetState, microBatchRows,
  subnetStep } from '../src/engine/methods/subnet/edgePopup';
import { Runtime, forceGc } from '../src/engine/runtime/session';

const args = process.argv.slice(2);
const flag = (name: string, d: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : d;
};
const SHAPE = flag('shape', '410m');
if (SHAPE !== '410m' && SHAPE !== '1b') throw new Error(`--shape must be 410m or 1b, got ${SHAPE}`);
const ARENA = flag('arena', 'auto') as 'auto' | 'on' | 'off';
const PHASE = flag('phase', '');

const big = SHAPE === '1b';
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const hidden = env('BENCH_HIDDEN', big ? 2048 : 1024);
const config: NeoxConfig = pythiaShape(SHAPE, { vocab_size: env('BENCH_VOCAB', 50304), hidden_size: hidden,
  num_hidden_layers: env('BENCH_LAYERS', big ? 16 : 24), num_attention_heads: env('BENCH_HEADS', big ? 8 : 16) });
const EVAL_BATCH = env('BENCH_EVAL_BATCH', big ? 8 : 32);
const SUBNET_BATCH = env('BENCH_SUBNET_BATCH', big ? 8 : 32);
const STEPS = env('BENCH_STEPS', big ? 2 : 3);
const THREADS = env('BENCH_THREADS', 2);
const WARMUP = env('BENCH_WARMUP', 0);
const SEQ = 80;
const PROMPT = 32;
const CONT = 40;

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

/** Where the memory is: peak and current resident, V8 heap, and ArrayBuffers (typed arrays: weights, scores, ORT
 * outputs). */
function memory(): Record<string, string> {
  forceGc(); // so that rss and arrayBuffers count live data, not garbage V8 has not collected yet
  const m = process.memoryUsage();
  return { peakRss: gib(peakRss()), rss: gib(m.rss), heapUsed: gib(m.heapUsed), arrayBuffers: gib(m.arrayBuffers) };
}

// FLOP counts (multiply-adds × 2) of the matrix products, the bulk of the work.
const { hidden_size: C, intermediate_size: I, num_hidden_layers: L, vocab_size: V } = config;
/** MatMul weights touched per token: attention (qkv, dense), MLP (up, down), output head. */
const matmulParams = L * (4 * C * C + 2 * C * I) + V * C;
/** Attention scores and weighted sums for one sequence of length t against `keys` keys: 2·2·t·keys·C per layer. */
const attention = (t: number, keys: number) => 4 * t * keys * C * L;
const forwardFlops = (batch: number, t: number) => batch * (2 * matmulParams * t + attention(t, t));
const FLOPS = {
  loss: forwardFlops(EVAL_BATCH, SEQ),
  // Prompt, then 39 single-token steps against a cache of PROMPT + CONT − 1 slots.
  greedy: forwardFlops(EVAL_BATCH, PROMPT)
    + EVAL_BATCH * (CONT - 1) * (2 * matmulParams + attention(1, PROMPT + CONT - 1)),
  // Forward, backward to every activation (another forward's worth), and the MLP weight products for the scores.
  subnet: 2 * forwardFlops(SUBNET_BATCH, SEQ) + SUBNET_BATCH * SEQ * 2 * 2 * C * I * L,
};
const gflops = (flops: number, s: number) => Math.round(flops / s / 1e9);

async function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

type PhaseResult = Record<string, unknown> & { phase: string; seconds: number; peakRssBytes: number };

async function runPhase(phase: string): Promise<PhaseResult> {
  const params = randomNeoxParams(config, 1);
  const r = new Rng(2);
  const seqs = Array.from({ length: Math.max(EVAL_BATCH, SUBNET_BATCH) },
    () => Array.from({ length: SEQ }, () => r.int(config.vocab_size)));
  const rt = new Runtime({ threads: THREADS, arena: ARENA });
  const evalSeqs = seqs.slice(0, EVAL_BATCH);
  try {
    if (phase === 'loss') {
      for (let w = 0; w < WARMUP; w++) await sequenceLosses(rt, config, params, evalSeqs, EVAL_BATCH);
      const [, s] = await time(() => sequenceLosses(rt, config, params, evalSeqs, EVAL_BATCH));
      return { phase, seconds: s, batch: `${EVAL_BATCH}×${SEQ}`, gflops: gflops(FLOPS.loss, s),
        peakRssBytes: peakRss(), memory: memory() };
    }
    if (phase === 'greedy') {
      const prompts = evalSeqs.map((q) => q.slice(0, PROMPT));
      for (let w = 0; w < WARMUP; w++) await greedyContinuation(rt, config, params, prompts, CONT, EVAL_BATCH);
      const [, s] = await time(() => greedyContinuation(rt, config, params, prompts, CONT, EVAL_BATCH));
      return { phase, seconds: s, batch: `${EVAL_BATCH}, prompt ${PROMPT} + ${CONT}`, gflops: gflops(FLOPS.greedy, s),
        peakRssBytes: peakRss(), memory: memory() };
    }
    // BalancedSubnet steps, exactly as trainSubnet runs them: weights fed as constant inputs, the score gradients
    // applied in place to the scores and momentum buffers.
    const st = createSubnetState(config, params, 0, 0.05, SUBNET_SGD);
    const rows = seqs.slice(0, SUBNET_BATCH);
    const coef = balancedCoefficients(rows.map((_, i) => i < SUBNET_BATCH / 4), 0.7);
    const tokens = BigInt64Array.from(rows.flat(), BigInt);
    const micro = microBatchRows(config, SUBNET_BATCH, SEQ);
    // Compiling the step graph(s) is timed apart from the steps.
    const [, compileS] = await time(() => rt.session(`methods:subnet-step:${configKey(config)}:${micro}x${SEQ}`,
      () => buildSubnetStep(config, micro, SEQ)));
    const steps: { seconds: number; objective: number; peakRss: string; rss: string; arrayBuffers: string }[] = [];
    for (let s = 0; s < STEPS; s++) {
      const [objective, sec] = await time(() => subnetStep(rt, config, st, tokens, coef, SEQ));
      const m = memory();
      steps.push({ seconds: sec, objective, peakRss: m.peakRss!, rss: m.rss!, arrayBuffers: m.arrayBuffers! });
      console.error(`  subnet step ${s}: ${sec.toFixed(1)} s, objective ${objective.toFixed(4)}, peak RSS ` +
        `${m.peakRss}, RSS ${m.rss}, ArrayBuffers ${m.arrayBuffers}`);
    }
    const mean = steps.reduce((a, b) => a + b.seconds, 0) / steps.length;
    return { phase, seconds: mean, compileSeconds: compileS, batch: `${SUBNET_BATCH}×${SEQ}`, rowsPerRun: micro,
      gflops: gflops(FLOPS.subnet, mean), steps, peakRssBytes: peakRss(), memory: memory() };
  } finally {
    await rt.dispose();
  }
}

const LABEL: Record<string, string> = {
  loss: `eval: per-sequence loss, batch ${EVAL_BATCH}×${SEQ}`,
  greedy: `eval: memorization check (prompt ${PROMPT}, ${CONT} greedy tokens), batch ${EVAL_BATCH}`,
  subnet: `balanced-subnet step (ratio 0.05), batch ${SUBNET_BATCH}×${SEQ}, mean of ${STEPS}`,
};

(async () => {
  if (PHASE) {
    // Child: one phase, its result as the last line of stdout.
    console.log(JSON.stringify(await runPhase(PHASE)));
    return;
  }
  const n = countParams(config);
  console.log(`model: random GPT-NeoX (${SHAPE} shape), ${L} layers, d ${C}, ${config.num_attention_heads} heads, ` +
    `MLP ${I}, vocab ${V}: ${(n / 1e6).toFixed(1)}M parameters (${gib(
      4 * n)} F32); ${THREADS} threads; arena ${ARENA}`);
  const results: PhaseResult[] = [];
  for (const phase of flag('phases', 'loss,greedy,subnet').split(',')) {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, ...args, '--phase', phase],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    const last = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !last.startsWith('{')) {
      console.error(child.stdout);
      throw new Error(`phase ${phase} failed (exit ${child.status ?? child.signal})`);
    }
    const r = JSON.parse(last) as PhaseResult;
    results.push(r);
    console.log(`${LABEL[phase]}: ${r.seconds.toFixed(2)} s${phase === 'subnet' ? ' per step'
      : ' per batch'} (~${r.gflops} GFLOP/s); peak RSS ${gib(r.peakRssBytes)}`);
  }
  console.log(JSON.stringify({ shape: SHAPE, params: n, threads: THREADS, arena: ARENA, seqLen: SEQ, results }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
