// tinymem mitigate DIR --method NAME [--set hp=value ...] --out DIR2: unlearns the memorized sequences of a checkpoint
// (or of a Hugging Face folder's --sequences; retain set and perplexity from --text / --retain) and writes the edited
// folder (with masks.safetensors); prints a before/after table.
// Ctrl-C ends the process: nothing is written until the edit is complete, and the write is atomic.
import { parseOverrides } from '../../engine/presets';
import { checkMitigation, mitigate, mitigationSets, prepareBase, saveMitigation } from '../../engine/runs/mitigateRun';
import { openSubject } from '../../engine/runs/subject';
import { claimOutputDir } from '../../engine/io/outputDir';
import { type RuntimeFlags, commandRuntime } from '../runtime';
import type { EvalProgress } from '../../engine/metrics/evaluate';
import type { MetricValue } from '../../shared/metricTypes';
import { formatMetric, table } from '../format';
import { printJson } from '../json';
import { note, progress } from '../progress';
import { type SetFlags, setFiles } from './evalCmd';

export function beforeAfter(before: readonly MetricValue[], after: readonly MetricValue[]): string {
  const rows = before.filter((m) => m.headline).map((b) => {
    const a = after.find((x) => x.id === b.id);
    return [b.label, formatMetric(b), a ? formatMetric(a) : 'n/a'];
  });
  return table([['metric', 'before', 'after'], ...rows]);
}

type MitigateFlags = SetFlags & RuntimeFlags &
  { method: string; set?: string[]; out: string; force?: boolean; json?: boolean };

export async function mitigateCommand(dir: string, f: MitigateFlags & { seed?: number }): Promise<number> {
  const hp = parseOverrides(f.set ?? []);
  // The sets, the method and --out are checked (and --out locked) before the base model is loaded or measured.
  const sets = mitigationSets(dir, setFiles(f));
  const seqs = sets === 'tinymem' ? null : sets;
  checkMitigation(f.method, hp, {}, seqs ? { hasRetain: !!(seqs.text || seqs.retain) } : undefined);
  const inputs = [dir, seqs?.sequences ?? undefined, seqs?.text ?? undefined, seqs?.retain ?? undefined];
  const out = claimOutputDir(f.out, { force: f.force, inputs, onNote: note });
  const rt = await commandRuntime(f);
  try {
    const evalBar = progress('measure');
    const onEvalProgress = (e: EvalProgress) => evalBar.update(e.done, e.total, `base model: ${e.stage}`);
    const base = await prepareBase(rt, dir, { sets: openSubject(dir, sets), onEvalProgress });
    evalBar.stop();
    const retain = `${base.retain.rows} ${seqs ? 'text chunks' : 'clean sequences'}`;
    console.error(`forget set: ${base.forget.rows} memorized sequences; retain set: ${retain}`);
    const bar = progress(f.method);
    const afterBar = progress('measure');
    const m = await mitigate(rt, base, {
      method: f.method,
      hyperParams: hp,
      seed: f.seed,
      onProgress: (p) => bar.update(p.done, p.total,
        p.loss === undefined ? p.stage : `${p.stage} loss ${p.loss.toFixed(4)}`),
      onEvalProgress: (e) => afterBar.update(e.done, e.total, `edited model: ${e.stage}`),
    });
    bar.stop();
    afterBar.stop();
    const saved = saveMitigation(out, base, m);
    const r = m.record;
    if (f.json) {
      printJson({ ...r, out: saved, provider: m.after.provider,
        before: base.before.metrics, after: m.after.metrics });
      return 0;
    }
    const what = seqs
      ? `edited model ${saved} (Hugging Face ${base.model.modelType} layout)`
      : `edited checkpoint ${saved}`;
    const hps = Object.entries(r.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ');
    console.log(`${r.method} (${hps}) took ${r.seconds.toFixed(2)} s; ${what}`);
    const pruned = r.pruned.reduce((s, p) => s + p.pruned, 0);
    const tensors = r.pruned.filter((p) => p.pruned > 0).length;
    if (r.pruned.length) console.log(`pruned ${pruned} entries in ${tensors} tensors (masks.safetensors)`);
    console.log(beforeAfter(base.before.metrics, m.after.metrics));
    return 0;
  } finally {
    out.release();
    await rt.dispose();
  }
}
