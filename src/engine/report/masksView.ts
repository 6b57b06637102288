// What an edit pruned (masks.safetensors: 1 = kept, 0 = pruned): the pruned fraction of every masked tensor, the
// masked matrices downsampled HERE on the host to at most 64×64 blocks of pruned counts (a GPT-2 wte mask has 38M
// entries; the webview must never see that), and for neuron methods one strip per layer of ablated MLP neurons.
import { type MaskBlockGrid, type MaskTensorSummary, type MasksViewPayload, type NeuronStrip, VIEW_MIME,
  type ViewOutput } from '../../shared/viewPayloads';
import { finiteOrNull, fmt, mdTable, mdText, tensorPlace } from './format';

/** Block grid side of one matrix at most. */
export const MASKS_MAX_BLOCKS = 64;
/** Blocks of all matrices together: 16 matrices of a 4-layer model get 22×22 each, one or two get 64×64. */
export const MASKS_BLOCK_BUDGET = 8192;
export const MASKS_MAX_MATRICES = 32;

/** Grid side per matrix when `n` matrices share the block budget (at least 8, at most 64). */
export const blockSideFor = (n: number): number =>
  Math.max(8, Math.min(MASKS_MAX_BLOCKS, Math.floor(Math.sqrt(MASKS_BLOCK_BUDGET / Math.max(1, n)))));
/** The MLP input bias whose mask says which neurons were ablated (GPT-2, Pythia). */
const NEURON_BIAS = /^mlp\.(c_fc|dense_h_to_4h)\.bias$/;
/** Bins per neuron strip at most. */
export const NEURON_MAX_BINS = 256;

export interface MasksViewInput {
  masks: Map<string, Uint8Array>;
  shapes: Map<string, number[]> | Record<string, number[]>;
  method: string;
  family: string;
  utility?: 'accuracy' | 'perplexity';
  memBefore?: number | null;
  memAfter?: number | null;
  utilityBefore?: number | null;
  utilityAfter?: number | null;
}

/** Block boundaries: `blocks` near-equal parts of 0..n (floor(i·n/blocks)), strictly increasing when blocks ≤ n. */
export function blockEdges(n: number, blocks: number): number[] {
  return Array.from({ length: blocks + 1 }, (_, i) => Math.floor((i * n) / blocks));
}

/**
 * Downsamples a rows×cols keep-mask (row-major, 0 = pruned) to at most maxBlocks×maxBlocks blocks, counting the
 * pruned entries of each block. Counts (not fractions) so that no rounding is lost: sum(pruned) is the exact total.
 */
export function maskBlockGrid(name: string, mask: Uint8Array, rows: number, cols: number,
  maxBlocks = MASKS_MAX_BLOCKS): MaskBlockGrid {
  if (rows * cols !== mask.length) throw new RangeError(
    `mask ${name}: ${mask.length} entries do not fill a ${rows}×${cols} matrix`);
  const br = Math.min(rows, maxBlocks);
  const bc = Math.min(cols, maxBlocks);
  const rowEdges = blockEdges(rows, br);
  const colEdges = blockEdges(cols, bc);
  // Block index of every column, so the inner loop is one table lookup per entry.
  const colBlock = new Int32Array(cols);
  for (let j = 0; j < bc; j++) colBlock.fill(j, colEdges[j]!, colEdges[j + 1]!);
  const pruned = new Array<number>(br * bc).fill(0);
  for (let bi = 0; bi < br; bi++) {
    const base = bi * bc;
    for (let r = rowEdges[bi]!; r < rowEdges[bi + 1]!; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) if (mask[o + c] === 0) pruned[base + colBlock[c]!]!++;
    }
  }
  return { name, ...tensorPlace(name), rows, cols, rowEdges, colEdges, pruned };
}

/** Ablated neurons of one layer, counted in bins of adjacent neurons. */
export function neuronStrip(layer: number, keep: Uint8Array, maxBins = NEURON_MAX_BINS): NeuronStrip {
  const width = keep.length;
  const binSize = Math.max(1, Math.ceil(width / maxBins));
  const bins = new Array<number>(Math.ceil(width / binSize)).fill(0);
  let ablated = 0;
  for (let i = 0; i < width; i++) {
    if (keep[i] === 0) {
      bins[Math.floor(i / binSize)]!++;
      ablated++;
    }
  }
  return { layer, width, ablated, binSize, bins };
}

