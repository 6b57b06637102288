// `step: mitigate`: unlearns the memorized sequences of a checkpoint with one method and writes the edited
// checkpoint (weights, masks.safetensors, the edit in tinymem.json); shows the heatmap before and after, what was
// pruned, and the edited model's metrics. Stop aborts the method between its steps; nothing is written then. A
// Hugging Face folder is unlearned on the cell's `sequences:` and written back as a Hugging Face folder (steps/hf.ts).
import * as path from 'node:path';
import { paramShapes } from '../../model/architecture';
import { checkMitigation, mitigate, prepareBase, saveMitigation } from '../../runs/mitigateRun';
import { utilityOf } from '../../runs/compareRun';
import { Runtime } from '../../runtime/session';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, checkpointFor, claimStepOut, fmtPct, resolvePath, throttle, throwIfStopped } from '../context';
import { findMethod, type MitigateStep } from '../parseStep';
import { heatmapPairView, masksView, metricsView } from '../views';
import { runHfMitigate, usesHfFolder } from './hf';
import { mitigateOptions } from './progressOptions';

export async function runMitigateStep(s: MitigateStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'trained');
  if (usesHfFolder(s, dir)) return runHfMitigate(s, dir, ctx);
  ctx.state.lastCheckpoint = dir;
  const info = findMethod(s.method)!;
  checkMitigation(s.method, s.hp);
  // The output is checked and locked before the base model is measured; it may never be the checkpoint itself.
  const out = claimStepOut(ctx, s.out !== undefined ? resolvePath(ctx, s.out, 'out') : `${dir.replace(/[\\/]+$/, '')}-${s.method}`, { force: s.force, inputs: [dir] });
  const rt = new Runtime(ctx.runtime);
  const progress = throttle<{ message: string; fraction?: number }>(250, (p) => ctx.onProgress(p));
  try {
    const base = await prepareBase(rt, dir, {
      seed: s.seed ?? ctx.seed,
      onEvalProgress: (e) => progress.push({ message: `measuring the base model: ${e.stage} ${e.done}/${e.total}` }),
    });
    throwIfStopped(ctx);
    ctx.onProgress({ message: `${info.name}: forget set ${base.forget.rows} memorized sequences, retain set ${base.retain.rows}` });
    const m = await mitigate(rt, base, mitigateOptions(s, ctx, info.name, progress));
    throwIfStopped(ctx);
    const saved = saveMitigation(out, base, m);
    ctx.state.lastEdited = saved;
    const memBefore = base.before.memorization?.percentMemorized ?? null;
    const memAfter = m.after.memorization?.percentMemorized ?? null;
    const outputs: ViewOutput[] = [];
    const title = s.title ?? `${info.name} on ${path.basename(dir)}`;
    if (base.before.heatmap && m.after.heatmap) outputs.push(heatmapPairView(base.before.heatmap, m.after.heatmap, `${title}: memorization before and after`));
    outputs.push(masksView({
      masks: m.masks,
      shapes: new Map(paramShapes(base.ckpt.config)),
      method: info.name,
      family: info.family,
      utility: base.before.dataset === 'math' ? 'accuracy' : 'perplexity',
      memBefore,
      memAfter,
      utilityBefore: utilityOf(base.before),
      utilityAfter: utilityOf(m.after),
    }, `${title}: what was pruned`));
    outputs.push(metricsView(m.after, `${title}: metrics after`));
    const hp = Object.entries(m.record.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ');
    const status = `${info.name} (${hp}) took ${m.record.seconds.toFixed(2)} s on **${m.after.provider}**; memorization ${fmtPct(memBefore)} → ${fmtPct(memAfter)}; edited checkpoint \`${saved}\`.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider: m.after.provider, stopped: false };
  } finally {
    out.release();
    progress.flush();
    await rt.dispose();
  }
}
