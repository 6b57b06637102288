// A whole 2-layer GPT-2 with neuron masks, weight masks and dropout masks as inputs, gradient-checked in float64
// for every parameter and every mask against central finite differences.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { F, type Graph, type Tensor } from '../src/engine/graph/index';
import { type Activation, type Gpt2Config, declareGpt2Params, gpt2Forward, gpt2ParamShapes, initGpt2Params,
  nextTokenTargets } from '../src/engine/model/gpt2';
import { type CheckInput, gradCheck, rng, runtime } from './helpers/gradcheck';

const config = (activation_function: Activation): Gpt2Config => ({
  vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2, n_inner: 12,
  activation_function, layer_norm_epsilon: 1e-5, initializer_range: 0.4,
});

function build(c: Gpt2Config, seed: number) {
  return (g: Graph): { inputs: CheckInput[]; y: Tensor } => {
    const r = rng(seed);
    const B = 2;
    const T = 6;
    const P = declareGpt2Params(g, c, 'float64');
    const init = initGpt2Params(c, r.normal);
    // LayerNorm weights and biases get random values too, so their gradients are not at a special point.
    const inputs: CheckInput[] = gpt2ParamShapes(c).map(([name]) => ({
      tensor: P[name]!,
      data: /ln_.*|bias/.test(name) ? init.get(name)!.map((v) => v + 0.3 * r.normal()) : init.get(name)!,
    }));
    const inner = c.n_inner!;
    const mask = (name: string, shape: number[], f: () => number) => {
      const t = g.input(name, 'float64', shape);
      inputs.push({ tensor: t, data: Array.from({ length: t.size }, f) });
      return t;
    };
    const neuronMasks = [0, 1].map((i) => mask(`neuron_mask_${i}`, [inner], () => 0.5 + r.uniform()));
    const weightMasks = [0, 1].map((i) => ({
      up: mask(`c_fc_mask_${i}`, [c.n_embd, inner], () => (r.uniform() < 0.8 ? 1 : 0)),
      down: mask(`c_proj_mask_${i}`, [inner, c.n_embd], () => r.uniform()),
    }));
    const dropMask = () => (r.uniform() < 0.9 ? 1 : 0);
    const dropout = {
      p: 0.1,
      embd: mask('drop_embd', [B, T, c.n_embd], dropMask),
      attn: [0, 1].map((i) => mask(`drop_attn_${i}`, [B, T, c.n_embd], dropMask)),
      mlp: [0, 1].map((i) => mask(`drop_mlp_${i}`, [B, T, c.n_embd], dropMask)),
    };
    const tokens = F.constant(g, Array.from({ length: B * T }, () => Math.floor(r.uniform() * c.vocab_size)), 'int64',
      [B, T]);
    const { logits } = gpt2Forward(c, P, tokens, { neuronMasks, weightMasks, dropout });
    return { inputs, y: F.crossEntropy(logits, nextTokenTargets(tokens), { reduction: 'mean' }) };
  };
}

const results: string[] = [];
for (const act of ['gelu_new', 'relu', 'gelu'] as const) {
  test(`2-layer GPT-2 (${act}) gradients match finite differences for every parameter and mask`, async () => {
    const seed = 77;
    const res = await gradCheck(build(config(act), seed), { seed, directions: 2 });
    const names = Object.keys(res.perInput);
    assert.equal(names.length, gpt2ParamShapes(config(act)).length + 2 + 4 + 5, 'every parameter and mask was checked');
    const worst = names.reduce((a, b) => (res.perInput[a]! >= res.perInput[b]! ? a : b));
    results.push(`${act}: largest relative error ${res.maxRelError.toExponential(2)} (${worst})`);
    assert.ok(res.maxRelError <= 1e-6, `relative error ${res.maxRelError.toExponential(2)} > 1e-6 at ${worst} (seed ` +
      `${seed}): ${JSON.stringify(res.perInput)}`);
  });
}

after(async () => {
  for (const r of results) console.log(r);
  await runtime.dispose();
});