const shapeOf = (shapes: MasksViewInput['shapes'], name: string): number[] | undefined =>
  (shapes instanceof Map ? shapes.get(name) : Object.prototype.hasOwnProperty.call(shapes, name) ? shapes[name]
  : undefined);

export function masksView(input: MasksViewInput, title = 'Pruned weights'): ViewOutput {
  const tensors: MaskTensorSummary[] = [];
  const candidates: { name: string; mask: Uint8Array; rows: number; cols: number }[] = [];
  const neurons: NeuronStrip[] = [];
  const neuronFamily = input.family === 'neuron';
  for (const [name, mask] of input.masks) {
    const total = mask.length;
    const given = shapeOf(input.shapes, name);
    // A shape that does not match the mask (a foreign masks file) is shown as a flat vector rather than refused.
    const shape = given && given.reduce((a, b) => a * b, 1) === total ? given : [total];
    let pruned = 0;
    for (let i = 0; i < total; i++) if (mask[i] === 0) pruned++;
    const place = tensorPlace(name);
    tensors.push({ name, ...place, shape: [...shape], pruned, total });
    // Neuron methods prune whole c_fc columns: the per-layer neuron strip says it better than a striped matrix.
    if (neuronFamily) {
      if (place.layer !== null && NEURON_BIAS.test(place.matrix)) neurons.push(neuronStrip(place.layer, mask));
    } else if (shape.length >= 2 && pruned > 0 && shape[0]! > 0) {
      candidates.push({ name, mask, rows: shape[0]!, cols: total / shape[0]! });
    }
  }
  neurons.sort((a, b) => a.layer - b.layer);
  const chosen = candidates.slice(0, MASKS_MAX_MATRICES);
  const side = blockSideFor(chosen.length);
  const matrices = chosen.map((c) => maskBlockGrid(c.name, c.mask, c.rows, c.cols, side));
  const payload: MasksViewPayload = {
    version: 1,
    title,
    method: input.method,
    family: input.family,
    utility: input.utility ?? null,
    memBefore: finiteOrNull(input.memBefore),
    memAfter: finiteOrNull(input.memAfter),
    utilityBefore: finiteOrNull(input.utilityBefore),
    utilityAfter: finiteOrNull(input.utilityAfter),
    tensors,
    matrices,
    neurons,
  };
  const allPruned = tensors.reduce((s, t) => s + t.pruned, 0);
  const all = tensors.reduce((s, t) => s + t.total, 0);
  let markdown = `**${mdText(title)}**: ${mdText(input.method)} (${mdText(input.family)}) pruned ${allPruned} ` +
    `of ${all} masked entries (${fmt(all ? (100 * allPruned) / all : null, 3, '%')}).`;
  if (payload.memBefore !== null || payload.memAfter !== null) markdown += ` Memorization ${fmt(payload.memBefore, 1,
    '%')} → ${fmt(payload.memAfter, 1, '%')}.`;
  if (payload.utilityBefore !== null || payload.utilityAfter !== null) {
    const pct = input.utility !== 'perplexity';
    markdown += ` ${input.utility === 'perplexity' ? 'Perplexity'
      : 'Accuracy'} ${fmt(payload.utilityBefore, 2, pct ? '%' : '')} → ${
      fmt(payload.utilityAfter, 2, pct ? '%' : '')}.`;
  }
  if (candidates.length > chosen.length) markdown += ` Matrix views: the first ${chosen.length} of ` +
    `${candidates.length} pruned matrices.`;
  markdown += '\n\n'
    + mdTable(['tensor', 'shape', 'pruned', 'fraction'],
      tensors.map((t) => [mdText(t.name), t.shape.join('×'), `${t.pruned} / ${t.total}`,
        fmt(t.total ? (100 * t.pruned) / t.total : null, 3, '%')]));
  if (neurons.length) markdown += '\n\n'
    + mdTable(['layer', 'ablated neurons'], neurons.map((n) => [String(n.layer), `${n.ablated} / ${n.width}`]));
  return { mime: VIEW_MIME.masks, payload, markdown: markdown + '\n' };
}
