// Plants sequences in a small random GPT-NeoX by fine-tuning it (AdamW on the whole model, one compiled step) on a
// mix of clean "language" (a sparse random Markov chain, learnable, so perplexity means something) and a few
// random sequences repeated until they are memorized: the stand-in for Pythia memorizing Pile sequences.
import { F, Graph, compileGraph, gradients } from '../../src/engine/graph/index';
import { Rng } from '../../src/engine/data/rng';
import { type ModelConfig, declareParams, modelForward, nextTokenTargets,
  paramShapes } from '../../src/engine/model/architecture';
import { adamwUpdate } from '../../src/engine/train/adamw';
import type { Runtime } from '../../src/engine/runtime/session';

/**
 * A walk of `tokens` steps on a sparse Markov chain over `vocab` tokens: each token is followed by one of `fanout`
 * successors. The chain comes from `chainSeed` (the "language"), the walk from `walkSeed` (the "document").
 */
export function markovText(vocab: number, tokens: number, chainSeed: number, walkSeed: number, fanout = 3): number[] {
  const c = new Rng(chainSeed);
  const next = Array.from({ length: vocab }, () => Array.from({ length: fanout }, () => c.int(vocab)));
  const r = new Rng(walkSeed);
  const out = [r.int(vocab)];
  while (out.length < tokens) out.push(next[out[out.length - 1]!]![r.int(fanout)]!);
  return out;
}

export const randomSequence = (vocab: number, length: number, r: Rng): number[] =>
  Array.from({ length }, () => r.int(vocab));

/**
 * Fine-tunes `params` (copied) for `steps` AdamW steps on batches of `batch` rows: every batch holds each planted
 * sequence once, the rest are random windows of the clean text. Returns the trained params and the last loss.
 */
export async function plantByFinetuning(
  rt: Runtime,
  c: ModelConfig,
  params: Map<string, Float32Array>,
  o: { planted: number[][]; clean: number[]; batch: number; steps: number; lr: number; seed: number },
): Promise<{ params: Map<string, Float32Array>; loss: number }> {
  const T = o.planted[0]!.length;
  const B = o.batch;
  const shapes = paramShapes(c);
  const session = await rt.session(`test-neox-finetune:${JSON.stringify(c)}:${B}x${T}`, () => {
    const g = new Graph();
    const P = declareParams(g, c);
    const ps = shapes.map(([n]) => P[n]!);
    const m = shapes.map(([n, s]) => g.input(`m:${n}`, 'float32', s));
    const v = shapes.map(([n, s]) => g.input(`v:${n}`, 'float32', s));
    const step = g.input('step', 'float32', []);
    const tokens = g.input('tokens', 'int64', [B, T]);
    const loss = F.crossEntropy(modelForward(c, P, tokens).logits, nextTokenTargets(tokens));
    const upd = adamwUpdate(ps, gradients(loss, ps), { m, v }, step, { lr: o.lr, weightDecay: 0 });
    const outs: Record<string, ReturnType<typeof F.add>> = { loss };
    shapes.forEach(([n], i) => {
      outs[`new:${n}`] = upd.params[i]!;
      outs[`new:m:${n}`] = upd.m[i]!;
      outs[`new:v:${n}`] = upd.v[i]!;
    });
    return compileGraph(g, outs, 'test-finetune');
  });
  const r = new Rng(o.seed);
  let p = new Map(params);
  let m = new Map<string, Float32Array>(shapes.map(([n]) => [n, new Float32Array(params.get(n)!.length)]));
  let v = new Map<string, Float32Array>(shapes.map(([n]) => [n, new Float32Array(params.get(n)!.length)]));
  let loss = NaN;
  for (let s = 1; s <= o.steps; s++) {
    const rows = [...o.planted];
    while (rows.length < B) {
      const at = r.int(o.clean.length - T);
      rows.push(o.clean.slice(at, at + T));
    }
    const feeds: Record<string, Float32Array | number[]> = { step: Float32Array.of(s), tokens: rows.flat() };
    for (const [n] of shapes) {
      feeds[n] = p.get(n)!;
      feeds[`m:${n}`] = m.get(n)!;
      feeds[`v:${n}`] = v.get(n)!;
    }
    const { outputs } = await session.run(feeds);
    loss = (outputs.loss as Float32Array)[0]!;
    p = new Map(shapes.map(([n]) => [n, outputs[`new:${n}`] as Float32Array]));
    m = new Map(shapes.map(([n]) => [n, outputs[`new:m:${n}`] as Float32Array]));
    v = new Map(shapes.map(([n]) => [n, outputs[`new:v:${n}`] as Float32Array]));
  }
  return { params: p, loss };
}
