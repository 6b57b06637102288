// The HTML report of a notebook run (headless `tinymem run`, "Export report"): one self-contained file, no scripts,
// no external URLs. Charts are the renderer's own vega-lite specs rendered to inline SVG in Node; markdown cells go
// through the safe markdown renderer; every other string is escaped. An output that cannot be drawn falls back to
// its markdown text with a note, so one bad payload never loses the rest of the report.
import { LIGHT_THEME } from '../../../renderers/specs/index';
import { VIEW_MIMES, type ViewOutput } from '../../shared/viewPayloads';
import { escapeHtml } from './htmlEscape';
import { markdownToSafeHtml } from './markdownHtml';
import { renderViewSvg } from './svg';

export interface ReportCell {
  kind: 'markdown' | 'step';
  source: string;
  outputs: ViewOutput[];
  error?: string;
}

export interface ReportDoc {
  title: string;
  cells: ReportCell[];
}

const STYLE = `
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Ubuntu,sans-serif;color:#1f1f1f;background:#fff;\
max-width:1200px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 16px}
.cell{border-top:1px solid #e5e5e5;padding:12px 0}
.source{background:#f6f8fa;border:1px solid #e5e5e5;border-radius:4px;padding:8px 12px;overflow-x:auto;\
font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre}
.output{margin:12px 0;overflow-x:auto}
.output svg{max-width:100%;height:auto}
.error{color:#a1260d;background:#fdf0ee;border:1px solid #f1c4bc;border-radius:4px;padding:8px 12px;\
white-space:pre-wrap}
.note{color:#616161;font-size:12px}
.url,.img-alt{color:#616161}
table{border-collapse:collapse}td,th{border:1px solid #e5e5e5;padding:2px 8px;text-align:left}
@media print{.cell{break-inside:avoid}}
`;

/**
 * vega's SVG carries xmlns declarations (http://www.w3.org/...); inline SVG in HTML does not need them, and dropping
 * them keeps the file free of any URL at all.
 */
function inlineSvg(svg: string): string {
  return svg.replace(/^<svg([^>]*)>/, (_m, attrs: string) => `<svg${attrs.replace(/\s+xmlns(:\w+)?="[^"]*"/g, '')}>`);
}

async function renderOutput(o: ViewOutput): Promise<string> {
  const fallback = async () => (o.markdown ? `<div class="fallback">${await markdownToSafeHtml(o.markdown)}</div>`
    : '');
  if (!(VIEW_MIMES as readonly string[]).includes(o.mime)) return `<div class="output">${await fallback()}</div>`;
  try {
    const svg = await renderViewSvg(o.mime, o.payload, LIGHT_THEME);
    return `<figure class="output chart">${inlineSvg(svg)}</figure>`;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return `<div class="output"><p class="note">Chart not drawn: ${escapeHtml(msg)}</p>${await fallback()}</div>`;
  }
}

async function renderCell(c: ReportCell, i: number): Promise<string> {
  const parts: string[] = [];
  if (c.kind === 'markdown') parts.push(await markdownToSafeHtml(c.source));
  else parts.push(`<pre class="source"><code>${escapeHtml(c.source)}</code></pre>`);
  if (c.error) parts.push(`<div class="error">${escapeHtml(c.error)}</div>`);
  for (const o of c.outputs) parts.push(await renderOutput(o));
  return `<section class="cell ${c.kind}" id="cell-${i + 1}">\n${parts.join('\n')}\n</section>`;
}

export async function renderHtmlReport(doc: ReportDoc): Promise<string> {
  const cells: string[] = [];
  // One cell at a time: charts of big notebooks would otherwise hold every vega View in memory at once.
  for (const [i, c] of doc.cells.entries()) cells.push(await renderCell(c, i));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="TinyMem">
<title>${escapeHtml(doc.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(doc.title)}</h1>
${cells.join('\n')}
</body>
</html>
`;
}
