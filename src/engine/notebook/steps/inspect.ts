// `step: inspect`: reads an edited checkpoint's masks.safetensors and the edit's record, and shows which weights or
// neurons were pruned per layer and matrix next to the memorization and utility change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, readManifest } from '../../model/checkpoint';
import { userError } from '../../../shared/userError';
import { readSafetensors } from '../../model/safetensors';
import { MASKS_FILE } from '../../runs/mitigateRun';
import type { MetricValue } from '../../../shared/metricTypes';
import { type CellContext, type CellResult, checkpointFor } from '../context';
import type { InspectStep } from '../parseStep';
import { listMethods } from '../../methods/registry';
import { masksView } from '../views';

interface EditRecord {
  method?: string;
  before?: MetricValue[];
  after?: MetricValue[];
}

/** The first metric whose id starts with one of `prefixes` (memorization, or backdoor success in backdoor runs). */
const metric = (ms: MetricValue[] | undefined, prefixes: string[]): number | null => {
  for (const p of prefixes) {
    const v = ms?.find((m) => m.id === p || m.id.startsWith(`${p}.test`))?.value;
    if (v !== undefined && v !== null) return v;
  }
  return null;
};

export function readEdit(dir: string): { masks: Map<string, Uint8Array>; shapes: Map<string, number[]>;
  record: EditRecord; } {
  const mf = path.join(dir, MANIFEST_FILE);
  // Checked as every load is: the manifest's version, and masks.safetensors and the weights as it recorded them.
  const manifest = readManifest(dir) as { mitigation?: EditRecord } | null;
  if (!manifest) throw userError(dir,
    `has no ${MANIFEST_FILE}; inspect an edited checkpoint written by a mitigate step`, 'file');
  if (!manifest.mitigation) throw userError(mf,
    'records no mitigation: this checkpoint was trained, not edited; inspect the folder a mitigate step wrote', 'file');
  const masks = new Map<string, Uint8Array>();
  const shapes = new Map<string, number[]>();
  const file = path.join(dir, MASKS_FILE);
  if (fs.existsSync(file)) {
    for (const [name, t] of readSafetensors(file).tensors) {
      if (t.dtype !== 'U8' && t.dtype !== 'BOOL') throw userError(file,
        `tensor "${name}" has dtype ${t.dtype}; masks are U8 (1 = kept, 0 = pruned)`, 'file');
      masks.set(name, t.data as Uint8Array);
      shapes.set(name, [...t.shape]);
    }
  }
  return { masks, shapes, record: manifest.mitigation };
}

export async function runInspectStep(s: InspectStep, ctx: CellContext): Promise<CellResult> {
  const dir = checkpointFor(ctx, s.checkpoint, 'edited');
  ctx.onProgress({ message: `reading ${path.join(dir, MASKS_FILE)}` });
  const { masks, shapes, record } = readEdit(dir);
  const info = listMethods().find((m) => m.id === record.method);
  const utilIds = ['accuracy.paper', 'perplexity.paper'];
  const view = masksView({
    masks,
    shapes,
    method: info?.name ?? record.method ?? 'unknown method',
    family: info?.family ?? 'unknown',
    utility: metric(record.before, ['accuracy.paper']) !== null ? 'accuracy' : 'perplexity',
    memBefore: metric(record.before, ['memorization', 'backdoorSuccess']),
    memAfter: metric(record.after, ['memorization', 'backdoorSuccess']),
    utilityBefore: metric(record.before, utilIds),
    utilityAfter: metric(record.after, utilIds),
  }, s.title ?? `What ${info?.name ?? record.method} pruned in ${path.basename(dir)}`);
  const outputs = [view];
  if (masks.size === 0) {
    const note = `${info?.name ?? record.method} changed weight values without pruning, so \`${dir}\` has no ` +
      `${MASKS_FILE}.`;
    outputs.push({ mime: 'text/markdown', payload: note, markdown: note });
  }
  ctx.state.lastEdited = dir;
  return { outputs, provider: '', stopped: false };
}
