// A tiny model for the training tests, registered like a real model so that the worker can look it up by name:
// a one-hidden-layer tanh MLP classifier with cross-entropy loss. Loaded in-process by importing this file and in
// the worker through startTraining's `modules` option.
import * as path from 'node:path';
import { F } from '../../src/engine/graph/index';
import { Rng } from '../../src/engine/data/rng';
import { registerModel } from '../../src/engine/train/models';
import type { ArraysDataSource } from '../../src/shared/engineMessages';

export interface MlpConfig {
  inputs: number;
  hidden: number;
  classes: number;
}

export const TINY_MODELS_MODULE = path.join(__dirname, 'tinyModels.ts');

registerModel<MlpConfig>('test-mlp', {
  resolveConfig(c) {
    const { inputs, hidden, classes } = c as MlpConfig;
    for (const [k, v] of Object.entries({ inputs, hidden, classes })) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`model.config.${k}: expected a positive integer, got ${v}`);
    }
    return { inputs, hidden, classes };
  },
  paramShapes: (c) => ({
    'fc1.weight': [c.inputs, c.hidden],
    'fc1.bias': [c.hidden],
    'fc2.weight': [c.hidden, c.classes],
    'fc2.bias': [c.classes],
  }),
  init(c, seed) {
    const r = new Rng(seed);
    const w = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => r.normal() / Math.sqrt(fanIn));
    return {
      'fc1.weight': w(c.inputs * c.hidden, c.inputs),
      'fc1.bias': new Float32Array(c.hidden),
      'fc2.weight': w(c.hidden * c.classes, c.hidden),
      'fc2.bias': new Float32Array(c.classes),
    };
  },
  batchSpec: (c, rows) => ({ x: { dtype: 'float32', shape: [rows, c.inputs] }, y: { dtype: 'int64', shape: [rows] } }),
  loss: () => (_g, p, b) => {
    const h = F.tanh(F.add(F.matmul(b.x!, p['fc1.weight']!), p['fc1.bias']!));
    const logits = F.add(F.matmul(h, p['fc2.weight']!), p['fc2.bias']!);
    return F.crossEntropy(logits, b.y!);
  },
});

/** `rows` random points with random labels: a pure memorization task. */
export function randomClassification(rows: number, c: MlpConfig, seed: number): ArraysDataSource {
  const r = new Rng(seed);
  return {
    kind: 'arrays',
    fields: {
      x: { dtype: 'float32', rowShape: [c.inputs],
        data: Float32Array.from({ length: rows * c.inputs }, () => r.normal()) },
      y: { dtype: 'int64', rowShape: [], data: Int32Array.from({ length: rows }, () => r.int(c.classes)) },
    },
  };
}
