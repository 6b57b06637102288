// A model is a Hugging Face folder that `transformers` loads unchanged, for every family (family.ts), except a GPT-2
// with an example-tied-dropout scale that plain GPT-2 cannot express, which it refuses (blockScale.ts):
//   config.json        the family's config fields (model_type "gpt2", "gpt_neox")
//   model.safetensors  Hugging Face tensor names, F32 when written here (F16/BF16/F64 become F32 on load)
//                      (or model.safetensors.index.json + shards when reading exports of big models)
//   tinymem.json       optional run manifest: any JSON object; we add every file's content hash, size and mtime
//   tokenizer.json     with tokenizer_config.json and special_tokens_map.json (tokenizerFiles.ts)
// TinyMem's own checkpoints are GPT-2 folders with a manifest and the tokenizer of their data (math or GPT-2), written
// in the same commit as the weights. Edited models are written back in the same layout with the tokenizer files
// copied along. Names and shapes come from the family's paramShapes, the single source of truth.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { readTextLimited } from '../../shared/readLimited';
import { type FolderFile, checkManifestVersion, commitFolder, missingFolderHint, verifyFolder } from './folderCommit';
import { type ModelConfig, type ModelFamily, type ModelType, FAMILIES, familyOf, familyOfType } from './family';
import {
  type Gpt2CheckpointConfig, type Gpt2Config, gpt2, gpt2ParamShapes, makeCheckpointConfig, validateConfig,
} from './gpt2';
import { parseJson } from './configSchema';
import { isObject } from '../../shared/schemaParts';
import { warnNonFinite } from './loadWarnings';
import {
  SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, type TensorInput, contentHash, elementCount, readSafetensorsDir,
  readSafetensorsDirHeaders, safetensorsChunks,
} from './safetensors';
import { assertModelFits, assertWeightsFit } from './sizeCheck';
import { manifestTokenizerKind, tokenizerFiles } from './tokenizerFiles';
import { SCALED_GPT2_TYPE, foldBlockScale, scaledConfigJson } from './blockScale';
import { UserError, userError } from '../../shared/userError';

export { contentHash, gpt2ParamShapes, makeCheckpointConfig, validateConfig, type Gpt2CheckpointConfig };

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = SAFETENSORS_FILE;
export const MANIFEST_FILE = 'tinymem.json';
export const TOKENIZER_FILE = 'tokenizer.json';
/** Files copied unchanged from the source folder when an edited model is saved. */
const CARRIED_FILES = [
  TOKENIZER_FILE, 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt',
  'generation_config.json',
];
/** How to repair a JSON file of a folder that came from elsewhere (the Hub, another tool). */
const DOWNLOADED = 'fix it or re-download it';
const fileError = (file: string, message: string) => userError(file, message, 'file');

export interface LoadedModel<C extends ModelConfig = ModelConfig> {
  dir: string;
  modelType: ModelType;
  config: C;
  /** config.json as stored, so a save keeps the fields this engine does not use. */
  rawConfig: Record<string, unknown>;
  /** Every paramShapes(config) tensor, F32, in paramShapes order (GPT-2: with lm_head.weight when untied). */
  params: Map<string, Float32Array>;
  /** An untied output head that a family may leave out (GPT-2's lm_head); null when tied to the embedding. */
  lmHead: Float32Array | null;
  /** tinymem.json, or null when the folder has none (e.g. a model from the Hugging Face Hub). */
  manifest: Manifest | null;
  /** What loading adapted: dtype conversions, missing name prefixes, ignored buffers, the head, defaults. */
  notes: string[];
}
export type HfModel = LoadedModel;
export type LoadedCheckpoint = LoadedModel<Gpt2CheckpointConfig>;

/** tinymem.json: the run manifest, a JSON object; folderCommit.ts checks its version and the files it records. */
const ManifestJson = v.looseObject({
  version: v.optional(v.number()),
  contentHashes: v.optional(v.record(v.string(), v.unknown())),
});
export type Manifest = v.InferOutput<typeof ManifestJson>;

/**
 * A JSON file of a model folder (config.json, tinymem.json), read within its size limit; `what` says what the folder
 * needs when the file is missing, `fix` how to repair a file that is not JSON.
 */
