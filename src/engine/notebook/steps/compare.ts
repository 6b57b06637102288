// `step: compare`: runs several methods (at the paper's defaults or over a small grid) on the same checkpoint (or
// Hugging Face folder's sequence set, perplexity as the utility) and ranks them with the paper's selection rule.
import * as path from 'node:path';
import { compareMethods } from '../../runs/compareRun';
import { Runtime } from '../../runtime/session';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, stepError, checkpointFor, reportingProvider, throttle,
  throwIfStopped } from '../context';
import { type CompareStep, findMethod, runnableMethodIds } from '../parseStep';
import { comparisonView } from '../views';
import { compareOptions } from './progressOptions';
import { cellSets, measureBase, runtimeProvider } from './subjectCell';

export async function runCompareStep(s: CompareStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'trained');
  const sets = cellSets(s, dir, ctx);
  const seqs = sets === 'tinymem' ? null : sets;
  // On sequence sets `methods: all` leaves out fine-tuning methods (they need TinyMem training data); named ones fail.
  const all = s.methods.length === runnableMethodIds().length;
  const fineTune = seqs ? s.methods.filter((id) => findMethod(id)?.family === 'fine-tune') : [];
  if (fineTune.length && !all) {
    throw stepError('methods', `${fineTune.join(', ')} continue TinyMem training on the checkpoint's own data, ` +
      'which a Hugging Face folder does not carry; remove them');
  }
  const methods = s.methods.filter((id) => !fineTune.includes(id));
  if (seqs && s.grid && !seqs.text) {
    throw stepError('text', 'the grid picks each method\u2019s best point by memorization and perplexity change: ' +
      'add `text: path/to/text.txt` (or a .json token file) for perplexity', 'grid');
  }
  ctx.state.lastCheckpoint = dir;
  const rt = new Runtime(ctx.runtime);
  ctx = reportingProvider(ctx, () => runtimeProvider(rt));
  const progress = throttle<{ message: string; fraction?: number }>(250, (p) => ctx.onProgress(p));
  try {
    const base = await measureBase(rt, ctx, dir, sets, s.seed, progress);
    throwIfStopped(ctx);
    const r = await compareMethods(rt, base, compareOptions(s, ctx, methods, progress));
    const provider = runtimeProvider(rt);
    const outputs: ViewOutput[] = [comparisonView(r, s.title ?? `Methods on ${path.basename(dir)}`)];
    const failed = r.rows.filter((x) => x.error);
    const rows = `forget ${base.forget.rows} sequences, retain ${base.retain.rows} chunks`;
    const on = seqs ? ` on the Hugging Face ${base.model.modelType} folder (${rows})` : '';
    const left = fineTune.length ? '; fine-tuning methods left out (they need TinyMem training data)' : '';
    const errors = failed.length ? `; ${failed.length} failed (see the error column)` : '';
    const runs = `${r.rows.length} runs of ${methods.length} methods`;
    const status = `Compared ${runs}${on} on **${provider}**${left}${errors}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider, stopped: false };
  } finally {
    progress.flush();
    await rt.dispose();
  }
}
