// tinymem compare DIR --methods a,b,... [--grid] [--out DIR2]: runs several methods on the same base model and
// writes the comparison as a table (stdout), compare.csv and compare.json.
import { listMethods } from '../../engine/methods/registry';
import { claimCompareOut, compareCsv, compareMethods, writeCompareFiles } from '../../engine/runs/compareRun';
import { prepareBase } from '../../engine/runs/mitigateRun';
import { Runtime } from '../../engine/runtime/session';
import { isPretrainedFolder } from '../../engine/runs/hfMitigate';
import { table } from '../format';
import { type HfFlags, hfCompareCommand } from './hfCommands';
import { note, progress } from '../progress';

const num = (v: number | null, d = 2) => (v === null ? 'n/a' : v.toFixed(d));

export async function compareCommand(dir: string, f: HfFlags & { methods: string; grid?: boolean; out?: string; force?: boolean; threads?: number; seed?: number }): Promise<number> {
  if (isPretrainedFolder(dir) || f.sequences) return hfCompareCommand(dir, f);
  // Regularizers apply while training from scratch, so they cannot edit a trained checkpoint.
  const runnable = listMethods().filter((m) => m.family !== 'regularizer');
  const ids = f.methods === 'all' ? runnable.map((m) => m.id) : f.methods.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(runnable.map((m) => m.id));
  for (const id of ids) if (!known.has(id)) throw new Error(`--methods: unknown method "${id}"; known methods: ${[...known].join(', ')} (or "all"); regularizers run with \`tinymem train --regularizer\``);
  const out = claimCompareOut(f.out ?? `${dir.replace(/\/+$/, '')}-compare`, { force: f.force, inputs: [dir], onNote: note });
  const rt = new Runtime({ threads: f.threads ?? 2 });
  const started = Date.now();
  try {
    const evalBar = progress('measure');
    const base = await prepareBase(rt, dir, { onEvalProgress: (e) => evalBar.update(e.done, e.total, `base model: ${e.stage}`) });
    evalBar.stop();
    const res = await compareMethods(rt, base, {
      methods: ids,
      grid: f.grid,
      seed: f.seed,
      onRun: (m, hp, i, n) => process.stderr.write(`[${i + 1}/${n}] ${m} ${JSON.stringify(hp)}\n`),
    });
    const u = res.utility === 'accuracy' ? 'accuracy %' : 'perplexity';
    console.log(`base: memorization ${num(res.rows[0]?.memBefore ?? null)} %, ${u} ${num(res.rows[0]?.utilityBefore ?? null)}; forget ${base.forget.rows}, retain ${base.retain.rows}`);
    console.log(
      table([
        ['method', 'family', 'hyper-parameters', 'time s', 'mem %', 'Δmem %', u, `Δ${res.utility} %`, 'score', ''],
        ...res.rows.map((r) => [
          r.name,
          r.family,
          Object.entries(r.hyperParams).map(([k, v]) => `${k}=${v}`).join(' '),
          num(r.seconds),
          num(r.memAfter),
          num(r.memChangePct, 1),
          num(r.utilityAfter),
          num(r.utilityChangePct, 2),
          num(r.score, 3),
          r.error ? `failed: ${r.error}` : r.selected && f.grid ? 'selected' : '',
        ]),
      ]),
    );
    const csv = writeCompareFiles(out, compareCsv(res), { base: dir, forget: base.forget.rows, retain: base.retain.rows, ...res });
    console.log(`wrote ${csv} and compare.json; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
    return res.rows.some((r) => r.error) ? 1 : 0;
  } finally {
    out.release();
    await rt.dispose();
  }
}
