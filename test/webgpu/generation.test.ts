// Greedy generation on the WebGPU provider (lavapipe in CI): the host drives the decoding with the weights and the
// key/value cache on the device, and the tokens equal the CPU provider's (which decodes in one ONNX Loop).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/data/rng';
import { greedyContinuation } from '../../src/engine/metrics/score';
import { getModel } from '../../src/engine/train/models';
import { TINY_GPT2, providerPair, recordRuns } from './device';

const { gpu, cpu } = providerPair();

test('greedy generation on WebGPU gives the CPU provider\'s tokens; the cache never leaves the device', async () => {
  const def = getModel('gpt2');
  // A wide initialisation, so that a random model's continuations vary (a narrow one repeats one token).
  const config = def.resolveConfig!({ ...TINY_GPT2, initializer_range: 0.6 }) as typeof TINY_GPT2;
  const params = new Map(Object.entries(def.init(config, 4)));
  const r = new Rng(8);
  const prompts = Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => r.int(14)));
  const steps = 9;

  const { result: onGpu, runs } = await recordRuns(() => greedyContinuation(gpu, config, params, prompts, steps, 4,
    [3]));
  const fetched = runs.map((r) => r.fetched);
  const onCpu = await greedyContinuation(cpu, config, params, prompts, steps, 4, [3]);
  assert.equal(onGpu.provider, 'webgpu');
  assert.deepEqual(onGpu.tokens, onCpu.tokens);
  assert.ok(new Set(onCpu.tokens.flat()).size > 3, `continuations too uniform to compare: ${onCpu.tokens}`);
  assert.ok(!onCpu.tokens.flat().includes(3), 'token 3 is suppressed');
  // Two batches (4 + 2 prompts) of one prefill and 8 decode runs each, plus the weights' upload.
  assert.equal(fetched.length, 1 + 2 * steps);
  for (const f of fetched.slice(1)) for (const [k, l] of Object.entries(f)) assert.equal(l, k === 'next' ? 'cpu'
    : 'gpu-buffer', `${k} came back as ${l}`);
});
