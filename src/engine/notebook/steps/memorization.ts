// `step: memorization`: measures a checkpoint on its own data (rebuilt from its manifest): the metrics and the
// memorization heatmap. A Hugging Face folder is measured on the cell's `sequences:` / `text:` instead (steps/hf.ts).
import * as path from 'node:path';
import { CheckpointError, loadCheckpoint, MANIFEST_FILE } from '../../model/checkpoint';
import { evaluate } from '../../metrics/evaluate';
import { Runtime } from '../../runtime/session';
import { manifestDataset } from '../../train/tinymemData';
import type { RunManifest } from '../../../shared/runManifest';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, checkpointFor } from '../context';
import type { MemorizationStep } from '../parseStep';
import { heatmapView, metricsView } from '../views';
import { runHfMemorization, usesHfFolder } from './hf';

export async function runMemorizationStep(s: MemorizationStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'trained');
  if (usesHfFolder(s, dir)) {
    const r = await runHfMemorization(s, dir, ctx);
    ctx.state.lastCheckpoint = dir;
    return r;
  }
  const ckpt = loadCheckpoint(dir);
  ctx.state.lastCheckpoint = dir;
  const manifest = ckpt.manifest as Partial<RunManifest> | null;
  if (!manifest?.data || manifest.data.kind !== 'tinymem') {
    throw new CheckpointError(path.join(dir, MANIFEST_FILE), 'has no TinyMem data spec, so there is no data to measure memorization on; use a checkpoint written by a train step');
  }
  const rt = new Runtime(ctx.runtime);
  try {
    const r = await evaluate(rt, ckpt.config, ckpt.params, manifestDataset(path.join(dir, MANIFEST_FILE), manifest.data), {
      signal: ctx.signal,
      onProgress: (e) => ctx.onProgress({ message: `${e.stage} ${e.done}/${e.total}`, fraction: e.total ? e.done / e.total : undefined }),
    });
    const name = path.basename(dir);
    const outputs: ViewOutput[] = [metricsView(r, s.title ?? `Memorization of ${name}`)];
    if (r.heatmap) outputs.push(heatmapView(r.heatmap, `Memorization heatmap of ${name}`));
    const status = `Measured \`${dir}\` in ${r.seconds.toFixed(1)} s on **${r.provider}**.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider: r.provider, stopped: false };
  } finally {
    await rt.dispose();
  }
}
