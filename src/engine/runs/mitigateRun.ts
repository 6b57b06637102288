// Mitigating a subject (a TinyMem checkpoint, or a model folder with a user's sequence sets) with one method: measure
// the base model (the memorized sequences become the forget set), run the method (timed alone, as the paper times
// it), measure the edited model, and write the edited folder in the base's layout with masks.safetensors (what was
// pruned) and the method's record in tinymem.json (for sequence sets also the sets, so it can be measured again).
import { type TokenMatrix, gatherRows } from '../data/tokenMatrix';
import { Rng } from '../data/rng';
import { MANIFEST_VERSION, type FolderFile } from '../model/folderCommit';
import { paramShapes } from '../model/architecture';
import { saveModel } from '../model/checkpoint';
import { safetensorsChunks } from '../model/safetensors';
import type { EvalProgress } from '../metrics/evaluate';
import { MEM_PROMPT_LENGTH } from '../metrics/memorization';
import { getAnyMethod, getMethod, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import type { FineTuneContext, MitigationMethod, Params, RegularizerMethod } from '../methods/types';
import type { Runtime } from '../runtime/session';
import type { TinyMemDataset } from '../train/tinymemData';
import type { HyperValue, MethodProgress, PrunedTensor } from '../../shared/methodTypes';
import type { EvaluationResult } from '../../shared/metricTypes';
import type { RunManifest, SequenceSetsSpec } from '../../shared/runManifest';
import type { ClaimedOutput } from '../io/outputDir';
import {
  type SequenceSetFiles, type Subject, evaluateSubject, openSubject, recordedSets, subjectSets,
} from './subject';

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

/** Which sets a mitigation runs on, checked before anything loads: without TinyMem data, a sequence set. */
export function mitigationSets(dir: string, given?: SequenceSetFiles): SequenceSetsSpec | 'tinymem' {
  const sets = subjectSets(dir, given);
  if (sets === null || (sets !== 'tinymem' && !sets.sequences)) {
    const pass = 'pass --sequences FILE (a JSON/JSONL memorized-sequence set) to find what to unlearn';
    throw new Error(`${dir} is a Hugging Face model folder: ${pass}`);
  }
  return sets;
}

export interface PrepareOptions {
  /** The user's sets (see mitigationSets), or a subject already opened. */
  sets?: SequenceSetFiles | Subject;
  retainLimit?: number;
  seed?: number;
  /** The subject's measurement, when the caller has it already. */
  before?: EvaluationResult;
  onEvalProgress?(p: EvalProgress): void;
}

/** Measures a subject and derives the forget set (what it memorized) and the retain set. */
export async function prepareBase(rt: Runtime, dir: string, o: PrepareOptions = {}): Promise<BaseModel> {
  const s = o.sets && 'source' in o.sets ? o.sets : openSubject(dir, mitigationSets(dir, o.sets));
  const before = o.before ?? await evaluateSubject(rt, s, undefined, { onProgress: o.onEvalProgress });
  const mem = before.memorization!;
  const src = s.source;
  const none = (what: string) => new Error(`${dir}: the model ${what}, so there is nothing to unlearn`);
  if (src.kind === 'sequences') {
    if (!mem.forgetSet.length) {
      throw none(`memorizes none of the ${mem.pooled.rows} sequences in ${src.files.sequences}`);
    }
    const forget = gatherRows(src.sequences!, mem.forgetSet);
    return { ...s, before, forget, retain: src.retain ?? { rows: 0, cols: forget.cols, data: new Int32Array(0) } };
  }
  const artifacts = mem.source === 'artifacts';
  if (mem.forgetSet.length === 0) {
    throw none(`memorized none of its ${mem.pooled.rows} ${artifacts ? 'noised' : 'poisoned test'} sequences`);
  }
  const forget = gatherRows(artifacts ? src.artifacts.tokens : src.backdoor!.poisonedTest, mem.forgetSet);
  // Retain set: the clean training rows, without the planted sequences (the reference also included the noised
  // sequences themselves, spec §7.5, which asks the method to keep what it should forget). The planted rows come
  // first in the training matrix. A seeded subset bounds the cost.
  const first = src.artifacts.tokens.rows;
  const clean = Array.from({ length: src.train.tokens.rows - first }, (_, i) => first + i);
  const limit = o.retainLimit ?? 2000;
  const sample = () =>
    Array.from(new Rng(o.seed ?? 0).sample(clean.length, limit), (i) => clean[i]!).sort((a, b) => a - b);
  return { ...s, before, forget, retain: gatherRows(src.train.tokens, clean.length > limit ? sample() : clean) };
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
export function prunedTensors(masks: ReadonlyMap<string, Uint8Array>, shapes: Iterable<readonly [string, number[]]>) {
  const shapeOf = new Map(shapes);
  return [...masks].map(([tensor, m]): PrunedTensor => {
    const pruned = m.reduce((s, v) => s + (v ? 0 : 1), 0);
    return { tensor, shape: shapeOf.get(tensor) ?? [m.length], pruned, total: m.length };
  });
}

type Hyper = Record<string, HyperValue | string>;

/**
 * The method a run names and its hyper-parameters, checked: an unknown method, a regularizer or a bad value is
 * refused here, before the base model is loaded or measured. On a checkpoint, fine-tuning continues with the batch
 * size it was trained with (its manifest's) unless one is given: its training showed that batch fits the machine,
 * where the paper's 128 on the language models' 50,257-token vocabulary needs over 24 GB. On a user's sequence sets
 * only unlearning methods run (the others need TinyMem training data), and those that keep a retain set's loss low
 * need one.
 */
export function checkMitigation(
  methodId: string,
  hyperParams?: Hyper,
  manifest: Partial<RunManifest> = {},
  sequences?: { hasRetain: boolean },
): { method: Exclude<MitigationMethod, RegularizerMethod>; hp: Record<string, HyperValue> } {
  if (sequences) {
    const method = getMethod(methodId);
    if (method.usesRetain && !sequences.hasRetain) {
      throw new Error(`${method.id} needs a retain set: pass --text FILE (or --retain FILE) with clean text`);
    }
    return { method, hp: resolveHyperParams(method, hyperParams) };
  }
  const method = getAnyMethod(methodId);
  if (method.family === 'regularizer') {
    throw new Error(`"${method.id}" is a regularizer: it applies while training from scratch; ` +
      `use \`tinymem train --preset NAME --regularizer ${method.id}\``);
  }
  const batch = manifest.train?.batchSize;
  const keepBatch = method.family === 'fine-tune' && hyperParams?.batchSize === undefined && typeof batch === 'number';
  return { method, hp: resolveHyperParams(method, keepBatch ? { ...hyperParams, batchSize: batch } : hyperParams) };
}

/** Runs one method on a prepared base model and measures the result on the same sets. */
export async function mitigate(rt: Runtime, base: BaseModel, o: MitigateOptions): Promise<Mitigation> {
  const src = base.source;
  const seqs = src.kind === 'sequences' ? src : null;
  const { forget, retain } = base;
  const needs = seqs ? { hasRetain: retain.rows > 0 } : undefined;
  const { method, hp } = checkMitigation(o.method, o.hyperParams, base.manifest, needs);
  const c = base.model.config;
  const { onProgress, signal } = o;
  const common = { runtime: rt, config: c, params: base.model.params, hp, seed: o.seed ?? 0, onProgress, signal };
  const t0 = performance.now();
  // Fine-tuning continues training on the checkpoint's own (rebuilt) training data; unlearning uses forget/retain.
  const res =
    method.family === 'fine-tune'
      ? await method.run({ ...common, config: c as FineTuneContext['config'], data: src as TinyMemDataset })
      : await method.run({ ...common, forget, retain, promptLength: seqs?.promptLength ?? MEM_PROMPT_LENGTH });
  const seconds = (performance.now() - t0) / 1000;
  const pruned = prunedTensors(res.masks, paramShapes(c));
  const heatmapFocus = base.before.memorization?.forgetSet;
  const after = await evaluateSubject(rt, base, res.params, { onProgress: o.onEvalProgress, heatmapFocus });
  const hash = (base.manifest.contentHashes as Record<string, unknown> | undefined)?.['model.safetensors'];
  const from = { dir: base.model.dir, weightsHash: typeof hash === 'string' ? hash : null };
  return {
    params: res.params,
    masks: res.masks,
    after,
    record: {
      method: method.id, hyperParams: hp, seconds, base: from, forgetRows: forget.rows, retainRows: retain.rows, pruned,
      notes: res.notes ?? [],
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
  const now = new Date().toISOString();
  const history = base.manifest.metricHistory;
  const manifest = src.kind === 'sequences'
    ? { kind: 'hf-mitigation', version: MANIFEST_VERSION, modelType: base.model.modelType, createdAt: now,
      data: recordedSets(out.dir, src.files) }
    : { ...base.manifest, updatedAt: now, contentHashes: undefined,
      metricHistory: Array.isArray(history) ? [...history] : [] };
  const shapes = new Map(paramShapes(base.model.config));
  const extraFiles = masksFile(m.masks, shapes);
  saveModel(out.dir, base.model, m.params, { ...manifest, mitigation }, { copyFrom: base.model.dir, extraFiles });
  return out.dir;
}

/** masks.safetensors (1 = kept, 0 = pruned) as a file of the edited folder's commit; none when nothing was masked. */
export function masksFile(masks: ReadonlyMap<string, Uint8Array>, shapes: ReadonlyMap<string, number[]>): FolderFile[] {
  if (masks.size === 0) return [];
  const tensors = Object.fromEntries(
    [...masks].map(([name, data]) => [name, { dtype: 'U8' as const, shape: shapes.get(name) ?? [data.length], data }]),
  );
  const meta = { format: 'tinymem-masks', meaning: '1 = kept, 0 = pruned' };
  return [{ name: MASKS_FILE, chunks: safetensorsChunks(tensors, meta, MASKS_FILE) }];
}
