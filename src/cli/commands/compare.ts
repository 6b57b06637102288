// tinymem compare DIR --methods a,b,... [--grid] [--out DIR2]: runs several methods on the same base model (a
// checkpoint, or a Hugging Face folder's --sequences with perplexity on --text) and writes the comparison as a table
// (stdout), compare.csv and compare.json.
import * as path from 'node:path';
import { listMethods } from '../../engine/methods/registry';
import { COMPARE_FILES, claimCompareOut, compareCsv, compareMethods, writeCompareFiles,
} from '../../engine/runs/compareRun';
import { mitigationSets, prepareBase } from '../../engine/runs/mitigateRun';
import { openSubject } from '../../engine/runs/subject';
import { type RuntimeFlags, commandRuntime } from '../runtime';
import type { EvalProgress } from '../../engine/metrics/evaluate';
import { table } from '../format';
import { printJson } from '../json';
import { note, progress } from '../progress';
import { type SetFlags, setFiles } from './evalCmd';

const num = (v: number | null, d = 2) => (v === null ? 'n/a' : v.toFixed(d));

type CompareFlags = SetFlags & RuntimeFlags &
  { methods: string; grid?: boolean; out?: string; force?: boolean; json?: boolean };

export async function compareCommand(dir: string, f: CompareFlags & { seed?: number }): Promise<number> {
  const sets = mitigationSets(dir, setFiles(f));
  const seqs = sets === 'tinymem' ? null : sets;
  // Regularizers apply while training from scratch, so they cannot edit a trained checkpoint; fine-tuning methods
  // continue TinyMem training on its own data, which a folder measured on sequence sets does not carry.
  const runnable = listMethods().filter((m) => m.family !== 'regularizer' && !(seqs && m.family === 'fine-tune'));
  const known = runnable.map((m) => m.id);
  const ids = f.methods === 'all' ? known : f.methods.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) {
    if (known.includes(id)) continue;
    throw new Error(seqs
      ? `--methods: "${id}" is not an unlearning method; known: ${known.join(', ')} (or "all")`
      : `--methods: unknown method "${id}"; known methods: ${known.join(', ')} (or "all"); ` +
        'regularizers run with `tinymem train --regularizer`');
  }
  // The selection rule weighs the memorization drop against the perplexity rise; without text there is no score.
  if (seqs && f.grid && !seqs.text) {
    throw new Error('--grid picks each method\'s best point by memorization and perplexity change: ' +
      'pass --text FILE (text or a .json token file) for perplexity');
  }
  const inputs = [dir, seqs?.sequences ?? undefined, seqs?.text ?? undefined, seqs?.retain ?? undefined];
  const out = claimCompareOut(f.out ?? `${dir.replace(/\/+$/, '')}-compare`, { force: f.force, inputs, onNote: note });
  const rt = await commandRuntime(f);
  const started = Date.now();
  try {
    const evalBar = progress('measure');
    const onEvalProgress = (e: EvalProgress) => evalBar.update(e.done, e.total, `base model: ${e.stage}`);
    const base = await prepareBase(rt, dir, { sets: openSubject(dir, sets), onEvalProgress });
    evalBar.stop();
    const res = await compareMethods(rt, base, {
      methods: ids,
      grid: f.grid,
      seed: f.seed,
      onRun: (m, hp, i, n) =>
        process.stderr.write(`[${i + 1}/${n}] ${m}${Object.keys(hp).length ? ` ${JSON.stringify(hp)}` : ''}\n`),
    });
    const { forget, retain, model } = base;
    const doc = { base: dir, modelType: model.modelType, forget: forget.rows, retain: retain.rows, ...res };
    const csv = writeCompareFiles(out, compareCsv(res), doc);
    const failed = res.rows.some((r) => r.error) ? 1 : 0;
    const seconds = (Date.now() - started) / 1000;
    if (f.json) {
      const files = COMPARE_FILES.map((n) => path.join(out.dir, n));
      printJson({ ...doc, files, seconds, provider: base.before.provider });
      return failed;
    }
    const u = res.utility === 'accuracy' ? 'accuracy %' : 'perplexity';
    const d = seqs ? 3 : 2;
    const first = res.rows[0];
    const before = `memorization ${num(first?.memBefore ?? null)} %, ${u} ${num(first?.utilityBefore ?? null, d)}`;
    console.log(`base: ${before}; forget ${base.forget.rows}, retain ${base.retain.rows}`);
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
          num(r.utilityAfter, d),
          num(r.utilityChangePct, 2),
          num(r.score, 3),
          r.error ? `failed: ${r.error}` : r.selected && f.grid ? 'selected' : '',
        ]),
      ]),
    );
    console.log(`wrote ${csv} and compare.json; ${seconds.toFixed(0)} s in all`);
    return failed;
  } finally {
    out.release();
    await rt.dispose();
  }
}
