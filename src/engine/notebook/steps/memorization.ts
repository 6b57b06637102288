// `step: memorization`: measures a checkpoint on its own data (rebuilt from its manifest), or a Hugging Face folder
// on the cell's (or its recorded) sequence sets: the metrics and the memorization heatmap.
import * as path from 'node:path';
import { evaluateSubject, openSubject } from '../../runs/subject';
import { Runtime } from '../../runtime/session';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, checkpointFor, reportingProvider } from '../context';
import type { MemorizationStep } from '../parseStep';
import { heatmapView, metricsView } from '../views';
import { cellSets, folderTokens, runtimeProvider, subjectName } from './subjectCell';

export async function runMemorizationStep(s: MemorizationStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'trained');
  const subject = openSubject(dir, cellSets(s, dir, ctx));
  ctx.state.lastCheckpoint = dir;
  const rt = new Runtime(ctx.runtime);
  ctx = reportingProvider(ctx, () => runtimeProvider(rt));
  try {
    const r = await evaluateSubject(rt, subject, undefined, {
      signal: ctx.signal,
      onProgress: (e) => ctx.onProgress({
        message: `${e.stage} ${e.done}/${e.total}`, fraction: e.total ? e.done / e.total : undefined,
      }),
    });
    const name = path.basename(dir);
    const outputs: ViewOutput[] = [metricsView(r, s.title ?? `Memorization of ${name}`)];
    const h = r.heatmap;
    const of = h?.mode === 'sequences' ? ` (${h.rows.length} of ${h.evaluatedRows} sequences)` : '';
    if (h) outputs.push(folderTokens(heatmapView(h, `Memorization heatmap of ${name}${of}`), subject));
    const { notes } = subject.model;
    const noted = subject.source.kind === 'sequences' && notes.length ? ` (${notes.join('; ')})` : '';
    const on = r.provider || runtimeProvider(rt);
    const status = `Measured ${subjectName(subject, dir)} in ${r.seconds.toFixed(1)} s on **${on}**${noted}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider: r.provider, stopped: false };
  } finally {
    await rt.dispose();
  }
}
