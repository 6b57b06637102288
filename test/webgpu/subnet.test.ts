// BalancedSubnet on the WebGPU provider (lavapipe in CI): the whole step runs on the device (weights, scores and
// momentum stay there) and the run prunes exactly the weights the CPU provider's host path prunes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/data/rng';
import { getMethod, resolveHyperParams } from '../../src/engine/methods/index';
import { usesDeviceStep } from '../../src/engine/methods/subnet/deviceStep';
import { initScores, masksFromScores, pruneCounts } from '../../src/engine/methods/subnet/edgePopup';
import { Runtime } from '../../src/engine/runtime/session';
import { getModel } from '../../src/engine/train/models';
import { TINY_GPT2, providerPair, recordRuns } from './device';

const { gpu, cpu } = providerPair();

test('BalancedSubnet on WebGPU prunes the same weights as on the CPU, with one session run per step', async () => {
  const def = getModel('gpt2');
  const config = def.resolveConfig!(TINY_GPT2) as typeof TINY_GPT2;
  const params = new Map(Object.entries(def.init(config, 3)));
  const r = new Rng(5);
  const rows = (n: number) => ({ rows: n, cols: 16, data: Int32Array.from({ length: n * 16 }, () => r.int(14)) });
  const [forget, retain] = [rows(24), rows(72)]; // 96 rows: batches of 64 and 32, four epochs
  const method = getMethod('balanced-subnet');
  const hp = resolveHyperParams(method, { ratio: 0.1, epochs: 4 });
  const run = (runtime: Runtime) => method.run({ runtime, config, params, forget, retain, promptLength: 8, hp,
    seed: 1 });
  assert.ok(usesDeviceStep(gpu, config) && !usesDeviceStep(cpu, config));

  // Count the session runs and where their tensors live: weights, scores and momentum never come back between steps.
  const { result: onGpu, runs } = await recordRuns(() => run(gpu));
  const fetched = runs.map((r) => r.fetched);
  const steps = fetched.filter((f) => 'loss' in f);
  assert.equal(steps.length, 8, '4 epochs × 2 batches, one run each');
  for (const f of steps) for (const [k, l] of Object.entries(f)) assert.equal(l, k.startsWith('new:') ? 'gpu-buffer'
    : 'cpu', `${k} came back as ${l}`);
  assert.equal(fetched.length, 10, 'plus one upload of the weights and one copy of the scores at the end');
  assert.ok(runs.flatMap((x) => x.onDevice).every((t) => t.location === 'none'), 'a finished run frees the device');

  // Stopped after 3 steps: the run fails with the abort, and frees the weights, scores and momentum on the device.
  const stop = new AbortController();
  let done = 0;
  const { result: stopped, runs: stoppedRuns } = await recordRuns(() => method.run({ runtime: gpu, config, params,
    forget, retain, promptLength: 8, hp, seed: 1, signal: stop.signal,
    onProgress: () => (++done === 3 ? stop.abort() : undefined) }).then(() => 'finished', (e: Error) => e.name));
  assert.equal(stopped, 'AbortError');
  const held = stoppedRuns.flatMap((x) => x.onDevice);
  assert.ok(held.length > 3, 'the stopped run put its state on the device');
  assert.equal(held.filter((t) => t.location !== 'none').length, 0, 'a stopped run frees the device');

  const onCpu = await run(cpu);
  // The steps moved the scores enough to change the masks (else equal masks would prove little).
  const before = masksFromScores(initScores(config, 1), pruneCounts(config, 0.1));
  const moved = [...onCpu.masks].reduce((s, [n, m]) => s + m.reduce((k, v, i) => k + (v !== before.get(n)![i] ? 1 : 0),
    0), 0);
  assert.ok(moved > 0, 'training changed no mask entry');
  console.log(`# ${moved} mask entries changed by training, identical on both providers`);
  assert.deepEqual([...onGpu.masks.keys()].sort(), [...onCpu.masks.keys()].sort());
  for (const [n, m] of onCpu.masks) {
    const g = onGpu.masks.get(n)!;
    const differ = m.reduce((s, v, i) => s + (v !== g[i] ? 1 : 0), 0);
    assert.equal(differ, 0, `${n}: ${differ} of ${m.length} mask entries differ`);
    assert.equal(m.length - m.reduce((s, v) => s + v, 0), Math.floor(0.1 * m.length), `${n}: pruned count`);
  }
});
