// Mitigating a subject (a TinyMem checkpoint, or a model folder with a user's sequence sets) with one method: measure
// the base model (the memorized sequences become the forget set), run the method (timed alone, as the paper times
// it), measure the edited model, and write the edited folder in the base's layout with masks.safetensors (what was
// pruned) and the method's record in tinymem.json (for sequence sets also the sets, so it can be measured again).
import { type TokenMatrix, gatherRows } from '../data/tokenMatrix';
import { Rng } from '../data/rng';
import { MANIFEST_VERSION, type FolderFile } from '../model/folderCommit';
import { paramShapes } from '../model/architecture';
import { saveModelFolder } from '../model/hfFolder';
import { safetensorsChunks } from '../model/safetensors';
import type { EvalProgress } from '../metrics/evaluate';
import { getAnyMethod, getMethod, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import type { FineTuneContext, MitigationMethod, Params, RegularizerMethod } from '../methods/types';
import type { Runtime } from '../runtime/session';
import type { TinyMemDataset } from '../train/tinymemData';
import type { HyperValue, MethodProgress, PrunedTensor } from '../../shared/methodTypes';
import type { EvaluationResult } from '../../shared/metricTypes';
import type { RunManifest, SequenceSetsSpec } from '../../shared/runManifest';
import type { ClaimedOutput } from '../io/outputDir';
import { type SequenceSetFiles, type Subject, evaluateSubject, openSubject, recordedSets, subjectSets } from './subject';

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

export interface BaseModel extends Subject {
  before: EvaluationResult;
  forget: TokenMatrix;
  retain: TokenMatrix;
}

/** Which sets a mitigation runs on, checked before anything is loaded: on a folder without TinyMem data, a sequence set. */
export function mitigationSets(dir: string, given?: SequenceSetFiles): SequenceSetsSpec | 'tinymem' {
  const sets = subjectSets(dir, given);
  if (sets === null || (sets !== 'tinymem' && !sets.sequences)) {
    throw new Error(`${dir} is a Hugging Face model folder: pass --sequences FILE (a JSON/JSONL memorized-sequence set) to find what to unlearn`);
  }
  return sets;
}

/** Measures a subject (opened here on `sets`, see mitigationSets) and derives the forget and retain sets. */
export async function prepareBase(rt: Runtime, dir: string, o: { sets?: SequenceSetFiles | Subject; retainLimit?: number; seed?: number; onEvalProgress?(p: EvalProgress): void } = {}): Promise<BaseModel> {
  const s = o.sets && 'source' in o.sets ? o.sets : openSubject(dir, mitigationSets(dir, o.sets));
  const before = await evaluateSubject(rt, s, undefined, { onProgress: o.onEvalProgress });
  const mem = before.memorization!;
  const src = s.source;
  if (src.kind === 'sequences') {
    if (mem.forgetSet.length === 0) throw new Error(`${dir}: the model memorizes none of the ${mem.pooled.rows} sequences in ${src.files.sequences}, so there is nothing to unlearn`);
    const forget = gatherRows(src.sequences!, mem.forgetSet);
    return { ...s, before, forget, retain: src.retain ?? { rows: 0, cols: forget.cols, data: new Int32Array(0) } };
  }
  if (mem.forgetSet.length === 0) {
    throw new Error(`${dir}: the model memorized none of its ${mem.pooled.rows} ${mem.source === 'artifacts' ? 'noised sequences' : 'poisoned test sequences'}, so there is nothing to unlearn`);
  }
  const forget = gatherRows(mem.source === 'artifacts' ? src.artifacts.tokens : src.backdoor!.poisonedTest, mem.forgetSet);
  // Retain set: the clean training rows, without the planted sequences (the reference also included the noised
  // sequences themselves, spec §7.5, which asks the method to keep what it should forget). The planted rows come
  // first in the training matrix. A seeded subset bounds the cost.
  const first = src.artifacts.tokens.rows;
  const clean = Array.from({ length: src.train.tokens.rows - first }, (_, i) => first + i);
  const limit = o.retainLimit ?? 2000;
  const rows = clean.length > limit ? Array.from(new Rng(o.seed ?? 0).sample(clean.length, limit), (i) => clean[i]!).sort((a, b) => a - b) : clean;
  return { ...s, before, forget, retain: gatherRows(src.train.tokens, rows) };
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
 * fine-tuning its training batch size). On a user's sequence sets (`sequences`) only unlearning methods run (the
 * others need TinyMem training data), and those that keep a retain set's loss low need one.
 */
