// Payload → vega-lite spec for every view MIME type. Used by the webview renderer and by Node (HTML report, tests);
// DOM-free on purpose. The payload must already have passed validateViewPayload.
import { VIEW_MIME, type ViewPayload } from '../../src/shared/viewPayloads';
import type {
  ComparisonViewPayload,
  CurvesViewPayload,
  HeatmapPairViewPayload,
  HeatmapViewPayload,
  MasksViewPayload,
  MetricsViewPayload,
  SweepViewPayload,
} from '../../src/shared/viewPayloads';
import { comparisonSpec } from './comparisonSpec';
import { curvesSpec } from './curvesSpec';
import { heatmapPairSpec, heatmapSpec } from './heatmapSpec';
import { masksSpec } from './masksSpec';
import { metricsSpec } from './metricsSpec';
import { sweepSpec } from './sweepSpec';
import type { ChartTheme } from './theme';
import type { VlSpec } from './types';

export { DARK_THEME, LIGHT_THEME, type ChartTheme, themeConfig } from './theme';
export type { VlSpec } from './types';

export function specForPayload(mime: string, payload: ViewPayload, theme: ChartTheme): VlSpec {
  switch (mime) {
    case VIEW_MIME.heatmap: return heatmapSpec(payload as HeatmapViewPayload, theme);
    case VIEW_MIME.heatmapPair: return heatmapPairSpec(payload as HeatmapPairViewPayload, theme);
    case VIEW_MIME.curves: return curvesSpec(payload as CurvesViewPayload, theme);
    case VIEW_MIME.comparison: return comparisonSpec(payload as ComparisonViewPayload, theme);
    case VIEW_MIME.masks: return masksSpec(payload as MasksViewPayload, theme);
    case VIEW_MIME.metrics: return metricsSpec(payload as MetricsViewPayload, theme);
    case VIEW_MIME.sweep: return sweepSpec(payload as SweepViewPayload, theme);
    default: throw new Error(`no chart for ${mime}`);
  }
}
