// Headline metrics of one evaluation as a table (label, value, one-line meaning), and memorization per duplication
// class as bars when the data set has several classes.
import type { MetricsViewPayload } from '../../src/shared/viewPayloads';
import { num } from './format';
import { columnWidth, textTable } from './textTable';
import { type ChartTheme, themeConfig } from './theme';
import type { VlSpec } from './types';

export const formatMetricValue = (value: number | null, unit: 'percent' | 'perplexity' | 'count'): string =>
  unit === 'percent' ? num(value, 2, '%') : unit === 'perplexity' ? num(value, 3) : num(value, 0);

export function metricsTableRows(p: MetricsViewPayload): Record<string, string>[] {
  const head = p.metrics.filter((m) => m.headline);
  return (head.length ? head : p.metrics.slice(0, 20)).map(
    (m) => ({ label: m.label, value: formatMetricValue(m.value, m.unit), description: m.description }));
}

export function metricsSpec(p: MetricsViewPayload, t: ChartTheme): VlSpec {
  const rows = metricsTableRows(p);
  const parts: VlSpec[] = [
    rows.length
      ? textTable(
          rows,
          [
            { field: 'label', title: 'metric',
              width: columnWidth(rows.map((r) => r.label), 'metric', t.fontSize, 220) },
            { field: 'value', title: 'value', width: columnWidth(rows.map((r) => r.value), 'value', t.fontSize, 100),
              align: 'right' },
            { field: 'description', title: 'meaning',
              width: columnWidth(rows.map((r) => r.description), 'meaning', t.fontSize, 420) },
          ],
          t,
        )
      : { data: { values: [{ text: 'No metrics.' }] }, mark: { type: 'text', align: 'left', color: t.muted },
        encoding: { text: { field: 'text' } }, width: 200, height: 20 },
  ];
  if (p.byClass.length > 1) {
    const values = p.byClass.map(
      (c) => ({ cls: `×${c.factor}`, order: c.dupClass, value: c.percentMemorized ?? 0,
        label: num(c.percentMemorized, 1, '%'), counts: `${c.memorized} of ${c.kept}` }));
    parts.push({
      title: { text: 'Memorization by duplication', fontSize: t.fontSize },
      data: { values },
      width: 280,
      height: { step: 20 },
      encoding: {
        y: { field: 'cls', type: 'nominal', sort: { field: 'order', op: 'min' }, title: 'repeated' },
        x: { field: 'value', type: 'quantitative', title: 'memorized (%)', scale: { domain: [0, 100] } },
      },
      layer: [
        { name: 'byClass', mark: { type: 'bar', color: t.categories.memorized },
          encoding: { tooltip: [{ field: 'cls', title: 'duplication' }, { field: 'label', title: 'memorized' },
            { field: 'counts', title: 'rows' }] } },
        { mark: { type: 'text', align: 'left', dx: 4, color: t.foreground }, encoding: { text: { field: 'label' } } },
      ],
    });
  }
  const sub = [p.dataset, p.artifact, p.provider, num(p.seconds, 1, ' s')].filter(Boolean).join(' · ');
  return { title: { text: p.title, subtitle: sub }, config: themeConfig(t), vconcat: parts };
}
