// The progress view of a running cell: a heading (step, cell, percent), an SVG bar (a sliding segment while the
// fraction is unknown), the engine's progress line, and the time elapsed, the time left and the provider. The
// extension replaces it at most twice a second; between updates the times tick here once a second, so a step that
// reports rarely (data building, evaluation) still shows time passing. Text only (textContent); colours from the
// theme's CSS variables.
import { type ProgressPayload, progressHeading, timesText } from '../src/shared/progressPayload';

const TICK_MS = 1000;
const SVG = 'http://www.w3.org/2000/svg';

function rect(className: string, width: string): SVGRectElement {
  const r = document.createElementNS(SVG, 'rect');
  r.setAttribute('class', className);
  r.setAttribute('width', width);
  r.setAttribute('height', '100%');
  r.setAttribute('rx', '3');
  return r;
}

function el(tag: string, className: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Draws `p` into `element`; returns the function that stops its clock. */
export function renderProgress(element: HTMLElement, p: ProgressPayload): () => void {
  const root = el('div', 'tinymem-progress');
  root.dataset.tinymemView = 'progress';
  root.dataset.tinymemRendered = 'true';
  // The bar is SVG (a track and a fill, coloured by CSS), like the other views' graphics.
  const bar = document.createElementNS(SVG, 'svg');
  bar.setAttribute('class', 'tinymem-progress-bar');
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-label', `${p.step} progress`);
  const track = rect('tinymem-progress-track', '100%');
  const fill = rect('tinymem-progress-fill', p.fraction === undefined ? '30%' : `${(p.fraction * 100).toFixed(1)}%`);
  if (p.fraction === undefined) bar.classList.add('tinymem-progress-unknown');
  else {
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    bar.setAttribute('aria-valuenow', String(Math.floor(p.fraction * 100)));
  }
  bar.append(track, fill);
  const times = el('div', 'tinymem-progress-times', timesText(p, 0));
  root.append(el('div', 'tinymem-progress-heading', progressHeading(p)), bar,
    el('div', 'tinymem-progress-message', p.message), times);
  element.replaceChildren(root);
  const shown = Date.now();
  const timer = setInterval(() => {
    times.textContent = timesText(p, (Date.now() - shown) / 1000);
  }, TICK_MS);
  return () => clearInterval(timer);
}
