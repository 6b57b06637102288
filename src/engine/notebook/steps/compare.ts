// `step: compare`: runs several methods (at the paper's defaults or over a small grid) on the same checkpoint and
// ranks them with the paper's selection rule (on a Hugging Face folder: steps/hf.ts, perplexity as the utility).
import * as path from 'node:path';
import { compareMethods } from '../../runs/compareRun';
import { prepareBase } from '../../runs/mitigateRun';
import { Runtime } from '../../runtime/session';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, checkpointFor, throttle, throwIfStopped } from '../context';
import type { CompareStep } from '../parseStep';
import { comparisonView } from '../views';
import { runHfCompare, usesHfFolder } from './hf';
import { compareOptions } from './progressOptions';

export async function runCompareStep(s: CompareStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'trained');
  if (usesHfFolder(s, dir)) return runHfCompare(s, dir, ctx);
  ctx.state.lastCheckpoint = dir;
  const rt = new Runtime(ctx.runtime);
  const progress = throttle<{ message: string; fraction?: number }>(250, (p) => ctx.onProgress(p));
  try {
    const base = await prepareBase(rt, dir, { seed: s.seed ?? ctx.seed, onEvalProgress: (e) => progress.push({ message: `measuring the base model: ${e.stage} ${e.done}/${e.total}` }) });
    throwIfStopped(ctx);
    const r = await compareMethods(rt, base, compareOptions(s, ctx, s.methods, progress));
    const provider = rt.providers.find((p) => !rt.skipped.some((x) => x.provider === p)) ?? '';
    const outputs: ViewOutput[] = [comparisonView(r, s.title ?? `Methods on ${path.basename(dir)}`)];
    const failed = r.rows.filter((x) => x.error);
    const status = `Compared ${r.rows.length} runs of ${s.methods.length} methods on **${provider}**${failed.length ? `; ${failed.length} failed (see the error column)` : ''}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider, stopped: false };
  } finally {
    progress.flush();
    await rt.dispose();
  }
}
