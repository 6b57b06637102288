// Warnings about a loaded model that do not stop the work: weights holding NaN or Inf (every metric computed from
// them is meaningless). They go to whoever runs the work: a notebook cell collects them into its outputs
// (collectWarnings around the step), the command line prints them on stderr.
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string[]>();

/** Reports a warning to the enclosing collectWarnings, or on stderr when there is none. */
export function warn(message: string): void {
  const list = scope.getStore();
  if (list) list.push(message);
  else process.stderr.write(`tinymem: warning: ${message}\n`);
}

/** Runs `f`, collecting the warnings reported inside it (also from its awaited work) into `into`. */
export function collectWarnings<T>(into: string[], f: () => Promise<T>): Promise<T> {
  return scope.run(into, f);
}

/** NaN when `a` holds a NaN or ±Inf (x·0 is NaN exactly for those): one cheap pass, about 2 ns per value. */
function zeroSum(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * 0;
  return s;
}

/** Counts NaN and ±Inf values per tensor; a tensor with none is left out. */
export function nonFiniteTensors(params: ReadonlyMap<string, Float32Array>): { name: string; nan: number;
  inf: number; }[] {
  const out: { name: string; nan: number; inf: number }[] = [];
  for (const [name, a] of params) {
    if (zeroSum(a) === 0) continue;
    let nan = 0;
    let inf = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (Number.isNaN(v)) nan++;
      else if (!Number.isFinite(v)) inf++;
    }
    out.push({ name, nan, inf });
  }
  return out;
}

/** Warns when a loaded model's weights hold NaN or Inf, naming the file and the tensors. */
export function warnNonFinite(file: string, params: ReadonlyMap<string, Float32Array>): void {
  const bad = nonFiniteTensors(params);
  if (bad.length === 0) return;
  const list = bad.slice(0, 5).map((b) => `"${b.name}" (${[b.nan ? `${b.nan} NaN` : '', b.inf ? `${b.inf} Inf` : '']
    .filter(Boolean).join(', ')})`).join(', ');
  warn(`${file}: ${bad.length} tensor(s) hold NaN or Inf values: ${list}` +
    `${bad.length > 5 ? `, and ${bad.length - 5} more` : ''}; metrics computed from these weights ` +
    'are not meaningful, re-train or restore the checkpoint');
}
