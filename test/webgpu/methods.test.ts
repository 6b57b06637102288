// Every unlearning method on the WebGPU provider (lavapipe in CI): no node of its graphs falls back to the CPU (the
// runtime refuses such sessions), the model's weights and the method's step state never cross from the host into a
// run, its device tensors are freed when it ends, and it edits the model as the CPU provider does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/data/rng';
import { listMethods, resolveHyperParams } from '../../src/engine/methods/index';
import type { UnlearningMethod } from '../../src/engine/methods/types';
import { paramShapes } from '../../src/engine/model/architecture';
import type { Runtime } from '../../src/engine/runtime/session';
import { getModel } from '../../src/engine/train/models';
import { type RunRecord, TINY_GPT2, providerPair, recordRuns } from './device';

const { gpu, cpu } = providerPair();

const def = getModel('gpt2');
const config = def.resolveConfig!(TINY_GPT2) as typeof TINY_GPT2;
const params = new Map(Object.entries(def.init(config, 3)));
const r = new Rng(11);
const rows = (n: number) => ({ rows: n, cols: 16, data: Int32Array.from({ length: n * 16 }, () => r.int(14)) });
const [forget, retain] = [rows(12), rows(24)];
const weightNames = new Set(paramShapes(config).map(([n]) => n));

// Small settings where a method's defaults would take long on lavapipe; everything else is the default.
const SETTINGS: Record<string, Record<string, number>> = {
  'greedy': { ratio: 2e-4 },
  'slimming': { epochs: 3 },
  'hard-concrete': { epochs: 3 },
  'integrated-gradients': { ig_steps: 4 },
  'sou': { numGrads: 8 },
  'subnet': { epochs: 2 },
  'balanced-subnet': { epochs: 2 },
  // The untrained model's forget loss (~2.6) is above the baselines' default stop_loss: they would take no step.
  'gradient-ascent': { stop_loss: 100, epochs: 3 },
  'gradient-difference': { stop_loss: 100, epochs: 3 },
  'gradient-ascent-kl': { stop_loss: 100, epochs: 3 },
};

const unlearning = listMethods().filter((m): m is UnlearningMethod =>
  m.family === 'neuron' || m.family === 'weight' || m.family === 'baseline');

/** The broken rules of device residency in one method's recorded runs (empty when it kept to them). */
function residencyProblems(runs: RunRecord[]): string[] {
  const problems: string[] = [];
  const state = new Set(runs.flatMap((x) => Object.keys(x.fetched)).filter((k) => k.startsWith('new:'))
    .map((k) => k.slice(4)));
  runs.forEach((x, i) => {
    for (const [k, where] of Object.entries(x.feeds)) {
      const weight = weightNames.has(k) || weightNames.has(k.replace(/^orig:/, ''));
      if ((weight || state.has(k)) && where !== 'gpu-buffer') problems.push(`run ${i}: ${k} fed from ${where}`);
    }
    for (const [k, where] of Object.entries(x.fetched)) {
      if (k.startsWith('new:') && where !== 'gpu-buffer') problems.push(`run ${i}: ${k} came back to ${where}`);
    }
  });
  const held = runs.flatMap((x) => x.onDevice).filter((t) => t.location !== 'none').length;
  if (held) problems.push(`${held} device tensors still held after the method ended`);
  return problems;
}

// Each method twice: with the default memory budget (one run per batch) and with one so small that batches split
// into several runs (gradients carried from run to run).
for (const [method, memoryBudget] of unlearning.flatMap((m) => [[m, undefined], [m, 2 ** 20]] as const)) {
  const how = memoryBudget ? `, batches split into runs` : '';
  test(`${method.id} on WebGPU${how}: on the device whole, state kept there, same edit as the CPU`, async () => {
    const hp = resolveHyperParams(method, SETTINGS[method.id] ?? {});
    const run = (runtime: Runtime) => method.run({ runtime, config, params, forget, retain, promptLength: 8, hp,
      seed: 1, memoryBudget });
    const { result: onGpu, runs } = await recordRuns(() => run(gpu));
    assert.ok(runs.length > 0, 'the method ran no session on the device');
    assert.deepEqual(residencyProblems(runs), []);

    const onCpu = await run(cpu);
    assert.deepEqual([...onGpu.masks.keys()].sort(), [...onCpu.masks.keys()].sort());
    for (const [n, m] of onCpu.masks) {
      const g = onGpu.masks.get(n)!;
      const differ = m.reduce((s, v, i) => s + (v !== g[i] ? 1 : 0), 0);
      assert.equal(differ, 0, `${n}: ${differ} of ${m.length} mask entries differ`);
    }
    // Baselines update every weight with AdamW, which scales each step to about lr whatever the gradient's size, so
    // where a gradient is only rounding noise the providers' updates differ by up to lr per step (3 steps of 1e-4).
    const tolerance = method.family === 'baseline' ? 2e-3 : 1e-4;
    let changed = 0;
    for (const [n, a] of onCpu.params) {
      // The key bias's gradient is zero in exact arithmetic: AdamW's update of it is the sign of rounding noise.
      if (method.family === 'baseline' && n.endsWith('attn.c_attn.bias')) continue;
      const b = onGpu.params.get(n)!;
      const before = params.get(n)!;
      const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
      let worst = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
        if (a[i] !== before[i]) changed++;
      }
      assert.ok(worst <= tolerance, `${n}: WebGPU and CPU differ by ${worst.toExponential(2)} of the largest weight`);
    }
    assert.ok(changed > 0, 'the method edited nothing on the CPU, so the comparison proves little');
    console.log(`# ${method.id}${how}: ${runs.length} session runs, ${changed} weights edited, same on both providers`);
  });
}
