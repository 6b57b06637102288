// One place that turns whatever a step threw into the message a user reads: where (line, field) and what to do next.
// Stack traces are for bugs; a UserError and the model files' own errors already name the file or field, so only
// their message is shown.
import { type CellIssue, UserError } from '../../shared/userError';

export interface DescribedError {
  message: string;
  issues?: CellIssue[];
}

export function describeError(e: unknown): DescribedError {
  if (e instanceof UserError) {
    // Problems located in the cell (parse problems, and run-time ones with one key) go to the editor too.
    const issues = e.problems.flatMap((p) => (p.at ? [{ ...p.at, field: p.path, message: p.message }] : []));
    const cell = e.kind === 'cell';
    const message = cell ? `The cell is not a valid step:\n${e.message}\nFix the cell and run it again.` : e.message;
    return { message, ...(issues.length ? { issues } : {}) };
  }
  if (e instanceof Error) {
    if (!e.stack) return { message: e.message };
    // An unexpected error: keep its message first and the top of the stack for a bug report.
    const top = e.stack.split('\n').slice(1, 4).map((l) => l.trim()).join('\n');
    return { message: `${e.message}\n(unexpected error; if it persists, report it with these lines: ${top})` };
  }
  return { message: String(e) };
}
