// Mitigating a pretrained model from a Hugging Face folder, as the paper does for Pythia (spec §6): the forget set
// is the part of a user-supplied memorized-sequence set (MemPi format) that the model still reproduces, the retain
// set and the perplexity set are fixed-length chunks of user text, and the edited model is written back as a
// Hugging Face folder (same layout, F32) with masks.safetensors and tinymem.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEMPI_CONTINUATION_LENGTH, MEMPI_PROMPT_LENGTH, readSequenceFile, readTextOrTokens } from '../data/memorizedSequences';
import { type TokenMatrix, gatherRows } from '../data/tokenMatrix';
import { dims, paramShapes } from '../model/architecture';
import { type HfModel, loadModelFolder, saveModelFolder } from '../model/checkpoint';
import { MANIFEST_VERSION } from '../model/folderCommit';
import { type TextTokenizer, loadTokenizer } from '../model/hfTokenizer';
import { readTextLimited } from '../io/readLimited';
import { type SequenceSetEvaluation, evaluateSequenceSets } from '../metrics/sequenceSetEval';
import { getMethod, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import type { Params } from '../methods/types';
import type { Runtime } from '../runtime/session';
import { type MitigateOptions, masksFile, type MitigationRecord, prunedTensors } from './mitigateRun';
import type { ClaimedOutput } from '../io/outputDir';
import type { HyperValue } from '../../shared/methodTypes';

/** The paper's Pythia sets hold 1632 chunks each (spec §6); larger files are cut there by default. */
export const DEFAULT_CHUNK_LIMIT = 1632;

export interface HfDataOptions {
  /** Memorized-sequence set (JSON or JSONL of token-id lists). */
  sequences?: string;
  /** Text (or a .json token file) for perplexity, in chunks as long as the sequences (80 by default). */
  text?: string;
  /** Text for the retain set; defaults to `text`. */
  retain?: string;
  promptLength?: number;
  continuationLength?: number;
  /** Chunk length when there is no sequence set (default prompt + continuation + 8, i.e. 80). */
  chunkLength?: number;
  /** Most chunks taken from each text file (default 1632). */
  chunkLimit?: number;
}

export interface HfSets {
  sequences: TokenMatrix | null;
  text: TokenMatrix | null;
  retain: TokenMatrix | null;
  promptLength: number;
  continuationLength: number;
}

/** Reads the sets a command names, checked against the model (ids, lengths, context). */
export function readHfSets(model: HfModel, o: HfDataOptions): HfSets {
  const d = dims(model.config);
  const promptLength = o.promptLength ?? MEMPI_PROMPT_LENGTH;
  const continuationLength = o.continuationLength ?? MEMPI_CONTINUATION_LENGTH;
  const sequences = o.sequences ? readSequenceFile(o.sequences, { vocab: d.vocab, context: d.context, promptLength, continuationLength }) : null;
  const length = sequences?.cols ?? o.chunkLength ?? Math.min(d.context, promptLength + continuationLength + 8);
  let tok: TextTokenizer | undefined;
  const tokenizer = () => (tok ??= loadTokenizer(model.dir));
  const chunks = (file: string) => {
    const t = /\.json$/i.test(file) ? undefined : tokenizer();
    return readTextOrTokens(file, { length, vocab: d.vocab, encode: t?.encode, tokenizerFile: t?.file, maxRows: o.chunkLimit ?? DEFAULT_CHUNK_LIMIT });
  };
  const text = o.text ? chunks(o.text) : null;
  const retainFile = o.retain ?? o.text;
  const retain = retainFile ? (retainFile === o.text ? text : chunks(retainFile)) : null;
  return { sequences, text, retain, promptLength, continuationLength };
}

/** EOS, which the paper's generate(min_length = max_length) never emits; null when the config names none. */
export const suppressTokenOf = (m: HfModel): number | null => (typeof m.rawConfig.eos_token_id === 'number' ? m.rawConfig.eos_token_id : null);

export interface HfBase {
  model: HfModel;
  sets: HfSets;
  before: SequenceSetEvaluation;
  forget: TokenMatrix;
  retain: TokenMatrix;
  files: HfDataOptions;
}

/** Loads the folder, reads the sets, measures the model; the memorized sequences become the forget set. */
export async function prepareHfBase(rt: Runtime, dir: string, o: HfDataOptions & { onEvalProgress?(p: { stage: string; done: number; total: number }): void }): Promise<HfBase> {
  const model = loadModelFolder(dir);
  if (!o.sequences) throw new Error(`${dir} is a Hugging Face model folder: pass --sequences FILE (a JSON/JSONL memorized-sequence set) to find what to unlearn`);
  const sets = readHfSets(model, o);
  const before = await evaluateSequenceSets(rt, model.config, model.params, sets.text ? { sequences: sets.sequences!, text: sets.text } : { sequences: sets.sequences! }, {
    promptLength: sets.promptLength, continuationLength: sets.continuationLength, suppressToken: suppressTokenOf(model), onProgress: o.onEvalProgress,
  });
  const mem = before.memorization!;
  if (mem.forgetSet.length === 0) throw new Error(`${dir}: the model memorizes none of the ${mem.pooled.rows} sequences in ${o.sequences}, so there is nothing to unlearn`);
  const forget = gatherRows(sets.sequences!, mem.forgetSet);
  const retain = sets.retain ?? { rows: 0, cols: forget.cols, data: new Int32Array(0) };
  return { model, sets, before, forget, retain, files: o };
}

export interface HfMitigation {
  params: Params;
  masks: Map<string, Uint8Array>;
  record: MitigationRecord;
  after: SequenceSetEvaluation;
}

/**
 * The unlearning method a run on a Hugging Face folder names, checked before the model is loaded: known, not a
 * regularizer or fine-tuning method (those need TinyMem training data), valid hyper-parameters, and a retain set
 * when the method uses one.
 */
export function checkHfMitigation(methodId: string, hyperParams: Record<string, HyperValue | string> | undefined, hasRetain: boolean): { method: ReturnType<typeof getMethod>; hp: Record<string, HyperValue> } {
  const method = getMethod(methodId);
  const hp = resolveHyperParams(method, hyperParams);
  if (method.usesRetain && !hasRetain) throw new Error(`${method.id} needs a retain set: pass --text FILE (or --retain FILE) with clean text`);
  return { method, hp };
}

/** Runs one method on the prepared model and measures the result on the same sets. */
export async function mitigateHf(rt: Runtime, base: HfBase, o: MitigateOptions): Promise<HfMitigation> {
  const { method, hp } = checkHfMitigation(o.method, o.hyperParams, base.retain.rows > 0);
  const c = base.model.config;
  const t0 = performance.now();
  const res = await method.run({
    runtime: rt, config: c, params: base.model.params, forget: base.forget, retain: base.retain, promptLength: base.sets.promptLength,
    hp, seed: o.seed ?? 0, onProgress: o.onProgress, signal: o.signal,
  });
  const seconds = (performance.now() - t0) / 1000;
  const pruned = prunedTensors(res.masks, paramShapes(c));
  const after = await evaluateSequenceSets(rt, c, res.params, base.sets.text ? { sequences: base.sets.sequences!, text: base.sets.text } : { sequences: base.sets.sequences! }, {
    promptLength: base.sets.promptLength, continuationLength: base.sets.continuationLength, suppressToken: suppressTokenOf(base.model), onProgress: o.onEvalProgress,
  });
  const hash = base.model.manifest && typeof (base.model.manifest.contentHashes as Record<string, unknown> | undefined)?.['model.safetensors'] === 'string'
    ? ((base.model.manifest.contentHashes as Record<string, string>)['model.safetensors'] ?? null) : null;
  return {
    params: res.params, masks: res.masks, after,
    record: { method: method.id, hyperParams: hp, seconds, base: { dir: base.model.dir, weightsHash: hash }, forgetRows: base.forget.rows, retainRows: base.retain.rows, pruned, notes: res.notes ?? [] },
  };
}

/** Writes the edited model as a Hugging Face folder (tokenizer files copied) with masks.safetensors and tinymem.json. */
export function saveHfMitigation(out: ClaimedOutput, base: HfBase, m: HfMitigation): string {
  const dir = out.dir;
  const manifest = {
    kind: 'hf-mitigation',
    version: MANIFEST_VERSION,
    modelType: base.model.modelType,
    createdAt: new Date().toISOString(),
    data: { sequences: base.files.sequences ?? null, text: base.files.text ?? null, retain: base.files.retain ?? base.files.text ?? null, promptLength: base.sets.promptLength, continuationLength: base.sets.continuationLength },
    mitigation: { ...m.record, before: base.before.metrics, after: m.after.metrics },
  };
  saveModelFolder(dir, base.model, m.params, manifest, base.model.dir, masksFile(m.masks, new Map(paramShapes(base.model.config))));
  return dir;
}

/** Whether `dir` is a model folder without TinyMem training data (so it is measured on user-supplied sets). */
export function isPretrainedFolder(dir: string): boolean {
  const manifest = path.join(dir, 'tinymem.json');
  if (!fs.existsSync(path.join(dir, 'config.json'))) return false;
  if (!fs.existsSync(manifest)) return true;
  try {
    const m = JSON.parse(readTextLimited(manifest, 'manifest')) as { data?: { kind?: string } } | null;
    // Not an object: loading it as a TinyMem checkpoint reports what is wrong with tinymem.json.
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
    return m.data?.kind !== 'tinymem';
  } catch {
    return false;
  }
}
