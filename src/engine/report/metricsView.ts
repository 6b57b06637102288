// Headline metrics of one evaluation: the labelled metric values (all of them; the views show the headline ones
// first) and memorization per duplication class.
import type { EvaluationResult } from '../../shared/metricTypes';
import { type MetricsViewPayload, VIEW_MIME, type ViewOutput } from '../../shared/viewPayloads';
import { finiteOrNull, fmt, mdTable, mdText } from './format';

export const formatMetric = (value: number | null, unit: 'percent' | 'perplexity' | 'count'): string =>
  unit === 'percent' ? fmt(value, 2, '%') : unit === 'perplexity' ? fmt(value, 3) : fmt(value, 0);

export function metricsView(e: EvaluationResult, title = 'Evaluation'): ViewOutput {
  const metrics = [...e.metrics]
    .sort((a, b) => Number(b.headline) - Number(a.headline))
    .slice(0, 1000)
    .map((m) =>
      ({ id: m.id, label: m.label, value: finiteOrNull(m.value), unit: m.unit, description: m.description,
        headline: m.headline }));
  const byClass = (e.memorization?.byClass ?? []).map(
    (c) => ({ dupClass: c.dupClass, factor: c.factor, kept: c.kept, memorized: c.memorized,
      percentMemorized: finiteOrNull(c.percentMemorized) }));
  const payload: MetricsViewPayload = { version: 1, title, dataset: e.dataset, artifact: e.artifact,
    provider: e.provider, seconds: Number.isFinite(e.seconds) && e.seconds >= 0 ? e.seconds : 0, metrics, byClass };
  const head = metrics.filter((m) => m.headline);
  const shown = head.length ? head : metrics;
  const about = [e.dataset, e.artifact, e.provider && mdText(e.provider), fmt(payload.seconds, 1, ' s')].filter(
    Boolean).join(', ');
  let markdown = `**${mdText(title)}** (${about})\n\n`;
  markdown += mdTable(['metric', 'value', 'meaning'],
    shown.map((m) => [mdText(m.label), formatMetric(m.value, m.unit), mdText(m.description)]));
  if (byClass.length > 1) {
    markdown += '\n\n'
      + mdTable(['duplication', 'memorized', 'kept rows'],
        byClass.map((c) => [`×${c.factor}`, fmt(c.percentMemorized, 1, '%'), String(c.kept)]));
  }
  return { mime: VIEW_MIME.metrics, payload, markdown: markdown + '\n' };
}
