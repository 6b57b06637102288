// Chart colours and fonts. In the webview they come from VS Code's CSS variables (renderers/theme.ts reads them);
// in Node (HTML report, tests) the light default applies. Spec builders take a ChartTheme and never touch the DOM.
import type { HeatmapCategory } from '../../src/shared/viewPayloads';

export interface ChartTheme {
  dark: boolean;
  foreground: string;
  /** Secondary text (axis titles, subtitles). */
  muted: string;
  background: string;
  grid: string;
  font: string;
  fontSize: number;
  /** Line and point colour for single-series charts. */
  accent: string;
  categories: Readonly<Record<HeatmapCategory, string>>;
  /** Low and high end of the pruned-fraction colour ramp. */
  rampLow: string;
  rampHigh: string;
}

export const LIGHT_THEME: ChartTheme = {
  dark: false,
  foreground: '#1f1f1f',
  muted: '#616161',
  background: '#ffffff',
  grid: '#e5e5e5',
  font: 'system-ui, -apple-system, "Segoe UI", Ubuntu, sans-serif',
  fontSize: 12,
  accent: '#0066b8',
  categories: { memorized: '#d62728', 'not-reproduced': '#fdae6b', clean: '#9ecae1', mismatch: '#b0b0b0' },
  rampLow: '#f7fbff',
  rampHigh: '#b30000',
};

export const DARK_THEME: ChartTheme = {
  dark: true,
  foreground: '#cccccc',
  muted: '#9d9d9d',
  background: '#1f1f1f',
  grid: '#3c3c3c',
  font: LIGHT_THEME.font,
  fontSize: 12,
  accent: '#4daafc',
  categories: { memorized: '#f14c4c', 'not-reproduced': '#cc8a3f', clean: '#2e6b8f', mismatch: '#5f5f5f' },
  rampLow: '#252526',
  rampHigh: '#ff6b6b',
};

/** The vega-lite `config` block that applies a theme to every chart. */
export function themeConfig(t: ChartTheme): Record<string, unknown> {
  const text = { labelColor: t.foreground, titleColor: t.muted, labelFont: t.font, titleFont: t.font,
    labelFontSize: t.fontSize - 1, titleFontSize: t.fontSize };
  return {
    background: t.background,
    font: t.font,
    padding: 8,
    view: { stroke: null },
    axis: { ...text, domainColor: t.grid, tickColor: t.grid, gridColor: t.grid, titleFontWeight: 'normal' },
    legend: { ...text, titleFontWeight: 'normal' },
    header: { ...text, labelFontSize: t.fontSize, labelColor: t.foreground },
    title: { color: t.foreground, subtitleColor: t.muted, font: t.font, subtitleFont: t.font, fontSize: t.fontSize + 2,
      subtitleFontSize: t.fontSize, anchor: 'start' },
    text: { color: t.foreground, font: t.font, fontSize: t.fontSize },
    concat: { spacing: 16 },
  };
}
