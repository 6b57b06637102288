// The notebook renderer "tinymem-views": draws every TinyMem view payload (heatmaps, curves, comparison, masks,
// metrics, sweeps) with vega-lite inside the output webview. Payloads are untrusted (a .tinymem file is just JSON), so
// each is validated first and a bad one shows a short error text instead of a chart; nothing is ever inserted as HTML.
// vega loads lazily on the first chart; every vega View is finalized when its output is re-rendered or disposed,
// and all charts are redrawn in the new colours when the VS Code theme changes. A running cell's progress view
// (progressView.ts) is drawn with plain elements, no vega.
import type { ActivationFunction, OutputItem, RendererApi } from 'vscode-notebook-renderer';
import type { View } from 'vega';
import { VIEW_MIME, type ViewPayload, validateViewPayload } from '../src/shared/viewPayloads';
import { PROGRESS_MIME, validateProgressPayload } from '../src/shared/progressPayload';
import { renderProgress } from './progressView';
import { specForPayload } from './specs/index';
import { exportToolbar } from './exportButtons';
import { currentTheme, watchTheme } from './theme';
import { STYLE } from './style';

interface Entry {
  element: HTMLElement;
  mime: string;
  payload: ViewPayload;
  view?: View;
}

/**
 * Heatmaps with more cells (sweeps with more runs) than this draw on a canvas: thousands of SVG nodes make scrolling
 * sluggish.
 */
const CANVAS_ABOVE_MARKS = 8000;

const EXPORT_NAMES: Record<string, string> = {
  [VIEW_MIME.heatmap]: 'tinymem-heatmap',
  [VIEW_MIME.heatmapPair]: 'tinymem-heatmap-before-after',
  [VIEW_MIME.curves]: 'tinymem-training-curves',
  [VIEW_MIME.comparison]: 'tinymem-method-comparison',
  [VIEW_MIME.masks]: 'tinymem-pruned-weights',
  [VIEW_MIME.metrics]: 'tinymem-metrics',
  [VIEW_MIME.sweep]: 'tinymem-sweep',
};

let vegaModule: Promise<typeof import('./vegaRuntime')> | undefined;
const loadVega = () => (vegaModule ??= import('./vegaRuntime'));

function injectStyle(): void {
  if (document.getElementById('tinymem-views-style')) return;
  const s = document.createElement('style');
  s.id = 'tinymem-views-style';
  s.textContent = STYLE;
  document.head.appendChild(s);
}

/** `application/vnd.tinymem.heatmap-pair+json` → `heatmap-pair` (a fixed set: only known MIME types get here). */
const shortName = (mime: string) => /^application\/vnd\.tinymem\.([a-z-]+)\+json$/.exec(mime)?.[1] ?? 'unknown';

function showError(element: HTMLElement, mime: string, message: string): void {
  const box = document.createElement('div');
  box.className = 'tinymem-error';
  // data-tinymem-* attributes let the e2e test find the view and its state.
  box.dataset.tinymemView = shortName(mime);
  box.dataset.tinymemError = message.slice(0, 500);
  box.textContent = `TinyMem could not draw this output: ${message.length > 500 ? message.slice(0, 500) + '…'
    : message}`;
  element.replaceChildren(box);
}

function cellCount(p: ViewPayload): number {
  const rows = 'rows' in p && Array.isArray(p.rows) ? p.rows : [];
  const pair = 'before' in p ? [...p.before.rows, ...p.after.rows] : [];
  const runs = 'runs' in p ? p.runs.length : 0;
  return [...rows, ...pair].reduce((s: number, r: unknown) => s + ((r as { flags?: unknown[] }).flags?.length ?? 0),
    runs);
}

export const activate: ActivationFunction = () => {
  const entries = new Map<string, Entry>();
  /** The clocks of drawn progress views, by output item id. */
  const clocks = new Map<string, () => void>();
  const stopClock = (id: string) => {
    clocks.get(id)?.();
    clocks.delete(id);
  };

  function finalize(entry: Entry | undefined): void {
    entry?.view?.finalize();
    if (entry) entry.view = undefined;
  }

  async function draw(id: string, entry: Entry, signal?: AbortSignal): Promise<void> {
    const { vega, compile } = await loadVega();
    // The output may have been replaced or disposed while vega loaded.
    if (signal?.aborted || entries.get(id) !== entry) return;
    finalize(entry);
    const root = document.createElement('div');
    root.className = 'tinymem-view';
    root.dataset.tinymemView = shortName(entry.mime);
    const chart = document.createElement('div');
    chart.className = 'tinymem-chart';
    root.append(exportToolbar(() => entry.view, EXPORT_NAMES[entry.mime] ?? 'tinymem-chart'), chart);
    entry.element.replaceChildren(root);
    let view: View | undefined;
    try {
      const spec = compile(
        specForPayload(entry.mime, entry.payload, currentTheme()) as unknown as Parameters<typeof compile>[0]).spec;
      const loader = vega.loader();
      loader.load = async (uri: string) => {
        throw new Error(`charts load no external data (asked for ${uri})`);
      };
      // No custom tooltip handler: vega's default puts hover text in the element's `title` attribute (plain text).
      view = new vega.View(vega.parse(spec), {
        renderer: cellCount(entry.payload) > CANVAS_ABOVE_MARKS ? 'canvas' : 'svg',
        container: chart,
        hover: true,
        loader,
      });
      entry.view = view;
      await view.runAsync();
      if (entry.view === view) root.dataset.tinymemRendered = 'true';
    } catch (e) {
      // A newer draw (theme change, re-render) may have replaced this one meanwhile: leave that one alone.
      if (view && entry.view !== view) return;
      finalize(entry);
      showError(entry.element, entry.mime, e instanceof Error ? e.message : String(e));
    }
  }

  function redrawAll(): void {
    for (const [id, entry] of entries) void draw(id, entry);
  }
  let unwatch: (() => void) | undefined;

  const api: RendererApi = {
    async renderOutputItem(item: OutputItem, element: HTMLElement, signal: AbortSignal): Promise<void> {
      injectStyle();
      finalize(entries.get(item.id));
      entries.delete(item.id);
      stopClock(item.id);
      if (item.mime === PROGRESS_MIME) {
        try {
          clocks.set(item.id, renderProgress(element, validateProgressPayload(item.text())));
        } catch (e) {
          showError(element, item.mime, e instanceof Error ? e.message : String(e));
        }
        return;
      }
      let payload: ViewPayload;
      try {
        payload = validateViewPayload(item.mime, item.text());
      } catch (e) {
        showError(element, item.mime, e instanceof Error ? e.message : String(e));
        return;
      }
      const entry: Entry = { element, mime: item.mime, payload };
      entries.set(item.id, entry);
      unwatch ??= watchTheme(redrawAll);
      try {
        await draw(item.id, entry, signal);
      } catch (e) {
        showError(element, item.mime, e instanceof Error ? e.message : String(e));
      }
    },
    disposeOutputItem(id?: string): void {
      if (id === undefined) {
        for (const e of entries.values()) finalize(e);
        entries.clear();
        for (const stop of clocks.values()) stop();
        clocks.clear();
      } else {
        finalize(entries.get(id));
        entries.delete(id);
        stopClock(id);
      }
      if (entries.size === 0) {
        unwatch?.();
        unwatch = undefined;
      }
    },
  };
  return api;
};
