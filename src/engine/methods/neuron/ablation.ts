// Neuron ablation shared by the five neuron methods (spec §4.C "Neuron ablation"): per layer, the ⌊ratio·inner⌋
// neurons with the highest scores lose their input weights: GPT-2's c_fc.weight column i (Conv1D layout [in, out])
// and c_fc.bias[i]; GPT-NeoX's dense_h_to_4h.weight row i (Linear layout [out, in]) and bias[i]. With ReLU (and GELU,
// since gelu(0) = 0) the neuron's output is then exactly 0 on every input.
//
// Layers are matched by exact index (`transformer.h.${l}.`, `gpt_neox.layers.${l}.`), not by the reference's substring
// test `str(ly) in name`,
// which for ≥ 10 layers lets layer 1 match layers 10–19 and zero the wrong layer's neurons (spec §7.4).
import { type ModelConfig, dims, mlpNames, upWeightIndices } from '../../model/architecture';
import { applyMasks, pruneCount, topKIndices } from '../shared/pruning';
import type { Params, UnlearnResult } from '../types';

export interface NeuronAblation extends UnlearnResult {
  /** The ablated neurons of each layer, ascending. */
  neurons: number[][];
}

/** Names of layer l's MLP input weight and bias (GPT-2 c_fc, GPT-NeoX dense_h_to_4h). */
export const cFcNames = (l: number, c: ModelConfig): { weight: string; bias: string } => {
  const n = mlpNames(c, l);
  return { weight: n.up, bias: n.upBias };
};

/**
 * Ablates, in each layer, the ⌊ratio·inner⌋ neurons with the largest `scores[layer][neuron]` (ties: lower index first).
 * Returns a copy of `params` with those neurons' c_fc columns and biases zeroed, and the keep-masks (0 = pruned) of
 * every layer's c_fc weight and bias. `params` is not mutated.
 */
export function ablateNeurons(c: ModelConfig, params: Params, scores: readonly ArrayLike<number>[], ratio: number,
  method = 'neuron ablation'): NeuronAblation {
  const { inner, hidden: C, layers } = dims(c);
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`${method}: ratio must lie in [0, 1], got ${ratio}`);
  if (scores.length !== layers) throw new Error(
    `${method}: ${scores.length} layers of scores for a ${layers}-layer model`);
  const k = pruneCount(ratio, inner);
  const masks = new Map<string, Uint8Array>();
  const neurons: number[][] = [];
  const notes: string[] = [];
  scores.forEach((s, l) => {
    if (s.length !== inner) throw new Error(`${method}: layer ${l} has ${s.length} scores for ${inner} neurons`);
    for (let i = 0; i < s.length; i++) {
      if (Number.isNaN(s[i])) throw new Error(`${method}: the score of neuron ${i} in layer ${l} is NaN (did the ` +
        `forward pass overflow?)`);
    }
    const { weight, bias } = cFcNames(l, c);
    const w = params.get(weight);
    const b = params.get(bias);
    if (!w || w.length !== C * inner) throw new Error(
      `${method}: ${weight} should hold ${C}×${inner} values, got ${w ? w.length : 'none'}`);
    if (!b || b.length !== inner) throw new Error(
      `${method}: ${bias} should hold ${inner} values, got ${b ? b.length : 'none'}`);
    const idx = Array.from(topKIndices(s, k)).sort((x, y) => x - y);
    const wMask = new Uint8Array(C * inner).fill(1);
    const bMask = new Uint8Array(inner).fill(1);
    for (const i of idx) {
      bMask[i] = 0;
      for (const j of upWeightIndices(c, i)) wMask[j] = 0; // the neuron's input weights (column or row, per layout)
    }
    masks.set(weight, wMask);
    masks.set(bias, bMask);
    neurons.push(idx);
    notes.push(`layer ${l}: ablated ${idx.length} of ${inner} neurons${idx.length ? ` [${idx.join(', ')}]` : ''}`);
  });
  if (k === 0) notes.push(`⌊${ratio}·${inner}⌋ = 0 neurons per layer: the model is unchanged`);
  return { params: applyMasks(params, masks), masks, notes, neurons };
}
