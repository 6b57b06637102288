// Random controls for the method tests: the same number of units as a method chose (neurons per layer, or entries
// per tensor), picked uniformly at random, so a test can show that the method's choice removes more memorization
// than chance on the fixture (over several draws).
import { Rng } from '../../src/engine/data/rng';
import { ablateNeurons } from '../../src/engine/methods/neuron/ablation';
import type { Params } from '../../src/engine/methods/types';
import { type MemorizingModel, memorizationOn } from './memorizingModel';
import type { Runtime } from '../../src/engine/runtime/session';

/** Ablates `perLayer[l]` random neurons in each layer l (ratio chosen to give that count). */
export function randomNeurons(fx: MemorizingModel, counts: readonly number[], inner: number, rng: Rng): Params {
  // Random scores with the top `count` marked: ablateNeurons takes the ⌊ratio·inner⌋ largest, so give each layer's
  // chosen neurons score 1 and the others 0 with the same k for every layer (the methods ablate k per layer).
  const k = counts[0]!;
  if (counts.some((c) => c !== k)) throw new Error(`random neurons: layers differ in count (${counts.join(', ')})`);
  const scores = counts.map(() => {
    const s = new Float64Array(inner);
    for (const i of rng.sample(inner, k)) s[i] = 1;
    return s;
  });
  return ablateNeurons(fx.config, fx.params, scores, k / inner + 1e-9, 'random').params;
}

/** Zeroes, in every tensor a method masked, as many random entries as it pruned there. */
export function randomEntries(params: Params, masks: ReadonlyMap<string, Uint8Array>, rng: Rng): Params {
  const out: Params = new Map(params);
  for (const [name, mask] of masks) {
    const pruned = mask.reduce((s, v) => s + (v ? 0 : 1), 0);
    if (pruned === 0) continue;
    const w = Float32Array.from(params.get(name)!);
    for (const i of rng.sample(w.length, pruned)) w[i] = 0;
    out.set(name, w);
  }
  return out;
}

/** Zeroes `count` scalars drawn uniformly from all of `params` (tensors in map order, as one flat vector). */
export function randomScalars(params: Params, count: number, rng: Rng): Params {
  const names = [...params.keys()];
  const starts: number[] = [];
  let total = 0;
  for (const n of names) {
    starts.push(total);
    total += params.get(n)!.length;
  }
  const out: Params = new Map(params);
  for (const flat of rng.sample(total, count)) {
    let t = names.length - 1;
    while (starts[t]! > flat) t--;
    const name = names[t]!;
    if (out.get(name) === params.get(name)) out.set(name, Float32Array.from(params.get(name)!));
    out.get(name)![flat - starts[t]!] = 0;
  }
  return out;
}

/** Memorization % after each of `draws` random choices made by `draw`. */
export async function randomMemorization(rt: Runtime, fx: MemorizingModel, draws: number, seed: number,
  draw: (rng: Rng) => Params): Promise<number[]> {
  const out: number[] = [];
  for (let d = 0; d < draws; d++) out.push(await memorizationOn(rt, fx, draw(new Rng(seed + 1000 * d))));
  return out;
}

/** The mean of a list. */
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
