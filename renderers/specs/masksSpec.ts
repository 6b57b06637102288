// What an edit pruned: a layer × matrix heat chart of pruned fractions (with the percentage written in each cell),
// one block heatmap per pruned matrix (blocks of the host-side downsampling, exact block bounds on both axes), and
// for neuron methods one strip per layer marking the ablated MLP neurons.
import type { MaskBlockGrid, MasksViewPayload } from '../../src/shared/viewPayloads';
import { num } from './format';
import { type ChartTheme, themeConfig } from './theme';
import type { VlSpec } from './types';

export const MASK_SUMMARY_NAME = 'summary';
export const MASK_BLOCKS_NAME = 'blocks';
export const MASK_NEURONS_NAME = 'neurons';

export interface MaskSummaryCell {
  layer: string;
  layerOrder: number;
  matrix: string;
  matrixOrder: number;
  fraction: number;
  label: string;
  name: string;
  counts: string;
}

/** One cell per masked tensor: its pruned fraction (pruned / total). */
export function maskSummaryCells(p: MasksViewPayload): MaskSummaryCell[] {
  const matrixOrder = new Map<string, number>();
  for (const t of p.tensors) if (!matrixOrder.has(t.matrix)) matrixOrder.set(t.matrix, matrixOrder.size);
  return p.tensors.map((t) => {
    const fraction = t.total ? t.pruned / t.total : 0;
    return {
      layer: t.layer === null ? 'other' : `layer ${t.layer}`,
      layerOrder: t.layer === null ? -1 : t.layer,
      matrix: t.matrix,
      matrixOrder: matrixOrder.get(t.matrix)!,
      fraction,
      label: num(100 * fraction, fraction > 0 && fraction < 0.01 ? 2 : 1, '%'),
      name: t.name,
      counts: `${t.pruned} of ${t.total}`,
    };
  });
}

/** One datum per block of a downsampled matrix, with its exact row/column bounds and pruned fraction. */
export function maskBlocks(m: MaskBlockGrid): { x0: number; x1: number; y0: number; y1: number; fraction: number;
  counts: string; where: string; }[] {
  const bc = m.colEdges.length - 1;
  return m.pruned.map((n, i) => {
    const bi = Math.floor(i / bc);
    const bj = i % bc;
    const y0 = m.rowEdges[bi]!;
    const y1 = m.rowEdges[bi + 1]!;
    const x0 = m.colEdges[bj]!;
    const x1 = m.colEdges[bj + 1]!;
    const size = (y1 - y0) * (x1 - x0);
    return { x0, x1, y0, y1, fraction: size ? n / size : 0, counts: `${n} of ${size}`,
      where: `rows ${y0}–${y1 - 1}, columns ${x0}–${x1 - 1}` };
  });
}

function ramp(t: ChartTheme, max: number) {
  return { type: 'linear', domain: [0, max > 0 ? max : 1], range: [t.rampLow, t.rampHigh], interpolate: 'rgb',
    clamp: true };
}

function matrixChart(m: MaskBlockGrid, i: number, t: ChartTheme, max: number): VlSpec {
  const aspect = m.rows / m.cols;
  const w = aspect > 1 ? Math.max(60, Math.round(200 / aspect)) : 200;
  const h = aspect > 1 ? 200 : Math.max(40, Math.round(200 * aspect));
  const total = m.pruned.reduce((a, b) => a + b, 0);
  return {
    title: { text: m.layer === null ? m.matrix : `layer ${m.layer} · ${m.matrix}`,
      subtitle: `${m.rows}×${m.cols}, ${num((100 * total) / (m.rows * m.cols), 2, '%')} pruned`, fontSize: t.fontSize,
      subtitleFontSize: t.fontSize - 2 },
    width: w,
    height: h,
    data: { values: maskBlocks(m) },
    // Unit names must be unique within a view (vega derives signal names from them).
    name: `${MASK_BLOCKS_NAME}_${i}`,
    mark: { type: 'rect', aria: false },
    encoding: {
      x: { field: 'x0', type: 'quantitative', title: null, scale: { domain: [0, m.cols], nice: false, zero: true },
        axis: { tickCount: 3, tickMinStep: 1, format: 'd', grid: false } },
      x2: { field: 'x1' },
      y: { field: 'y0', type: 'quantitative', title: null,
        scale: { domain: [0, m.rows], nice: false, zero: true, reverse: true },
        axis: { tickCount: 3, tickMinStep: 1, format: 'd', grid: false } },
      y2: { field: 'y1' },
      color: { field: 'fraction', type: 'quantitative', title: 'pruned fraction', scale: ramp(t, max),
        legend: { format: '.1%' } },
      tooltip: [
        { field: 'where', title: 'block' },
        { field: 'counts', title: 'pruned' },
        { field: 'fraction', type: 'quantitative', title: 'fraction', format: '.2%' },
      ],
    },
  };
}