export function checkMitigation(methodId: string, hyperParams?: Record<string, HyperValue | string>, manifest: Partial<RunManifest> = {}, sequences?: { hasRetain: boolean }): { method: Exclude<MitigationMethod, RegularizerMethod>; hp: Record<string, HyperValue> } {
  if (sequences) {
    const method = getMethod(methodId);
    if (method.usesRetain && !sequences.hasRetain) throw new Error(`${method.id} needs a retain set: pass --text FILE (or --retain FILE) with clean text`);
    return { method, hp: resolveHyperParams(method, hyperParams) };
  }
  const method = getAnyMethod(methodId);
  if (method.family === 'regularizer') {
    throw new Error(`"${method.id}" is a regularizer: it applies while training from scratch; use \`tinymem train --preset NAME --regularizer ${method.id}\``);
  }
  return { method, hp: methodHyperParams(method, hyperParams, manifest) };
}

/** Runs one method on a prepared base model and measures the result on the same sets. */
export async function mitigate(rt: Runtime, base: BaseModel, o: MitigateOptions): Promise<Mitigation> {
  const src = base.source;
  const seqs = src.kind === 'sequences' ? src : null;
  const { method, hp } = checkMitigation(o.method, o.hyperParams, base.manifest, seqs ? { hasRetain: base.retain.rows > 0 } : undefined);
  const c = base.model.config;
  const common = { runtime: rt, config: c, params: base.model.params, hp, seed: o.seed ?? 0, onProgress: o.onProgress, signal: o.signal };
  const t0 = performance.now();
  // Fine-tuning continues training on the checkpoint's own (rebuilt) training data; unlearning uses forget/retain.
  const res =
    method.family === 'fine-tune'
      ? await method.run({ ...common, config: c as FineTuneContext['config'], data: src as TinyMemDataset })
      : await method.run({ ...common, forget: base.forget, retain: base.retain, promptLength: seqs?.promptLength ?? 50 });
  const seconds = (performance.now() - t0) / 1000;
  const pruned = prunedTensors(res.masks, paramShapes(c));
  const after = await evaluateSubject(rt, base, res.params, { onProgress: o.onEvalProgress, heatmapFocus: base.before.memorization?.forgetSet });
  const hash = (base.manifest.contentHashes as Record<string, unknown> | undefined)?.['model.safetensors'];
  return {
    params: res.params,
    masks: res.masks,
    after,
    record: {
      method: method.id, hyperParams: hp, seconds, base: { dir: base.model.dir, weightsHash: typeof hash === 'string' ? hash : null },
      forgetRows: base.forget.rows, retainRows: base.retain.rows, pruned, notes: res.notes ?? [],
    },
  };
}

/**
 * Writes the edited model into a claimed output folder in the base's layout (tokenizer files copied) with
 * masks.safetensors and a manifest: a checkpoint's manifest with the edit, or for sequence sets the edit and the sets.
 */
export function saveMitigation(out: ClaimedOutput, base: BaseModel, m: Mitigation): string {
  const mitigation = { ...m.record, before: base.before.metrics, after: m.after.metrics };
  const src = base.source;
  const manifest = src.kind === 'sequences'
    ? { kind: 'hf-mitigation', version: MANIFEST_VERSION, modelType: base.model.modelType, createdAt: new Date().toISOString(), data: recordedSets(out.dir, src.files), mitigation }
    : {
      ...base.manifest,
      updatedAt: new Date().toISOString(),
      contentHashes: undefined,
      metricHistory: Array.isArray(base.manifest.metricHistory) ? [...base.manifest.metricHistory] : [],
      mitigation,
    };
  saveModelFolder(out.dir, base.model, m.params, manifest, base.model.dir, masksFile(m.masks, new Map(paramShapes(base.model.config))));
  return out.dir;
}

/** masks.safetensors (1 = kept, 0 = pruned) as a file of the edited folder's commit; none when nothing was masked. */
export function masksFile(masks: ReadonlyMap<string, Uint8Array>, shapes: ReadonlyMap<string, number[]>): FolderFile[] {
  if (masks.size === 0) return [];
  const tensors = Object.fromEntries([...masks].map(([name, mask]) => [name, { dtype: 'U8' as const, shape: shapes.get(name) ?? [mask.length], data: mask }]));
  return [{ name: MASKS_FILE, chunks: safetensorsChunks(tensors, { format: 'tinymem-masks', meaning: '1 = kept, 0 = pruned' }, MASKS_FILE) }];
}
