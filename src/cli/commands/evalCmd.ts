// tinymem eval DIR [--json]: rebuilds the run's data from its manifest and measures the checkpoint (spec §3).
import * as path from 'node:path';
import { loadCheckpoint, CheckpointError, MANIFEST_FILE } from '../../engine/model/checkpoint';
import { evaluate } from '../../engine/metrics/evaluate';
import { Runtime } from '../../engine/runtime/session';
import { manifestDataset } from '../../engine/train/tinymemData';
import type { RunManifest } from '../../shared/runManifest';
import { isPretrainedFolder } from '../../engine/runs/hfMitigate';
import { metricsTable } from '../format';
import { type HfFlags, hfEvalCommand } from './hfCommands';
import { progress } from '../progress';

export async function evalCommand(dir: string, f: HfFlags & { json?: boolean; threads?: number; all?: boolean }): Promise<number> {
  // A Hugging Face folder (or any folder without TinyMem data) is measured on the sets the flags name.
  if (isPretrainedFolder(dir) || f.sequences || f.text) return hfEvalCommand(dir, f);
  const ckpt = loadCheckpoint(dir);
  const manifest = ckpt.manifest as Partial<RunManifest> | null;
  if (!manifest?.data || manifest.data.kind !== 'tinymem') {
    throw new CheckpointError(path.join(dir, MANIFEST_FILE), 'has no TinyMem data spec, so there is no data to evaluate on; use `tinymem score DIR --tokens FILE` for your own sequences');
  }
  const rt = new Runtime({ threads: f.threads ?? 2 });
  try {
    const bar = progress('evaluate');
    const onProgress = f.json ? undefined : (e: { stage: string; done: number; total: number }) => bar.update(e.done, e.total, e.stage);
    const result = await evaluate(rt, ckpt.config, ckpt.params, manifestDataset(path.join(dir, MANIFEST_FILE), manifest.data), { onProgress });
    bar.stop();
    if (f.json) console.log(JSON.stringify(result));
    else {
      console.log(`${dir}: ${result.dataset} ${result.artifact}, evaluated in ${result.seconds.toFixed(1)} s on ${result.provider}`);
      console.log(metricsTable(result.metrics, f.all));
    }
    return 0;
  } finally {
    await rt.dispose();
  }
}
