// Training curves: one small line chart per metric (loss, accuracy, memorization, perplexity), stacked, sharing
// the epoch axis; each has its own y scale since the units differ.
import type { CurvesViewPayload } from '../../src/shared/viewPayloads';
import { type ChartTheme, themeConfig } from './theme';
import type { VlSpec } from './types';

export const CURVE_SERIES = [
  { key: 'loss', label: 'training loss' },
  { key: 'accuracy', label: 'accuracy (%)' },
  { key: 'memorization', label: 'memorization (%)' },
  { key: 'perplexity', label: 'perplexity' },
] as const;

/** Long format: one datum per (epoch, metric) with a value. */
export function curveData(p: CurvesViewPayload): { epoch: number; metric: string; order: number; value: number }[] {
  const out: { epoch: number; metric: string; order: number; value: number }[] = [];
  for (const pt of p.points) {
    CURVE_SERIES.forEach((s, order) => {
      const v = pt[s.key];
      if (typeof v === 'number' && Number.isFinite(v)) out.push({ epoch: pt.epoch, metric: s.label, order, value: v });
    });
  }
  return out;
}

export function curvesSpec(p: CurvesViewPayload, t: ChartTheme): VlSpec {
  const values = curveData(p);
  const base = { title: p.title, config: themeConfig(t) };
  if (values.length === 0) {
    return { ...base, data: { values: [{ text: 'No epochs finished yet.' }] },
      mark: { type: 'text', align: 'left', color: t.muted }, encoding: { text: { field: 'text' } }, width: 200,
      height: 20 };
  }
  const present = CURVE_SERIES.filter((s) => values.some((v) => v.metric === s.label));
  const colors = [t.accent, '#2ca02c', t.categories.memorized, '#9467bd'];
  const single = new Set(values.map((v) => v.epoch)).size === 1;
  return {
    ...base,
    data: { values },
    facet: { row: { field: 'metric', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null,
      header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      name: 'curves',
      width: 480,
      height: 100,
      mark: { type: 'line', point: single ? { filled: true, size: 40 } : { filled: true, size: 16 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'metric', type: 'nominal', legend: null,
          scale: { domain: present.map((s) => s.label), range: present.map((s) => colors[CURVE_SERIES.indexOf(s)]!) } },
        tooltip: [
          { field: 'epoch', type: 'quantitative' },
          { field: 'metric', type: 'nominal' },
          { field: 'value', type: 'quantitative', format: '.4~g' },
        ],
      },
    },
    resolve: { scale: { y: 'independent' } },
    spacing: 8,
  };
}
