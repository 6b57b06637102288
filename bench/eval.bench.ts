// npm run bench:eval — batched greedy generation (prompt 50, 50 new tokens, as the memorization metric does) of
// 1,000 sequences with the paper's 4-layer math model, next to the PyTorch reference's greedy generation of the same
// checkpoint in the same run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildMathDataset, rowsOf } from '../src/engine/data/index';
import { Rng } from '../src/engine/data/rng';
import { makeCheckpointConfig, saveCheckpoint } from '../src/engine/model/checkpoint';
import { type Gpt2Config, initGpt2Params } from '../src/engine/model/gpt2';
import { greedyContinuation } from '../src/engine/metrics/score';
import { Runtime } from '../src/engine/runtime/session';

const N = Number(process.env.BENCH_SEQUENCES ?? 1000);
const TORCH_N = Number(process.env.BENCH_TORCH_SEQUENCES ?? 40);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const BATCH = Number(process.env.BENCH_BATCH ?? 128);
const TORCH_REFERENCE = path.resolve(__dirname, '../../shared/bench/torch_reference.py');
const PYTHON = process.env.TORCH_PYTHON ?? '/usr/bin/python3';

const config: Gpt2Config = {
  vocab_size: 14, n_positions: 150, n_embd: 128, n_layer: 4, n_head: 4, n_inner: null,
  activation_function: 'relu', layer_norm_epsilon: 1e-5, initializer_range: 0.8 / Math.sqrt(128),
};

(async () => {
  const r = new Rng(0);
  const params = initGpt2Params(config, () => r.normal());
  const data = buildMathDataset({});
  const seqs = rowsOf(data.train.tokens).slice(0, N).map((s) => s.slice(0, 100));
  const prompts = seqs.map((s) => s.slice(0, 50));
  const rt = new Runtime({ threads: THREADS });
  console.log(`model: 4-layer TinyMem math GPT-2; ${N} sequences, prompt 50, 50 greedy tokens, batch ${BATCH}, ` +
    `${THREADS} threads`);

  await greedyContinuation(rt, config, params, prompts.slice(0, BATCH), 50, BATCH); // compile and warm up
  const t0 = performance.now();
  const ours = await greedyContinuation(rt, config, params, prompts, 50, BATCH);
  const oursS = (performance.now() - t0) / 1e3;
  const oursRate = N / oursS;
  console.log(`tinymem (onnxruntime ${ours.provider}, KV cache in an ONNX Loop): ${oursS.toFixed(2)} s, ` +
    `${oursRate.toFixed(1)} sequences/s`);

  if (!fs.existsSync(TORCH_REFERENCE) || spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) {
    console.log(`pytorch reference: not run (needs ${TORCH_REFERENCE} and torch for ${PYTHON})`);
  } else {
    // The reference generates one sequence at a time, so its rate is measured on a subset.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-bench-eval-'));
    saveCheckpoint(dir, makeCheckpointConfig(config), params);
    fs.writeFileSync(path.join(dir, 'seqs.json'), JSON.stringify(seqs.slice(0, TORCH_N)));
    const t1 = performance.now();
    const res = spawnSync(PYTHON, [TORCH_REFERENCE, 'score', '--model', dir, '--tokens', path.join(dir, 'seqs.json'),
      '--prompt-len', '50', '--generate', '50', '--threads', String(THREADS)], { encoding: 'utf8' });
    const torchS = (performance.now() - t1) / 1e3;
    if (res.status !== 0) throw new Error(res.stderr);
    const greedy: number[][] = JSON.parse(res.stdout.trim().split('\n').pop()!).greedy;
    const same = greedy.filter((g, i) => g.join() === ours.tokens[i]!.join()).length;
    const torchRate = TORCH_N / torchS;
    console.log(`pytorch reference (unbatched greedy, including its start-up): ${torchS.toFixed(2)} s for ${TORCH_N} ` +
      `sequences, ${torchRate.toFixed(2)} sequences/s`);
    console.log(`ratio: ${(oursRate / torchRate).toFixed(1)}x the reference's sequences/s; identical continuations ` +
      `${same}/${TORCH_N}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`peak resident memory: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  await rt.dispose();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
