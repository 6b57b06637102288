// tinymem mitigate DIR --method NAME [--set hp=value ...] --out DIR2: unlearns the checkpoint's memorized sequences
// and writes the edited checkpoint (with masks.safetensors); prints a before/after table.
// Ctrl-C ends the process: nothing is written until the edit is complete, and the write is atomic.
import { parseOverrides } from '../../engine/presets';
import { checkMitigation, mitigate, prepareBase, saveMitigation } from '../../engine/runs/mitigateRun';
import { claimOutputDir } from '../../engine/io/outputDir';
import { Runtime } from '../../engine/runtime/session';
import type { MetricValue } from '../../shared/metricTypes';
import { formatMetric, table } from '../format';
import { note, progress } from '../progress';
import { isPretrainedFolder } from '../../engine/runs/hfMitigate';
import { type HfFlags, hfMitigateCommand } from './hfCommands';

export function beforeAfter(before: readonly MetricValue[], after: readonly MetricValue[]): string {
  const rows = before.filter((m) => m.headline).map((b) => {
    const a = after.find((x) => x.id === b.id);
    return [b.label, formatMetric(b), a ? formatMetric(a) : 'n/a'];
  });
  return table([['metric', 'before', 'after'], ...rows]);
}

export async function mitigateCommand(dir: string, f: HfFlags & { method: string; set?: string[]; out: string; force?: boolean; threads?: number; seed?: number }): Promise<number> {
  // A Hugging Face folder: the forget set comes from --sequences, the retain set and perplexity from --text/--retain.
  if (isPretrainedFolder(dir) || f.sequences) return hfMitigateCommand(dir, f);
  const hp = parseOverrides(f.set ?? []);
  // The method and --out are checked (and --out locked) before the base model is loaded or measured.
  checkMitigation(f.method, hp);
  const out = claimOutputDir(f.out, { force: f.force, inputs: [dir], onNote: note });
  const rt = new Runtime({ threads: f.threads ?? 2 });
  try {
    const evalBar = progress('measure');
    const base = await prepareBase(rt, dir, { onEvalProgress: (e) => evalBar.update(e.done, e.total, `base model: ${e.stage}`) });
    evalBar.stop();
    console.error(`forget set: ${base.forget.rows} memorized sequences; retain set: ${base.retain.rows} clean sequences`);
    const bar = progress(f.method);
    const afterBar = progress('measure');
    const m = await mitigate(rt, base, {
      method: f.method,
      hyperParams: hp,
      seed: f.seed,
      onProgress: (p) => bar.update(p.done, p.total, `${p.stage}${p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : ''}`),
      onEvalProgress: (e) => afterBar.update(e.done, e.total, `edited model: ${e.stage}`),
    });
    bar.stop();
    afterBar.stop();
    const saved = saveMitigation(out, base, m);
    const r = m.record;
    console.log(`${r.method} (${Object.entries(r.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ')}) took ${r.seconds.toFixed(2)} s; edited checkpoint ${saved}`);
    const pruned = r.pruned.reduce((s, p) => s + p.pruned, 0);
    if (r.pruned.length) console.log(`pruned ${pruned} entries in ${r.pruned.filter((p) => p.pruned > 0).length} tensors (masks.safetensors)`);
    console.log(beforeAfter(base.before.metrics, m.after.metrics));
    return 0;
  } finally {
    out.release();
    await rt.dispose();
  }
}
