// The progress wiring of the mitigate and compare steps: the cell's progress line names the method (and grid
// point) running, throttled so long runs do not flood the output.
import type { HyperValue } from '../../../shared/methodTypes';
import type { CellContext } from '../context';
import type { CompareStep, MitigateStep } from '../parseStep';

export interface ProgressLine {
  push(p: { message: string; fraction?: number }): void;
}
type Stage = { stage: string; done: number; total: number };

/** Options of compareMethods for a compare cell running `methods`. */
export function compareOptions(s: CompareStep, ctx: CellContext, methods: string[], progress: ProgressLine) {
  let current = '';
  return {
    methods,
    grid: s.grid,
    maxPoints: s.maxPoints,
    seed: s.seed ?? ctx.seed,
    signal: ctx.signal,
    onRun: (m: string, hp: Record<string, HyperValue>, i: number, n: number) => {
      current = `[${i + 1}/${n}] ${m}${Object.keys(hp).length ? ` ${JSON.stringify(hp)}` : ''}`;
      ctx.onProgress({ message: current, fraction: i / n });
    },
    progress: (p: Stage) => progress.push({ message: `${current}: ${p.stage} ${p.done}/${p.total}` }),
  };
}

/** Options of mitigate for a mitigate cell; `name` is the method's display name. */
export function mitigateOptions(s: MitigateStep, ctx: CellContext, name: string, progress: ProgressLine) {
  return {
    method: s.method,
    hyperParams: s.hp,
    seed: s.seed ?? ctx.seed,
    signal: ctx.signal,
    onProgress: (p: Stage & { loss?: number }) =>
      progress.push({ message: `${name}: ${p.stage} ${p.done}/${p.total}${p.loss !== undefined ? ` loss ` +
        `${p.loss.toFixed(4)}` : ''}`, fraction: p.total ? p.done / p.total : undefined }),
    onEvalProgress: (e: Stage) =>
      progress.push({ message: `measuring the edited model: ${e.stage} ${e.done}/${e.total}` }),
  };
}
