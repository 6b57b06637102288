// `--json`: stdout holds exactly one JSON document, the command's result or, when it fails, {"error": {...}}; the
// exit code is non-zero whenever something failed. Progress, notes and any other text go to stderr.
import { UserError } from '../shared/userError';

/** Whether the command line asks for JSON (read from argv, so that errors commander raises while parsing count). */
export const wantsJson = (argv: readonly string[]): boolean => argv.slice(2).includes('--json');

/** In JSON mode every console.log (a table, a line from a library) goes to stderr; only `printJson` writes stdout. */
export function keepStdoutForJson(): void {
  console.log = (...args: unknown[]) => console.error(...args);
  console.info = console.log;
}

/** Writes the one JSON document of a `--json` run to stdout. */
export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc)}\n`);
}

export interface JsonError {
  error: {
    message: string;
    /** UserError: what a caller may branch on (input, output, locked, file, resource, write, step, cell). */
    kind?: string;
    /** UserError: each place (a flag, a file, a field) and what is wrong there. */
    problems?: { path: string; message: string }[];
    /** commander's code for a command-line mistake, e.g. commander.missingMandatoryOptionValue. */
    code?: string;
  };
}

/** The error document of a failed `--json` run. */
export function errorDocument(e: unknown): JsonError {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof UserError) {
    const problems = e.problems.map(({ path, message: m }) => ({ path, message: m }));
    return { error: { message, kind: e.kind, problems } };
  }
  const code = (e as { code?: unknown } | null)?.code;
  // commander's messages start with "error: ", which the document's key already says.
  const text = typeof code === 'string' && code.startsWith('commander.') ? message.replace(/^error: /, '') : message;
  return { error: { message: text, ...(typeof code === 'string' ? { code } : {}) } };
}
