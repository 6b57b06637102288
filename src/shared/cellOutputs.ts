// Turning a step's ViewOutputs into stored notebook outputs: each becomes one output with the rich item and its
// text/markdown fallback. A rich payload over the size cap is dropped (the fallback stays, with a note), so one
// huge output cannot bloat the notebook file or slow the editor.
import type { NotebookOutput } from './notebookFormat';
import type { ViewOutput } from './viewPayloads';

export const DEFAULT_OUTPUT_CAP_KB = 2048;

export function viewToOutput(v: ViewOutput, capKB = DEFAULT_OUTPUT_CAP_KB): NotebookOutput {
  if (v.mime === 'text/markdown') return { items: [{ mime: 'text/markdown', data: v.markdown }] };
  const json = JSON.stringify(v.payload);
  const bytes = Buffer.byteLength(json ?? '', 'utf8');
  if (capKB > 0 && bytes > capKB * 1024) {
    const note = `\n\n_(The chart was left out: its data is ${Math.ceil(bytes / 1024)} KB, over the ` +
      `tinymem.outputSizeCapKB limit of ${capKB} KB; raise the setting to keep it.)_`;
    return { items: [{ mime: 'text/markdown', data: v.markdown + note }],
      metadata: { droppedMime: v.mime, droppedBytes: bytes } };
  }
  return { items: [{ mime: v.mime, data: v.payload }, { mime: 'text/markdown', data: v.markdown }] };
}

/** The error output of a failed cell: what went wrong, where, and what to do next, as markdown. */
export function errorOutput(cellLabel: string, message: string): NotebookOutput {
  return { items: [{ mime: 'text/markdown', data: errorMarkdown(cellLabel, message) }], metadata: { error: true } };
}

export function errorMarkdown(cellLabel: string, message: string): string {
  const lines = message.split('\n').map((l) => `> ${l.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))}`);
  return [`**${cellLabel} failed**`, '', ...lines].join('\n');
}
