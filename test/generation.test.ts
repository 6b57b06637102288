// Batched greedy generation with a key/value cache inside an ONNX Loop, checked against the plain full forward:
// every generated token must be the argmax of the full model's logits on the sequence so far.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { F, Graph, compileGraph } from '../src/engine/graph/index';
import { Rng } from '../src/engine/data/rng';
import { type Gpt2Config, declareGpt2Params, gpt2Forward, initGpt2Params } from '../src/engine/model/gpt2';
import { greedyContinuation } from '../src/engine/metrics/score';
import { Runtime } from '../src/engine/runtime/session';

const rt = new Runtime({ threads: 2 });
after(() => rt.dispose());

// A large initializer_range makes the random model's predictions decisive, so near-ties cannot flip an argmax.
const c: Gpt2Config = { vocab_size: 13, n_positions: 40, n_embd: 24, n_layer: 3, n_head: 3, n_inner: 40,
  activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, initializer_range: 0.5 };
const r = new Rng(4);
const params = initGpt2Params(c, () => r.normal());

/** Argmax of the full forward pass's logits at every position, never picking a `banned` token. */
async function fullArgmax(seqs: number[][], banned: number[] = []): Promise<number[][]> {
  const B = seqs.length;
  const T = seqs[0]!.length;
  const g = new Graph();
  const P = declareGpt2Params(g, c);
  const tokens = g.input('tokens', 'int64', [B, T]);
  const ban = F.constant(g, Array.from({ length: c.vocab_size }, (_, i) => (banned.includes(i) ? -1e30 : 0)),
    'float32', [c.vocab_size]);
  const s = await rt.create(compileGraph(g, { am: F.argMax(F.add(gpt2Forward(c, P, tokens).logits, ban), -1) }));
  const am = (await s.run({ ...Object.fromEntries(params), tokens: seqs.flat() })).outputs.am as BigInt64Array;
  return seqs.map((_, b) => Array.from(am.subarray(b * T, (b + 1) * T), Number));
}

test('each generated token is the full forward pass argmax of the sequence so far (batches with a remainder)',
  async () => {
    const prompts = Array.from({ length: 7 }, () => Array.from({ length: 9 }, () => r.int(c.vocab_size)));
    const steps = 20;
    const { tokens, provider } = await greedyContinuation(rt, c, params, prompts, steps, 3);
    assert.equal(provider, 'cpu');
    assert.equal(tokens.length, prompts.length);
    const full = prompts.map((p, i) => [...p, ...tokens[i]!]);
    const am = await fullArgmax(full.map((s) => s.slice(0, -1)));
    for (let b = 0; b < prompts.length; b++) {
      assert.equal(tokens[b]!.length, steps);
      for (let t = 0; t < steps; t++) assert.equal(tokens[b]![t], am[b]![9 + t - 1],
        `sequence ${b}, generated token ${t}`);
    }
    assert.ok(new Set(tokens.flat()).size > 2, 'the continuation is not a constant');
  });

test('one-step generation, and prompts that do not fit the context are refused', async () => {
  const prompts = [[1, 2, 3], [4, 5, 6]];
  const { tokens } = await greedyContinuation(rt, c, params, prompts, 1);
  const am = await fullArgmax(prompts);
  assert.deepEqual(tokens, am.map((a) => [a[2]]));
  await assert.rejects(greedyContinuation(rt, c, params, [Array(30).fill(1)], 12),
    /exceeds the context n_positions = 40/);
  await assert.rejects(greedyContinuation(rt, c, params, [[1, 2], [1]], 3), /equal lengths/);
});

test('suppressed tokens are never generated, and the rest is the argmax over the other tokens', async () => {
  const prompts = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => r.int(c.vocab_size)));
  const free = await greedyContinuation(rt, c, params, prompts, 12);
  const banned = [...new Set(free.tokens.map((t) => t[0]!))];
  const { tokens } = await greedyContinuation(rt, c, params, prompts, 12, 64, banned);
  assert.ok(tokens.flat().every((t) => !banned.includes(t)));
  const am = await fullArgmax(prompts.map((p, i) => [...p, ...tokens[i]!].slice(0, -1)), banned);
  prompts.forEach((_, b) => tokens[b]!.forEach((t, j) => assert.equal(t, am[b]![6 + j - 1])));
});