export function masksSpec(p: MasksViewPayload, t: ChartTheme): VlSpec {
  const cells = maskSummaryCells(p);
  const pruned = p.tensors.reduce((s, x) => s + x.pruned, 0);
  const total = p.tensors.reduce((s, x) => s + x.total, 0);
  const parts = [`${p.method} (${p.family})`, `${pruned} of ${total} masked entries pruned ` +
    `(${num(total ? (100 * pruned) / total : null, 3, '%')})`];
  if (p.memBefore !== null || p.memAfter !== null) parts.push(
    `memorization ${num(p.memBefore, 1, '%')} → ${num(p.memAfter, 1, '%')}`);
  if (p.utilityBefore !== null || p.utilityAfter !== null) {
    const ppl = p.utility === 'perplexity';
    parts.push(`${ppl ? 'perplexity' : 'accuracy'} ${num(p.utilityBefore, 2, ppl ? '' : '%')} → ` +
      `${num(p.utilityAfter, 2, ppl ? '' : '%')}`);
  }
  const maxFrac = Math.max(0, ...cells.map((c) => c.fraction));
  const charts: VlSpec[] = [];
  if (cells.length) {
    charts.push({
      title: { text: 'Pruned fraction per layer and matrix', fontSize: t.fontSize },
      data: { values: cells },
      encoding: {
        x: { field: 'matrix', type: 'nominal', sort: { field: 'matrixOrder', op: 'min' }, title: null,
          axis: { labelAngle: -30, orient: 'top' } },
        y: { field: 'layer', type: 'nominal', sort: { field: 'layerOrder', op: 'min' }, title: null },
      },
      layer: [
        {
          name: MASK_SUMMARY_NAME,
          mark: { type: 'rect', stroke: t.background },
          encoding: {
            color: { field: 'fraction', type: 'quantitative', title: 'pruned', scale: ramp(t, maxFrac),
              legend: { format: '.1%' } },
            tooltip: [
              { field: 'name', title: 'tensor' },
              { field: 'counts', title: 'pruned' },
              { field: 'fraction', type: 'quantitative', title: 'fraction', format: '.3%' },
            ],
          },
        },
        {
          mark: { type: 'text', fontSize: t.fontSize - 2 },
          // Light text on the dark end of the ramp (the threshold is a number computed here, never payload text).
          encoding: { text: { field: 'label' },
            color: { condition: { test: `datum.fraction > ${0.6 * maxFrac}`, value: t.dark ? '#1f1f1f' : '#ffffff' },
              value: t.foreground } },
        },
      ],
      width: { step: 72 },
      height: { step: 22 },
    });
  }
  if (p.matrices.length) {
    const blockMax = Math.max(0, ...p.matrices.flatMap((m) => maskBlocks(m).map((b) => b.fraction)));
    charts.push({ concat: p.matrices.map((m, i) => matrixChart(m, i, t, blockMax)), columns: 4,
      resolve: { scale: { color: 'shared' } } });
  }
  if (p.neurons.length) {
    const values = p.neurons.flatMap((s) =>
      s.bins.map((n, i) => {
        const x0 = i * s.binSize;
        const x1 = Math.min(s.width, x0 + s.binSize);
        return { layer: `layer ${s.layer}`, layerOrder: s.layer, x0, x1, fraction: n / (x1 - x0),
          counts: `${n} of ${x1 - x0}`, where: s.binSize === 1 ? `neuron ${x0}` : `neurons ${x0}–${x1 - 1}`,
          ablated: `${s.ablated} of ${s.width} in the layer` };
      }),
    );
    charts.push({
      title: { text: 'Ablated MLP neurons per layer', fontSize: t.fontSize },
      name: MASK_NEURONS_NAME,
      data: { values },
      width: 560,
      height: { step: 18 },
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'x0', type: 'quantitative', title: 'neuron', axis: { tickMinStep: 1, format: 'd' },
          scale: { domain: [0, Math.max(...p.neurons.map((s) => s.width))], nice: false, zero: true } },
        x2: { field: 'x1' },
        y: { field: 'layer', type: 'nominal', sort: { field: 'layerOrder', op: 'min' }, title: null },
        color: { field: 'fraction', type: 'quantitative', title: 'ablated',
          scale: { domain: [0, 1], range: [t.rampLow, t.rampHigh], interpolate: 'rgb' }, legend: { format: '.0%' } },
        tooltip: [
          { field: 'where', title: 'bin' },
          { field: 'counts', title: 'ablated' },
          { field: 'ablated', title: 'layer total' },
        ],
      },
    });
  }
  if (!charts.length) charts.push({ data: { values: [{ text: 'Nothing was masked (the method changes weights without ' +
    'pruning).' }] }, mark: { type: 'text', align: 'left', color: t.muted }, encoding: { text: { field: 'text' } },
  width: 300, height: 20 });
  return { title: { text: p.title, subtitle: parts.join(' · ') }, config: themeConfig(t), vconcat: charts,
    resolve: { scale: { color: 'independent' } } };
}
