// One error for every problem a user can fix (bad input, a refused output, a missing or damaged file): where it is
// (a file and field, a cell key, a flag) and what is wrong, shown as "path: message" with no stack. A check that
// finds several problems throws them together; the notebook and the CLI render them in one place.

/** Where a problem is and what to do about it. `path` is empty when the problem has no single place. */
export interface Problem {
  path: string;
  message: string;
  /** In a step cell: the span to underline (1-based). A cell's parse problems read "line N, path: message". */
  at?: CellRange;
  /** The cell key whose line to point at when `path` is not in the cell (e.g. a missing `sequences:`). */
  near?: string;
}

export interface CellRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** A problem located in a step cell, as the editor underlines it; `field` is the key path ('' for the whole cell). */
export interface CellIssue extends CellRange {
  field: string;
  message: string;
}

/**
 * What a caller may branch on; everything else reads the problems. `step`: a cell key that fails when the step runs
 * (the notebook underlines its line); `cell`: a cell that is not a valid step.
 */
export type UserErrorKind = 'input' | 'output' | 'locked' | 'file' | 'resource' | 'write' | 'step' | 'cell';

export class UserError extends Error {
  override readonly name = 'UserError';
  readonly problems: Problem[];
  constructor(problems: Problem | Problem[], readonly kind: UserErrorKind = 'input') {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map(formatProblem).join('\n'));
    this.problems = list;
  }
  /** The first problem's place (the field, file or key a single-problem error is about). */
  get path(): string {
    return this.problems[0]?.path ?? '';
  }
}

export function formatProblem(p: Problem): string {
  const where = p.at ? `line ${p.at.line}${p.path ? `, ${p.path}` : ''}` : p.path;
  return where ? `${where}: ${p.message}` : p.message;
}

/** The common case: one problem at one place. */
export function userError(path: string, message: string, kind?: UserErrorKind): UserError {
  return new UserError({ path, message }, kind);
}

/** The same problems seen from the object that holds them: `under('data.', e)` turns `maxCtx` into `data.maxCtx`. */
export function under(prefix: string, e: UserError): UserError {
  return new UserError(e.problems.map((p) => ({ ...p, path: prefix + p.path })), e.kind);
}
