// Parity of the engine's GPT-NeoX and GPT-2 models with the independent PyTorch reference
// (../shared/bench/torch_reference.py): logits, per-sequence loss and greedy continuations of random Hugging Face
// checkpoints built here. Without torch the comparisons are skipped (said so), the engine-side checks still run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { greedyContinuation, sequenceLogits, sequenceLosses } from '../src/engine/metrics/score';
import { loadModelFolder } from '../src/engine/model/checkpoint';
import { Runtime } from '../src/engine/runtime/session';
import {
  TOKENIZER_VOCAB, freshDir, gpt2RawConfig, neoxRawConfig, randomGpt2Params, randomNeoxParams, torchLogits,
  writeGpt2Folder, writeNeoxFolder,
} from './helpers/hfCheckpoints';
import { torchScore, torchSkip } from './helpers/torchReference';

const why = torchSkip();
const PROMPT = 8;
const GEN = 16;
const seqs = Array.from({ length: 3 },
  (_, i) => Array.from({ length: 24 }, (_, j) => (i * 31 + j * 17 + 5) % TOKENIZER_VOCAB));

interface Parity {
  maxRelLogit: number;
  maxRelLoss: number;
  greedyAgree: number;
}

/** Compares the engine with torch on one folder; prints the figures the report quotes. */
async function parity(label: string, dir: string): Promise<Parity> {
  const m = loadModelFolder(dir);
  const rt = new Runtime({ threads: 1 });
  try {
    const logits = await sequenceLogits(rt, m.config, m.params, seqs);
    const { loss } = await sequenceLosses(rt, m.config, m.params, seqs);
    const { tokens } = await greedyContinuation(rt, m.config, m.params, seqs.map((s) => s.slice(0, PROMPT)), GEN);
    // Greedy decoding through the KV cache must equal argmax of the full forward pass of the growing sequence.
    for (const f of loss) assert.ok(Number.isFinite(f));
    const ref = torchLogits(dir, seqs).flat(2);
    assert.equal(ref.length, logits.length);
    let maxAbs = 0;
    let scale = 0;
    for (let i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(logits[i]! - ref[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    const t = torchScore(dir, seqs, { promptLen: PROMPT, generate: GEN });
    const maxRelLoss = Math.max(...loss.map((l, i) => Math.abs(l - t.loss[i]!) / Math.abs(t.loss[i]!)));
    let same = 0;
    let total = 0;
    tokens.forEach((g, i) => g.forEach((tok, j) => ((same += tok === t.greedy![i]![j] ? 1 : 0), total++)));
    const p = { maxRelLogit: maxAbs / scale, maxRelLoss, greedyAgree: same / total };
    console.log(`parity ${label}: max |Δlogit|/max|logit| ${p.maxRelLogit.toExponential(2)}, max rel. loss diff ` +
      `${p.maxRelLoss.toExponential(2)}, greedy tokens agree ${(100 * p.greedyAgree).toFixed(1)} % (${total})`);
    return p;
  } finally {
    await rt.dispose();
  }
}

const check = (p: Parity) => {
  assert.ok(p.maxRelLogit < 1e-5, `logits differ: ${p.maxRelLogit}`);
  assert.ok(p.maxRelLoss < 1e-5, `losses differ: ${p.maxRelLoss}`);
  assert.equal(p.greedyAgree, 1);
};

test('GPT-NeoX (parallel residual, rotary 25 %) matches torch_reference.py: logits, loss, greedy',
  { skip: why ? `skipped: ${why}` : false }, async () => {
    const raw = neoxRawConfig({ std: 0.3 });
    check(await parity('gpt_neox parallel F32', writeNeoxFolder(freshDir(), raw, randomNeoxParams(raw, 1))));
  });

test('GPT-NeoX (sequential residual, full rotary, F16 weights) matches torch_reference.py',
  { skip: why ? `skipped: ${why}` : false }, async () => {
    const raw = neoxRawConfig({ std: 0.3, parallel: false, rotaryPct: 1, layers: 3, heads: 2 });
    check(await parity('gpt_neox sequential F16',
      writeNeoxFolder(freshDir(), raw, randomNeoxParams(raw, 2), { dtype: 'F16' })));
  });

test('GPT-2 with a separate lm_head matches torch_reference.py', { skip: why ? `skipped: ${why}` : false },
  async () => {
    const raw = gpt2RawConfig({ std: 0.3, untied: true });
    check(await parity('gpt2 untied F32', writeGpt2Folder(freshDir(), raw, randomGpt2Params(raw, 3))));
  });

test('GPT-2 with a tied head (F16 weights) matches torch_reference.py', { skip: why ? `skipped: ${why}` : false },
  async () => {
    const raw = gpt2RawConfig({ std: 0.3 });
    check(await parity('gpt2 tied F16', writeGpt2Folder(freshDir(), raw, randomGpt2Params(raw, 4), { dtype: 'F16' })));
  });

test('NeoX greedy decoding through the KV cache equals argmax of full forward passes', async () => {
  const raw = neoxRawConfig({ std: 0.3 });
  const m = loadModelFolder(writeNeoxFolder(freshDir(), raw, randomNeoxParams(raw, 5)));
  const rt = new Runtime({ threads: 1 });
  try {
    const prompt = seqs[0]!.slice(0, PROMPT);
    const { tokens } = await greedyContinuation(rt, m.config, m.params, [prompt], 6);
    const grown = [...prompt];
    for (let s = 0; s < 6; s++) {
      const logits = await sequenceLogits(rt, m.config, m.params, [grown]);
      const V = TOKENIZER_VOCAB;
      const last = logits.subarray((grown.length - 1) * V, grown.length * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (last[v]! > last[best]!) best = v;
      grown.push(best);
    }
    assert.deepEqual(tokens[0], grown.slice(PROMPT));
  } finally {
    await rt.dispose();
  }
});
