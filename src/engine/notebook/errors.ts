// One place that turns whatever a step threw into the message a user reads: where (line, field) and what to do next.
// Stack traces are for bugs; the engine's own errors already name the file or field, so only their message is shown.
import { StepError } from './context';
import { CellError, type CellIssue } from './parseStep';

export interface DescribedError {
  message: string;
  issues?: CellIssue[];
}

export function describeError(e: unknown): DescribedError {
  if (e instanceof CellError) return { message: `The cell is not a valid step:\n${e.message}\nFix the cell and run it again.`, issues: e.issues };
  // A run-time problem with one key: its message as is, and its line so the editor can underline it.
  if (e instanceof StepError) return { message: e.message, ...(e.issue ? { issues: [e.issue] } : {}) };
  if (e instanceof Error) {
    const known = ['StepError', 'PresetError', 'UserError', 'CheckpointError', 'SafetensorsError', 'DataError', 'NotebookFormatError', 'OutputError', 'OutputLockedError'];
    if (known.includes(e.name) || !e.stack) return { message: e.message };
    // An unexpected error: keep its message first and the top of the stack for a bug report.
    const top = e.stack.split('\n').slice(1, 4).map((l) => l.trim()).join('\n');
    return { message: `${e.message}\n(unexpected error; if it persists, report it with these lines: ${top})` };
  }
  return { message: String(e) };
}
