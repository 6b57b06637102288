// Mitigating a trained TinyMem checkpoint with one unlearning method: measure the base model (the memorized
// sequences become the forget set), run the method (timed alone, as the paper times it), measure the edited model,
// and write the edited checkpoint with masks.safetensors (what was pruned) and the method's record in tinymem.json.
import * as path from 'node:path';
import { type TokenMatrix, gatherRows } from '../data/tokenMatrix';
import { Rng } from '../data/rng';
import { type LoadedCheckpoint, CheckpointError, MANIFEST_FILE, loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { gpt2ParamShapes } from '../model/gpt2';
import { safetensorsChunks } from '../model/safetensors';
import type { FolderFile } from '../model/folderCommit';
import { type EvalProgress, evaluate } from '../metrics/evaluate';
import { getAnyMethod, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import type { MitigationMethod, Params, RegularizerMethod } from '../methods/types';
import type { Runtime } from '../runtime/session';
import { type TinyMemDataset, manifestDataset } from '../train/tinymemData';
import type { HyperValue, MethodProgress, PrunedTensor } from '../../shared/methodTypes';
import type { EvaluationResult } from '../../shared/metricTypes';
import type { RunManifest } from '../../shared/runManifest';
import type { ClaimedOutput } from '../io/outputDir';

export const MASKS_FILE = 'masks.safetensors';

/** The record of an edit, stored under `mitigation` in the edited checkpoint's tinymem.json. */
export interface MitigationRecord {
  method: string;
  hyperParams: Record<string, HyperValue>;
  /** Wall-clock seconds of the method alone (spec §3.5). */
  seconds: number;
  base: { dir: string; weightsHash: string | null };
  forgetRows: number;
  retainRows: number;
  pruned: PrunedTensor[];
  notes: string[];
}

export interface BaseModel {
  ckpt: LoadedCheckpoint;
  manifest: RunManifest;
  data: TinyMemDataset;
  before: EvaluationResult;
  forget: TokenMatrix;
  retain: TokenMatrix;
}

/** Loads a TinyMem checkpoint, measures it, and derives the forget and retain sets. */
export async function prepareBase(rt: Runtime, dir: string, o: { retainLimit?: number; seed?: number; onEvalProgress?(p: EvalProgress): void } = {}): Promise<BaseModel> {
  const ckpt = loadCheckpoint(dir);
  const manifest = ckpt.manifest as RunManifest | null;
  if (!manifest?.data || manifest.data.kind !== 'tinymem') {
    throw new CheckpointError(path.join(dir, MANIFEST_FILE), 'has no TinyMem data spec, so the memorized sequences cannot be found; mitigate a checkpoint written by `tinymem train`');
  }
  const data = manifestDataset(path.join(dir, MANIFEST_FILE), manifest.data);
  const before = await evaluate(rt, ckpt.config, ckpt.params, data, { onProgress: o.onEvalProgress });
  const mem = before.memorization!;
  const source = mem.source === 'artifacts' ? data.artifacts.tokens : data.backdoor!.poisonedTest;
  if (mem.forgetSet.length === 0) {
    throw new Error(`${dir}: the model memorized none of its ${mem.pooled.rows} ${mem.source === 'artifacts' ? 'noised sequences' : 'poisoned test sequences'}, so there is nothing to unlearn`);
  }
  const forget = gatherRows(source, mem.forgetSet);
  // Retain set: the clean training rows, without the planted sequences (the reference also included the noised
  // sequences themselves, spec §7.5, which asks the method to keep what it should forget). The planted rows come
  // first in the training matrix. A seeded subset bounds the cost.
  const first = data.artifacts.tokens.rows;
  const clean = Array.from({ length: data.train.tokens.rows - first }, (_, i) => first + i);
  const limit = o.retainLimit ?? 2000;
  const rows = clean.length > limit ? Array.from(new Rng(o.seed ?? 0).sample(clean.length, limit), (i) => clean[i]!).sort((a, b) => a - b) : clean;
  return { ckpt, manifest, data, before, forget, retain: gatherRows(data.train.tokens, rows) };
}

export interface MitigateOptions {
  method: string;
  hyperParams?: Record<string, HyperValue | string>;
  seed?: number;
  signal?: AbortSignal;
  onProgress?(p: MethodProgress): void;
  onEvalProgress?(p: EvalProgress): void;
}

export interface Mitigation {
  params: Params;
  masks: Map<string, Uint8Array>;
  record: MitigationRecord;
  after: EvaluationResult;
}

/** What each mask pruned (0 = pruned), with the tensor's shape: the manifest's record of an edit. */
export function prunedTensors(masks: ReadonlyMap<string, Uint8Array>, shapes: Iterable<readonly [string, number[]]>): PrunedTensor[] {
  const shapeOf = new Map(shapes);
  return [...masks].map(([tensor, m]) => ({ tensor, shape: shapeOf.get(tensor) ?? [m.length], pruned: m.reduce((s, v) => s + (v ? 0 : 1), 0), total: m.length }));
}

/**
 * A method's hyper-parameters on a checkpoint: the given ones, the paper's defaults for the rest, except that
 * fine-tuning continues with the batch size the checkpoint was trained with unless one is given: its training showed
 * that batch fits the machine, where the paper's 128 on the language models' 50,257-token vocabulary needs over 24 GB.
 */
function methodHyperParams(method: MitigationMethod, given: Record<string, HyperValue | string> | undefined, manifest: Partial<RunManifest>): Record<string, HyperValue> {
  const trainBatch = manifest.train?.batchSize;
  const withBatch = method.family === 'fine-tune' && given?.batchSize === undefined && typeof trainBatch === 'number' ? { ...given, batchSize: trainBatch } : given;
  return resolveHyperParams(method, withBatch);
}

/**
 * The method a run names and its hyper-parameters, checked: an unknown method, a regularizer or a bad value is
 * refused here, before the base model is loaded or measured (the checkpoint's manifest, when known, gives
 * fine-tuning its training batch size).
 */
export function checkMitigation(methodId: string, hyperParams?: Record<string, HyperValue | string>, manifest: Partial<RunManifest> = {}): { method: Exclude<MitigationMethod, RegularizerMethod>; hp: Record<string, HyperValue> } {
  const method = getAnyMethod(methodId);
  if (method.family === 'regularizer') {
    throw new Error(`"${method.id}" is a regularizer: it applies while training from scratch; use \`tinymem train --preset NAME --regularizer ${method.id}\``);
  }
  return { method, hp: methodHyperParams(method, hyperParams, manifest) };
}

/** Runs one method on a prepared base model and measures the result. */
export async function mitigate(rt: Runtime, base: BaseModel, o: MitigateOptions): Promise<Mitigation> {
  const { method, hp } = checkMitigation(o.method, o.hyperParams, base.manifest);
  const c = base.ckpt.config;
  const common = { runtime: rt, config: c, params: base.ckpt.params, hp, seed: o.seed ?? 0, onProgress: o.onProgress, signal: o.signal };
  const t0 = performance.now();
  // Fine-tuning continues training on the checkpoint's own (rebuilt) training data; unlearning uses forget/retain.
  const res =
    method.family === 'fine-tune'
      ? await method.run({ ...common, data: base.data })
      : await method.run({ ...common, forget: base.forget, retain: base.retain, promptLength: 50 });
  const seconds = (performance.now() - t0) / 1000;
  const pruned = prunedTensors(res.masks, gpt2ParamShapes(c));
  const after = await evaluate(rt, c, res.params, base.data, { onProgress: o.onEvalProgress });
  const hash = (base.manifest.contentHashes ?? {})['model.safetensors'] ?? null;
  return {
    params: res.params,
    masks: res.masks,
    after,
    record: { method: method.id, hyperParams: hp, seconds, base: { dir: base.ckpt.dir, weightsHash: hash }, forgetRows: base.forget.rows, retainRows: base.retain.rows, pruned, notes: res.notes ?? [] },
  };
}

/** Writes the edited checkpoint into a claimed output folder: weights, masks.safetensors and a manifest with the base run and the edit. */
export function saveMitigation(out: ClaimedOutput, base: BaseModel, m: Mitigation): string {
  const dir = out.dir;
  const shapes = new Map(gpt2ParamShapes(base.ckpt.config));
  const manifest = {
    ...base.manifest,
    updatedAt: new Date().toISOString(),
    contentHashes: undefined,
    metricHistory: Array.isArray(base.manifest.metricHistory) ? [...base.manifest.metricHistory] : [],
    mitigation: { ...m.record, before: base.before.metrics, after: m.after.metrics },
  };
  saveCheckpoint(dir, base.ckpt.config, m.params, manifest as unknown as Record<string, unknown>, { extraFiles: masksFile(m.masks, shapes) });
  return dir;
}

/** masks.safetensors (1 = kept, 0 = pruned) as a file of the edited folder's commit; none when nothing was masked. */
export function masksFile(masks: ReadonlyMap<string, Uint8Array>, shapes: ReadonlyMap<string, number[]>): FolderFile[] {
  if (masks.size === 0) return [];
  const tensors = Object.fromEntries([...masks].map(([name, mask]) => [name, { dtype: 'U8' as const, shape: shapes.get(name) ?? [mask.length], data: mask }]));
  return [{ name: MASKS_FILE, chunks: safetensorsChunks(tensors, { format: 'tinymem-masks', meaning: '1 = kept, 0 = pruned' }, MASKS_FILE) }];
}