export function readJson(file: string, what: string, fix = 'fix it or re-save the checkpoint'): unknown {
  let text: string;
  try {
    text = readTextLimited(file, file.endsWith(MANIFEST_FILE) ? 'manifest' : 'config');
  } catch (e) {
    if (e instanceof UserError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw fileError(file, `not found; ${what}`);
    throw fileError(file, `cannot be read (${(e as Error).message}); check its permissions`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fileError(file, `is not valid JSON (${(e as Error).message}); ${fix}`);
  }
}

/**
 * A folder's tinymem.json (null when there is none), checked: a JSON object, a manifest version this tinymem reads,
 * and every file it records present and unchanged (verifyFolder; `full` re-hashes large files too).
 */
export function readManifest(dir: string, full = false): Manifest | null {
  const root = resolve(dir);
  const file = join(root, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  const raw = readJson(file, '');
  if (!isObject(raw)) {
    const got = Array.isArray(raw) ? 'an array' : JSON.stringify(raw);
    throw fileError(file, `must be a JSON object (the run manifest), got ${got}; fix it, or delete it to use the ` +
      `folder as a plain Hugging Face model`);
  }
  const m = parseJson(ManifestJson, raw, file);
  checkManifestVersion(m, file, (message) => fileError(file, message));
  verifyFolder(root, m, fileError, full);
  return m;
}

/** The family of a folder's config.json (its model_type). */
export function folderFamily(dir: string): ModelFamily {
  const file = join(resolve(dir), CONFIG_FILE);
  const raw = readJson(file, `a model folder needs config.json; pick the folder that holds config.json and ` +
    `${WEIGHTS_FILE}`, DOWNLOADED);
  if (!isObject(raw)) throw fileError(file, 'must be a JSON object; fix config.json');
  const t = raw.model_type;
  // A GPT-2 with a block-input scale that plain GPT-2 cannot express (blockScale.ts).
  const family = familyOfType(t === SCALED_GPT2_TYPE ? gpt2.modelType : t as string);
  if (family) return family;
  const types = FAMILIES.map((f) => `"${f.modelType}"`).join(' and ');
  const classes = FAMILIES.map((f) => f.architecture).join(', ');
  const fix = t === undefined ? 'add the model_type field' : 'pick a model of a supported architecture';
  throw fileError(file, `"model_type" is ${t === undefined ? 'missing' : JSON.stringify(t)}; tinymem runs ${types} ` +
    `models (${classes} e.g. Pythia); ${fix}`);
}

/** Loads a model folder of any family (TinyMem checkpoints included). */
export function loadModelFolder(dir: string, options: { verifyHash?: boolean } = {}): LoadedModel {
  const root = checkFolder(dir, 'model');
  return loadFolder(root, folderFamily(root), options.verifyHash);
}

/**
 * Loads and validates a GPT-2 checkpoint folder. F16/BF16/F64 weights become F32; names without the "transformer."
 * prefix are accepted. The files tinymem.json records are checked first (readManifest); `verifyHash` re-hashes every
 * one of them, even large weights whose size and mtime match the record, and requires a recorded hash of the weights.
 */
export function loadCheckpoint(dir: string, options: { verifyHash?: boolean } = {}): LoadedCheckpoint {
  return loadFolder(checkFolder(dir, 'checkpoint'), gpt2, options.verifyHash) as LoadedCheckpoint;
}

function checkFolder(dir: string, what: 'model' | 'checkpoint'): string {
  const root = resolve(dir);
  if (!existsSync(root)) throw fileError(root,
    `${what} folder not found${missingFolderHint(root) || '; check the path'}`);
  if (!statSync(root).isDirectory()) {
    throw fileError(root, `is a file; a ${what} is a folder holding config.json and ${WEIGHTS_FILE}, pick that folder`);
  }
  return root;
}

const list = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`;

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

function loadFolder(root: string, family: ModelFamily, verifyHash = false): LoadedModel {
  // The manifest first: a newer version, a missing or changed file is refused before the weights are read.
  const manifest = readManifest(root, verifyHash);
  if (verifyHash && !(isObject(manifest?.contentHashes) && typeof manifest.contentHashes[WEIGHTS_FILE] === 'string')) {
    const fix = 'load without verifyHash or re-save the checkpoint';
    throw fileError(join(root, MANIFEST_FILE), `has no contentHashes["${WEIGHTS_FILE}"] to verify the weights ` +
      `against; ${fix}`);
  }
  const configFile = join(root, CONFIG_FILE);
  const what = `a checkpoint folder needs config.json (GPT2Config) next to ${WEIGHTS_FILE}; pick the folder that has ` +
    `it or re-save the checkpoint`;
  const raw = readJson(configFile, what, family === gpt2 ? undefined : DOWNLOADED);
  const { config, notes } = family.parseConfig(raw, configFile);

  // Sizes before data: config.json against the machine's memory, then the weights' headers (names, shapes) against
  // config.json; tensor data is read only once both hold.
  assertModelFits(configFile, config);
  const weightsFile = join(root, existsSync(join(root, SAFETENSORS_FILE)) ? SAFETENSORS_FILE : SAFETENSORS_INDEX_FILE);
  const headers = readSafetensorsDirHeaders(root);
  assertWeightsFit(headers, weightsFile);
  const fileOf = (name: string) => headers.get(name)?.file ?? weightsFile;
  const fail = (name: string, message: string) => fileError(fileOf(name), message);
  const { embedding, head, prefix, buffers, fix } = family.checkpoint;
  // An optional head (tied or not) is handled on its own below, so the expected list is the tied model's.
  const shapes = family.paramShapes(config).filter(([n]) => !(head.optional && n === head.name));
  const expected = new Map(shapes);
  const sizes = family.sizeFields(config);
  const { vocab, hidden } = family.dims(config);

  // Canonical name → stored name
  const found = new Map<string, string>();
  const unexpected: string[] = [];
  const ignored: string[] = [];
  let storedHead: string | undefined;
  let prefixless = 0;
  for (const stored of headers.keys()) {
    if (head.optional && stored === head.name) storedHead = stored;
    else if (buffers.test(stored)) ignored.push(stored);
    else {
      const canonical = prefix && !stored.startsWith(prefix) && expected.has(prefix + stored) ? prefix + stored
        : stored;
      if (!expected.has(canonical)) unexpected.push(stored);
      else if (found.has(canonical)) {
        const both = `tensors "${found.get(canonical)}" and "${stored}" are the same parameter`;
        throw fail(stored, `${both} (with and without the "${prefix}" prefix); keep one and re-export`);
      } else {
        if (canonical !== stored) prefixless++;
        found.set(canonical, stored);
      }
    }
  }
  if (ignored.length > 0) notes.push(...family.checkpoint.buffersNote(ignored));
  if (prefixless > 0) {
    notes.push(`${prefixless} tensor names had no "${prefix}" prefix; they were mapped to Hugging Face's ` +
      `${family.architecture} names`);
  }
  if (unexpected.length > 0) {
    const [first, ...rest] = unexpected as [string, ...string[]];
    const more = rest.length > 0 ? ` (and ${rest.length} more: ${list(rest)})` : '';
    const hint = family.checkpoint.unexpectedHint(config, first);
    throw fail(first, `unexpected tensor "${first}"${more}: not a parameter of ${family.name} with ${sizes}.${hint}`);
  }
  // A tied head that is not optional (NeoX with tie_word_embeddings true) may be stored only once: it is copied.
  const copyHead = !head.optional && !found.has(head.name) && isObject(raw) && raw.tie_word_embeddings === true;
  const missing = shapes.map(([name]) => name).filter((name) => !found.has(name) && !(copyHead && name === head.name));
  if (missing.length > 0) {
    const [first, ...rest] = missing as [string, ...string[]];
    const more = rest.length > 0 ? ` (${missing.length} of ${shapes.length} expected tensors are missing, also ` +
      `${list(rest)})` : '';
    throw fileError(weightsFile, `tensor "${first}" is missing${more}. The weights do not match config.json ` +
      `(${sizes}); fix config.json or ${fix}`);
  }

  const checkShape = (stored: string, t: { shape: number[] }, shape: number[]): void => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      const needs = `config.json (${sizes}) needs [${shape.join(', ')}]`;
      throw fail(stored,
        `tensor "${stored}" has shape [${t.shape.join(', ')}] but ${needs}; fix config.json or ${fix}`);
    }
  };
  const canonicalOf = new Map([...found].map(([name, stored]) => [stored, name]));
  for (const [stored, t] of headers) {
    const name = canonicalOf.get(stored);
    if (name) checkShape(stored, t, expected.get(name)!);
    else if (stored === storedHead) checkShape(stored, t, [vocab, hidden]);
  }
  const read = readSafetensorsDir(root, { toFloat32: true });
  const converted = new Map<string, number>();
  const take = (stored: string): Float32Array => {
    const t = read.tensors.get(stored)!;
    const from = t.convertedFrom ?? t.dtype;
    if (from !== 'F32') converted.set(from, (converted.get(from) ?? 0) + 1);
    if (t.data instanceof Float32Array) return t.data;
    if (t.dtype !== 'F64') {
      const want = 'model weights must be floating point (F32, F16, BF16 or F64). Re-export the checkpoint with ' +
        'float weights';
      throw fail(stored, `tensor "${stored}" has dtype ${t.dtype}; ${want}`);
    }
    // Drop the F64 source once converted, so a big F64 checkpoint does not end with both precisions resident.
    read.tensors.delete(stored);
    return Float32Array.from(t.data as Float64Array);
  };
  const params = new Map<string, Float32Array>();
  for (const [name] of shapes) {
    params.set(name, copyHead && name === head.name ? params.get(embedding)! : take(found.get(name)!));
  }
  if (copyHead) notes.push(`${head.name} is tied to ${embedding} (tie_word_embeddings: true)`);

  let lmHead: Float32Array | null = null;
  const tie = (tied: boolean) => Object.assign(config, { tie_word_embeddings: tied });
  if (storedHead) {
    const data = take(storedHead);
    if (sameValues(data, params.get(embedding)!)) {
      notes.push(`${head.name} is stored but equals ${embedding}: treated as tied`);
      tie(true);
    } else {
      lmHead = data;
      // Also in params, where paramShapes of an untied config lists it, so the model and the methods use it.
      params.set(head.name, data);
      notes.push((config as Gpt2Config).tie_word_embeddings
        ? `${head.name} differs from ${embedding} although config.json says tie_word_embeddings: true; it is used as ` +
          `an untied head (transformers would ignore it)`
        : `${head.name} is an untied output head`);
      tie(false);
    }
  } else if (head.optional && (config as Gpt2Config).tie_word_embeddings === false) {
    const fix = 'add the head to the weights or set tie_word_embeddings to true';
    throw fileError(weightsFile, `tensor "${head.name}" is missing but config.json says tie_word_embeddings: false; ` +
      `${fix}`);
  }
  for (const [dtype, n] of converted) notes.push(`${n} tensor(s) stored as ${dtype} were converted to F32`);

  warnNonFinite(weightsFile, params);
  const rawConfig = raw as Record<string, unknown>;
  return { dir: root, modelType: family.modelType, config, rawConfig, params, lmHead, manifest, notes };
}

