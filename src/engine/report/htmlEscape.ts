// Text to HTML text/attribute content: every character that could open markup or end an attribute is escaped.
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g,
    '&#39;');
}
