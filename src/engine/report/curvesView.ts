// Training curves: loss, accuracy, memorization (and perplexity for language runs) per epoch. The notebook
// executor calls this again as epochs finish, so it must stay cheap: at most CURVES_MAX_POINTS points, thinned
// evenly (first and last kept) when a long run has more.
import { type CurvePoint, VIEW_MIME, type ViewOutput } from '../../shared/viewPayloads';
import { finiteOrNull, fmt, mdTable, mdText } from './format';

export const CURVES_MAX_POINTS = 2000;
const SERIES = ['loss', 'accuracy', 'memorization', 'perplexity'] as const;

export interface CurveInput {
  epoch: number;
  loss?: number | null;
  accuracy?: number | null;
  memorization?: number | null;
  perplexity?: number | null;
}

export function curvesView(points: readonly CurveInput[], title = 'Training curves'): ViewOutput {
  const clean: CurvePoint[] = points
    .filter((p) => Number.isFinite(p.epoch))
    .map((p) => {
      const out: CurvePoint = { epoch: p.epoch };
      for (const s of SERIES) if (p[s] !== undefined) out[s] = finiteOrNull(p[s]);
      return out;
    })
    .sort((a, b) => a.epoch - b.epoch);
  const kept =
    clean.length <= CURVES_MAX_POINTS ? clean
  : Array.from({ length: CURVES_MAX_POINTS },
      (_, i) => clean[Math.round((i * (clean.length - 1)) / (CURVES_MAX_POINTS - 1))]!);
  const present = SERIES.filter((s) => kept.some((p) => p[s] !== undefined && p[s] !== null));
  const last = kept[kept.length - 1];
  const unit = (s: (typeof SERIES)[number]) => (s === 'accuracy' || s === 'memorization' ? '%' : '');
  const markdown = last
    ? `**${mdText(title)}** (${kept.length} points, last epoch ${last.epoch})\n\n` +
      mdTable(['epoch', ...present],
        [[String(last.epoch), ...present.map((s) => fmt(last[s], s === 'loss' ? 4 : 2, unit(s)))]]) +
      '\n'
    : `**${mdText(title)}**: no points yet.\n`;
  return { mime: VIEW_MIME.curves, payload: { version: 1, title, points: kept }, markdown };
}
