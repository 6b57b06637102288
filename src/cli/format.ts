// Plain-text tables and metric lines for the terminal.
import type { MetricValue } from '../shared/metricTypes';

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatMetric(m: MetricValue): string {
  if (m.value === null) return 'n/a';
  if (m.unit === 'percent') return `${m.value.toFixed(2)} %`;
  if (m.unit === 'count') return String(m.value);
  return m.value.toFixed(4);
}

/** The headline metrics with their one-line descriptions. */
export function metricsTable(metrics: readonly MetricValue[], all = false): string {
  const shown = metrics.filter((m) => all || m.headline);
  return table(
    [['metric', 'value', 'what it measures'], ...shown.map((m) => [m.label, formatMetric(m), m.description])]);
}
