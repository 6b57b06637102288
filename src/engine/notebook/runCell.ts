// Runs one step cell: parse and validate, then dispatch to the step's executor. Shared by the extension's engine
// process and the headless `tinymem run`.
import type { CellContext, CellResult } from './context';
import { type Step, stepOrThrow } from './parseStep';
import { runCompareStep } from './steps/compare';
import { runDataStep } from './steps/data';
import { runInspectStep } from './steps/inspect';
import { runMemorizationStep } from './steps/memorization';
import { runMitigateStep } from './steps/mitigate';
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
  }
}

/** Parses a cell's YAML (throwing a CellError with line and field) and runs it. */
export function runCellSource(source: string, ctx: CellContext): Promise<CellResult> {
  return runStep(stepOrThrow(source), ctx);
}