export interface SaveOptions {
  /** An untied output head [vocab_size, n_embd]: stored as lm_head.weight, config gets tie_word_embeddings false. */
  lmHead?: Float32Array | null;
  /** More files of the folder (masks.safetensors, tokenizer files), committed with the rest. */
  extraFiles?: readonly FolderFile[];
  /** A folder whose tokenizer files are copied along (CARRIED_FILES). */
  copyFrom?: string;
}

export interface SavedCheckpoint {
  dir: string;
  /** `sha256:<hex>` of model.safetensors, also recorded in tinymem.json as contentHashes["model.safetensors"]. */
  weightsHash: string;
  weightsBytes: number;
}

/**
 * Writes a model folder in its family's Hugging Face layout (F32 weights) as one atomic commit (folderCommit.ts):
 * config.json, model.safetensors, the carried tokenizer files, the extra files and tinymem.json (with every file's
 * content hash) appear together, replacing a previous folder as a whole, or not at all. A crash never leaves a
 * truncated file or a mix of two saves.
 */
export function saveModel(
  dir: string,
  model: { config: ModelConfig; rawConfig?: Record<string, unknown> },
  params: Map<string, Float32Array>,
  manifest?: Record<string, unknown>,
  options: SaveOptions = {},
): SavedCheckpoint {
  const target = resolve(dir);
  const weightsFile = join(target, WEIGHTS_FILE);
  const family = familyOf(model.config);
  // Example-tied dropout's evaluation scale, folded into the weights where plain GPT-2 can express it (blockScale.ts).
  const folded = family === gpt2 ? foldBlockScale(model.config as Gpt2Config, params, options.lmHead) : null;
  if (folded) {
    model = { ...model, config: folded.config };
    params = folded.params;
    options = { ...options, lmHead: folded.lmHead };
  }
  const { head } = family.checkpoint;
  const fail = (name: string, message: string) => fileError(weightsFile, `cannot save: parameter "${name}" ${message}`);
  // An optional head comes from options.lmHead or, for a model loaded untied, from params (paramShapes lists it then).
  const untied = (model.config as Gpt2Config).tie_word_embeddings === false;
  const storedHead = head.optional ? options.lmHead ?? (untied ? params.get(head.name) : undefined) : undefined;
  const config = head.optional ? { ...model.config, tie_word_embeddings: !storedHead } : model.config;
  const json = family.configJson(config, model.rawConfig ?? {}, `${join(target, CONFIG_FILE)} (not written)`);
  const configJson = family === gpt2 ? scaledConfigJson(json as Record<string, unknown>) : json;
  const tensors = new Map<string, TensorInput>();
  const shapes = family.paramShapes(config);
  for (const [name, shape] of shapes) {
    const data = name === head.name && storedHead ? storedHead : params.get(name);
    if (!data) throw fail(name, `is missing from the params map (expected shape [${shape.join(', ')}])`);
    if (!(data instanceof Float32Array)) throw fail(name, 'must be a Float32Array');
    if (data.length !== elementCount(shape)) {
      const needs = `shape [${shape.join(', ')}] for this config needs ${elementCount(shape)}`;
      throw fail(name, `has ${data.length} values but ${needs}; the params do not match the config`);
    }
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  for (const name of params.keys()) {
    if (tensors.has(name)) continue;
    if (name === head.name) {
      const fix = 'set tie_word_embeddings: false or pass it as options.lmHead';
      throw fileError(weightsFile, `cannot save: params has "${name}" but the config says the head is tied; ${fix}`);
    }
    throw fail(name, `is not part of a ${family.name} model with ${family.sizeFields(model.config)}; remove it or ` +
      `fix the config`);
  }
  if (manifest !== undefined && !isObject(manifest)) {
    throw fileError(join(target, MANIFEST_FILE), 'cannot save: the manifest must be a JSON object');
  }

  // Read before the commit, so that saving over the source folder itself keeps them.
  const carried: FolderFile[] = [];
  for (const f of options.copyFrom ? CARRIED_FILES : []) {
    const file = join(options.copyFrom!, f);
    if (existsSync(file)) carried.push({ name: f, chunks: [readFileSync(file)] });
  }
  // A TinyMem checkpoint gets the tokenizer of its data unless it carries one (a source saved before tokenizer files
  // were written has none).
  const kind = manifestTokenizerKind(manifest);
  const given = [...carried, ...(options.extraFiles ?? [])];
  if (kind && !given.some((f) => f.name === TOKENIZER_FILE)) {
    const ctx = family.dims(config).context;
    carried.push(...tokenizerFiles(kind, ctx).filter((f) => !given.some((g) => g.name === f.name)));
  }
  const text = (x: unknown) => [Buffer.from(`${JSON.stringify(x, null, 2)}\n`, 'utf8')];
  const records = commitFolder(target, [
    // {"format": "pt"} is required by transformers' safetensors loader.
    { name: WEIGHTS_FILE, chunks: safetensorsChunks(tensors, { format: 'pt' }, weightsFile) },
    { name: CONFIG_FILE, chunks: text(configJson) },
    ...carried,
    ...(options.extraFiles ?? []),
  ], manifest);
  const w = records.get(WEIGHTS_FILE)!;
  return { dir: target, weightsHash: w.hash, weightsBytes: w.bytes };
}

/** A GPT-2 checkpoint save (saveModel with a TinyMem config). */
export const saveCheckpoint = (
  dir: string, config: Gpt2Config & Partial<Gpt2CheckpointConfig>, params: Map<string, Float32Array>,
  manifest?: Record<string, unknown>, options?: SaveOptions,
): SavedCheckpoint => saveModel(dir, { config }, params, manifest, options);
