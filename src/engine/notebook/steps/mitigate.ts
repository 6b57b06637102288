// `step: mitigate`: unlearns the memorized sequences of a checkpoint (or of a Hugging Face folder's `sequences:`) with
// one method and writes the edited folder (weights, masks.safetensors, the edit in tinymem.json); shows the heatmap
// before and after, what was pruned, and the edited model's metrics. Stop aborts the method between its steps;
// nothing is written then.
import * as path from 'node:path';
import { paramShapes } from '../../model/architecture';
import { getMethod } from '../../methods/registry';
import { checkMitigation, mitigate, saveMitigation } from '../../runs/mitigateRun';
import { utilityOf } from '../../runs/compareRun';
import { Runtime } from '../../runtime/session';
import type { ViewOutput } from '../../../shared/viewPayloads';
import {
  type CellContext, type CellResult, stepError, checkpointFor, claimStepOut, fmtPct, reportingProvider, resolvePath,
  throttle, throwIfStopped,
} from '../context';
import { findMethod, type MitigateStep } from '../parseStep';
import { heatmapPairView, masksView, metricsView } from '../views';
import { mitigateOptions } from './progressOptions';
import { cellSets, folderTokens, measureBase, runtimeProvider } from './subjectCell';

export async function runMitigateStep(s: MitigateStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'trained');
  const sets = cellSets(s, dir, ctx);
  const seqs = sets === 'tinymem' ? null : sets;
  const info = findMethod(s.method)!;
  if (!seqs) checkMitigation(s.method, s.hp);
  else if (info.family === 'fine-tune') {
    throw stepError('method', `"${s.method}" continues TinyMem training on the checkpoint's own data, ` +
      'which a Hugging Face folder does not carry; pick an unlearning method such as balanced-subnet');
  } else if (getMethod(s.method).usesRetain && !seqs.text && !seqs.retain) {
    throw stepError('text', `${info.name} keeps a retain set's loss low while unlearning: ` +
      'add `text: path/to/text.txt` (or `retain:`) with clean text, or a .json token file', 'sequences');
  }
  ctx.state.lastCheckpoint = dir;
  // The output is checked and locked before the base model is measured; it may never be the model or a data file.
  const outDir = s.out !== undefined ? resolvePath(ctx, s.out, 'out') : `${dir.replace(/[\\/]+$/, '')}-${s.method}`;
  const inputs = [dir, seqs?.sequences ?? undefined, seqs?.text ?? undefined, seqs?.retain ?? undefined];
  const out = claimStepOut(ctx, outDir, { force: s.force, inputs });
  const rt = new Runtime(ctx.runtime);
  ctx = reportingProvider(ctx, () => runtimeProvider(rt));
  const progress = throttle<{ message: string; fraction?: number }>(250, (p) => ctx.onProgress(p));
  try {
    const base = await measureBase(rt, ctx, dir, sets, s.seed, progress);
    throwIfStopped(ctx);
    const retain = `retain set ${base.retain.rows}${seqs ? ' chunks' : ''}`;
    ctx.onProgress({ message: `${info.name}: forget set ${base.forget.rows} memorized sequences, ${retain}` });
    const m = await mitigate(rt, base, mitigateOptions(s, ctx, info.name, progress));
    throwIfStopped(ctx);
    const saved = saveMitigation(out, base, m);
    ctx.state.lastEdited = saved;
    const memBefore = base.before.memorization?.percentMemorized ?? null;
    const memAfter = m.after.memorization?.percentMemorized ?? null;
    const [utilityBefore, utilityAfter] = [utilityOf(base.before), utilityOf(m.after)];
    const outputs: ViewOutput[] = [];
    const title = s.title ?? `${info.name} on ${path.basename(dir)}`;
    const [hb, ha] = [base.before.heatmap, m.after.heatmap];
    const of = hb?.mode === 'sequences' ? ` (${hb.rows.length} of ${hb.evaluatedRows} sequences)` : '';
    if (hb && ha) {
      outputs.push(folderTokens(heatmapPairView(hb, ha, `${title}: memorization before and after${of}`), base));
    }
    outputs.push(masksView({
      masks: m.masks,
      // The architecture's own names and shapes, so NeoX dense_h_to_4h / dense_4h_to_h masks draw as matrices.
      shapes: new Map(paramShapes(base.model.config)),
      method: info.name,
      family: info.family,
      utility: base.before.dataset === 'math' ? 'accuracy' : 'perplexity',
      memBefore,
      memAfter,
      utilityBefore,
      utilityAfter,
    }, `${title}: what was pruned`));
    outputs.push(metricsView(m.after, `${title}: metrics after`));
    const hp = Object.entries(m.record.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ');
    const [pb, pa] = [utilityBefore?.toFixed(3) ?? '', utilityAfter?.toFixed(3) ?? ''];
    const ppl = seqs && base.before.perplexity ? `; perplexity ${pb} → ${pa}` : '';
    const provider = m.after.provider || runtimeProvider(rt);
    const took = `${info.name} (${hp}) took ${m.record.seconds.toFixed(2)} s on **${provider}**`;
    const edited = `edited ${seqs ? 'Hugging Face folder' : 'checkpoint'} \`${saved}\``;
    const status = `${took}; memorization ${fmtPct(memBefore)} → ${fmtPct(memAfter)}${ppl}; ${edited}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider: m.after.provider, stopped: false };
  } finally {
    out.release();
    progress.flush();
    await rt.dispose();
  }
}
