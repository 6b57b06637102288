// Markdown cells of the HTML report, rendered with `marked` but safe for untrusted text: raw HTML in the source is
// shown as text, links keep only in-page anchors (the report references nothing outside itself), images become their
// alt text. Everything else is marked's own escaping of text.
import { escapeHtml } from './htmlEscape';

type MarkedModule = typeof import('marked');
let markedLib: Promise<MarkedModule> | undefined;

export async function markdownToSafeHtml(source: string): Promise<string> {
  markedLib ??= import('marked');
  const { Marked } = await markedLib;
  const m = new Marked({ gfm: true, breaks: false, async: false });
  m.use({
    renderer: {
      html({ text }) {
        return escapeHtml(text);
      },
      link({ href, tokens }) {
        const inner = this.parser.parseInline(tokens);
        // In-page anchors only; an external address is shown as text so the report never points outside itself.
        if (/^#[\w-]*$/.test(href)) return `<a href="${escapeHtml(href)}">${inner}</a>`;
        return `${inner} <span class="url">(${escapeHtml(href.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''))})</span>`;
      },
      image({ text }) {
        return `<span class="img-alt">[image: ${escapeHtml(text)}]</span>`;
      },
    },
  });
  return m.parse(source, { async: false }) as string;
}
