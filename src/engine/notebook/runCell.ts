// Runs one step cell: parse and validate, then dispatch to the step's executor. Shared by the extension's engine
// process and the headless `tinymem run`.
import { collectWarnings } from '../model/loadWarnings';
import { type CellRange, UserError } from '../../shared/userError';
import type { CellContext, CellResult } from './context';
import { type Step, stepOrThrow } from './parseStep';
import { runCompareStep } from './steps/compare';
import { runDataStep } from './steps/data';
import { runInspectStep } from './steps/inspect';
import { runMemorizationStep } from './steps/memorization';
import { runMitigateStep } from './steps/mitigate';
import { runSweepStep } from './steps/sweep';
import { runTrainStep } from './steps/train';

export function runStep(step: Step, ctx: CellContext): Promise<CellResult> {
  switch (step.step) {
    case 'data':
      return runDataStep(step, ctx);
    case 'train':
      return runTrainStep(step, ctx);
    case 'memorization':
      return runMemorizationStep(step, ctx);
    case 'mitigate':
      return runMitigateStep(step, ctx);
    case 'compare':
      return runCompareStep(step, ctx);
    case 'inspect':
      return runInspectStep(step, ctx);
    case 'sweep':
      return runSweepStep(step, ctx);
  }
}

/**
 * Where a run-time problem with `field` shows in the cell: the line of that top-level key, else of `near`, else of
 * `step:` (the cell's first line). Run-time checks (a path that is not a folder, a key a Hugging Face folder needs)
 * then underline a line like the parser's own issues do.
 */
export function locateField(source: string, field: string, near?: string): CellRange {
  const ls = source.split(/\r?\n/);
  const lineOf = (key: string) =>
    ls.findIndex((l) => new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`).test(l));
  let i = lineOf(field.split(/[.[]/)[0]!);
  if (i < 0 && near) i = lineOf(near);
  if (i < 0) i = Math.max(0, lineOf('step'));
  const text = ls[i] ?? '';
  return { line: i + 1, column: 1, endLine: i + 1, endColumn: Math.max(1, text.length + 1) };
}

/** Parses a cell's YAML (throwing a UserError with line and field) and runs it. */
export async function runCellSource(source: string, ctx: CellContext): Promise<CellResult> {
  const step = stepOrThrow(source);
  try {
    // Warnings about the models the step loads (NaN or Inf weights) come first in its outputs.
    const warnings: string[] = [];
    const r = await collectWarnings(warnings, () => runStep(step, ctx));
    if (warnings.length === 0) return r;
    const text = warnings.map((w) => `**Warning:** ${w}`).join('\n\n');
    return { ...r, outputs: [{ mime: 'text/markdown', payload: text, markdown: text }, ...r.outputs] };
  } catch (e) {
    if (e instanceof UserError && e.kind === 'step') {
      for (const p of e.problems) p.at ??= locateField(source, p.path, p.near);
    }
    throw e;
  }
}
