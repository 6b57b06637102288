// Hugging Face model folders, read and written without network: config.json, model.safetensors (or a sharded
// model.safetensors.index.json), tokenizer.json. Two families: GPT-2 (model_type "gpt2", tied or separate lm_head;
// read by checkpoint.ts, which TinyMem's own checkpoints also use) and GPT-NeoX (model_type "gpt_neox", Pythia).
// F16/BF16/F64 weights become F32 on load. Edited models are written back in the same layout (F32) with the
// tokenizer files copied along, so `transformers` loads them unchanged.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ModelConfig, type ModelType, SUPPORTED_MODEL_TYPES, isNeox, paramShapes } from './architecture';
import { CONFIG_FILE, CheckpointError, loadCheckpoint, readJson, readManifest, saveCheckpoint } from './checkpoint';
import { type FolderFile, commitFolder, missingFolderHint } from './folderCommit';
import { warnNonFinite } from './loadWarnings';
import { type NeoxActivation, type NeoxConfig, rotaryDims } from './gptNeox';
import { SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, type TensorInput, elementCount, readSafetensorsDir, readSafetensorsDirHeaders, safetensorsChunks } from './safetensors';
import { assertModelFits, assertWeightsFit } from './sizeCheck';
import { showValue } from '../../shared/showValue';

export const TOKENIZER_FILE = 'tokenizer.json';
/** Files copied unchanged from the source folder when an edited model is saved. */
const CARRIED_FILES = [TOKENIZER_FILE, 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'generation_config.json'];

export interface HfModel {
  dir: string;
  modelType: ModelType;
  config: ModelConfig;
  /** config.json as stored, so a save keeps the fields this engine does not use. */
  rawConfig: Record<string, unknown>;
  /** Every paramShapes(config) tensor, F32. */
  params: Map<string, Float32Array>;
  /** tinymem.json, or null (e.g. a folder from the Hub). */
  manifest: Record<string, unknown> | null;
  /** What loading adapted (dtype conversions, ignored buffers, defaults). */
  notes: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** How to repair a JSON file of a folder that came from elsewhere (the Hub, another tool). */
const DOWNLOADED = 'fix it or re-download it';

/** The model_type of a folder's config.json, checked against the supported families. */
export function folderModelType(dir: string): ModelType {
  const file = join(resolve(dir), CONFIG_FILE);
  const raw = readJson(file, 'a model folder needs config.json; pick the folder that holds config.json and model.safetensors', DOWNLOADED);
  if (!isObject(raw)) throw new CheckpointError(file, 'must be a JSON object; fix config.json');
  const t = raw.model_type;
  if (SUPPORTED_MODEL_TYPES.includes(t as ModelType)) return t as ModelType;
  throw new CheckpointError(file, `"model_type" is ${t === undefined ? 'missing' : JSON.stringify(t)}; tinymem runs ${SUPPORTED_MODEL_TYPES.map((m) => `"${m}"`).join(' and ')} models (GPT2LMHeadModel, GPTNeoXForCausalLM e.g. Pythia)${t === undefined ? '; add the model_type field' : '; pick a model of a supported architecture'}`, 'model_type');
}

/** Validates a GPTNeoXConfig; missing optional fields get transformers' defaults (Pythia's values). */
export function validateNeoxConfig(raw: Record<string, unknown>, file: string): { config: NeoxConfig; notes: string[] } {
  const notes: string[] = [];
  const fail = (field: string, what: string) => new CheckpointError(file, `"${field}" ${what}`, field);
  const int = (field: string, fallback?: number): number => {
    const v = raw[field] ?? fallback;
    if (v === undefined) throw fail(field, 'is missing; add it (a positive integer) to config.json');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw fail(field, `must be a positive integer, got ${showValue(v)}; fix config.json`);
    return v;
  };
  const num = (field: string, fallback: number, ok: (x: number) => boolean, range: string): number => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw fail(field, `must be a number ${range}, got ${showValue(v)}; fix config.json`);
    return v;
  };
  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  if (hidden % heads !== 0) throw fail('num_attention_heads', `(${heads}) must divide hidden_size (${hidden}); fix config.json`);
  if (raw.intermediate_size === undefined) notes.push('config.json has no intermediate_size: 4·hidden_size assumed');
  const act = raw.hidden_act ?? 'gelu';
  if (!['gelu', 'gelu_new', 'relu'].includes(act as string)) throw fail('hidden_act', `is ${JSON.stringify(act)}; tinymem supports "gelu" (exact), "gelu_new" and "relu"`);
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) throw fail('rope_scaling', 'is set; tinymem implements plain rotary embeddings only, so it cannot run this model');
  if (raw.attention_bias === false) throw fail('attention_bias', 'is false; tinymem expects attention biases (as Pythia has)');
  const pct = num('rotary_pct', typeof raw.partial_rotary_factor === 'number' ? raw.partial_rotary_factor : 0.25, (x) => x >= 0 && x <= 1, 'in [0, 1]');
  const base = num('rotary_emb_base', typeof raw.rope_theta === 'number' ? raw.rope_theta : 10000, (x) => x > 0, '> 0');
  const parallel = raw.use_parallel_residual ?? true;
  if (typeof parallel !== 'boolean') throw fail('use_parallel_residual', `must be true or false, got ${showValue(parallel)}`);
  const config: NeoxConfig = {
    model_type: 'gpt_neox',
    vocab_size: int('vocab_size'),
    hidden_size: hidden,
    num_hidden_layers: int('num_hidden_layers'),
    num_attention_heads: heads,
    intermediate_size: int('intermediate_size', 4 * hidden),
    max_position_embeddings: int('max_position_embeddings', 2048),
    rotary_pct: pct,
    rotary_emb_base: base,
    layer_norm_eps: num('layer_norm_eps', 1e-5, (x) => x > 0, '> 0'),
    use_parallel_residual: parallel,
    hidden_act: act as NeoxActivation,
    initializer_range: num('initializer_range', 0.02, (x) => x >= 0, '≥ 0'),
  };
  if (rotaryDims(config) % 2 !== 0) throw fail('rotary_pct', `gives ${rotaryDims(config)} rotary channels per head; that must be even`);
  return { config, notes };
}

/** Buffers of older GPT-NeoX exports (causal mask, rotary frequencies): not parameters, as transformers ignores them. */
const NEOX_BUFFER = /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/;

function loadNeox(root: string, raw: Record<string, unknown>): HfModel {
  const configFile = join(root, CONFIG_FILE);
  const { config, notes } = validateNeoxConfig(raw, configFile);
  const manifest = readManifest(root);
  // Sizes first: the config against the machine's memory, then the weights' headers against the config, all before
  // any tensor data is read.
  assertModelFits(configFile, config);
  const weightsFile = existsSync(join(root, SAFETENSORS_FILE)) ? join(root, SAFETENSORS_FILE) : join(root, SAFETENSORS_INDEX_FILE);
  const headers = readSafetensorsDirHeaders(root);
  assertWeightsFit(headers, weightsFile);
  const fileOf = (name: string) => headers.get(name)?.file ?? weightsFile;
  const shapes = paramShapes(config);
  const expected = new Map(shapes);
  const sizes = `num_hidden_layers=${config.num_hidden_layers}, hidden_size=${config.hidden_size}, intermediate_size=${config.intermediate_size}, vocab_size=${config.vocab_size}`;
  for (const [name, t] of headers) {
    if (NEOX_BUFFER.test(name)) continue;
    const shape = expected.get(name);
    if (!shape) {
      throw new CheckpointError(fileOf(name), `unexpected tensor "${name}": not a parameter of GPTNeoXForCausalLM with ${sizes}; check that config.json belongs to these weights`, name);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(fileOf(name), `tensor "${name}" has shape [${t.shape.join(', ')}] but config.json (${sizes}) needs [${shape.join(', ')}]; fix config.json or re-export the weights`, name);
    }
  }
  const read = readSafetensorsDir(root, { toFloat32: true });
  const params = new Map<string, Float32Array>();
  const converted = new Map<string, number>();
  let ignored = 0;
  for (const [name, t] of read.tensors) {
    if (NEOX_BUFFER.test(name)) {
      ignored++;
      continue;
    }
    const from = t.convertedFrom ?? t.dtype;
    if (from !== 'F32') converted.set(from, (converted.get(from) ?? 0) + 1);
    if (t.data instanceof Float32Array) params.set(name, t.data);
    else if (t.data instanceof Float64Array) {
      params.set(name, Float32Array.from(t.data));
      // Drop the F64 source as soon as it is converted, so a 1B F64 checkpoint does not end the load with both
      // precisions resident (deleting the current entry while iterating a Map is well defined).
      read.tensors.delete(name);
    }
    else throw new CheckpointError(fileOf(name), `tensor "${name}" has dtype ${t.dtype}; weights must be F32, F16, BF16 or F64`, name);
  }
  // A tied NeoX head (tie_word_embeddings true, not Pythia's case) may be stored only once.
  if (!params.has('embed_out.weight') && raw.tie_word_embeddings === true && params.has('gpt_neox.embed_in.weight')) {
    params.set('embed_out.weight', params.get('gpt_neox.embed_in.weight')!);
    notes.push('embed_out.weight is tied to gpt_neox.embed_in.weight (tie_word_embeddings: true)');
  }
  const missing = shapes.filter(([n]) => !params.has(n)).map(([n]) => n);
  if (missing.length > 0) {
    throw new CheckpointError(weightsFile, `tensor "${missing[0]}" is missing${missing.length > 1 ? ` (and ${missing.length - 1} more, e.g. ${missing.slice(1, 4).join(', ')})` : ''}; the weights do not match config.json (${sizes}), fix config.json or re-download the weights`, missing[0]);
  }
  if (ignored) notes.push(`ignored ${ignored} attention buffer(s) (masks, rotary frequencies): not parameters`);
  for (const [dtype, n] of converted) notes.push(`${n} tensor(s) stored as ${dtype} were converted to F32`);
  // Parameters in paramShapes order, so feeds and saves are deterministic.
  const ordered = new Map(shapes.map(([n]) => [n, params.get(n)!]));
  warnNonFinite(weightsFile, ordered);
  return { dir: root, modelType: 'gpt_neox', config, rawConfig: raw, params: ordered, manifest, notes };
}

/** Loads a GPT-2 or GPT-NeoX folder (TinyMem checkpoints included). */
export function loadModelFolder(dir: string): HfModel {
  const root = resolve(dir);
  if (!existsSync(root)) throw new CheckpointError(root, `model folder not found${missingFolderHint(root) || '; check the path'}`);
  if (!statSync(root).isDirectory()) throw new CheckpointError(root, 'is a file; a model is a folder holding config.json and model.safetensors, pick that folder');
  const type = folderModelType(root);
  const raw = readJson(join(root, CONFIG_FILE), '', DOWNLOADED) as Record<string, unknown>;
  if (type === 'gpt_neox') return loadNeox(root, raw);
  const ckpt = loadCheckpoint(root);
  return { dir: root, modelType: 'gpt2', config: ckpt.config, rawConfig: raw, params: ckpt.params, manifest: ckpt.manifest, notes: ckpt.notes };
}

/**
 * Writes a model folder in its family's Hugging Face layout (F32 weights) as one atomic commit (folderCommit.ts), with
 * `manifest` as tinymem.json (recording every file's hash), the tokenizer files of `copyFrom` and `extra` files
 * (masks.safetensors). Returns the folder and the weights' hash.
 */
export function saveModelFolder(
  dir: string,
  model: { config: ModelConfig; rawConfig?: Record<string, unknown> },
  params: Map<string, Float32Array>,
  manifest?: Record<string, unknown>,
  copyFrom?: string,
  extra: readonly FolderFile[] = [],
): { dir: string; weightsHash: string } {
  const target = resolve(dir);
  const carried: FolderFile[] = [];
  // Read before the commit, so that saving over the source folder itself keeps them.
  if (copyFrom) {
    for (const f of CARRIED_FILES) if (existsSync(join(copyFrom, f))) carried.push({ name: f, chunks: [readFileSync(join(copyFrom, f))] });
  }
  const extraFiles = [...carried, ...extra];
  const weightsHash = !isNeox(model.config)
    ? saveCheckpoint(target, model.config, params, manifest, { extraFiles }).weightsHash
    : saveNeox(target, model.config, model.rawConfig ?? {}, params, manifest, extraFiles);
  return { dir: target, weightsHash };
}

function saveNeox(target: string, c: NeoxConfig, raw: Record<string, unknown>, params: Map<string, Float32Array>, manifest: Record<string, unknown> | undefined, extra: readonly FolderFile[]): string {
  const weightsFile = join(target, SAFETENSORS_FILE);
  const tensors = new Map<string, TensorInput>();
  for (const [name, shape] of paramShapes(c)) {
    const data = params.get(name);
    if (!data) throw new CheckpointError(weightsFile, `cannot save: parameter "${name}" is missing from the params map`, name);
    if (data.length !== elementCount(shape)) throw new CheckpointError(weightsFile, `cannot save: parameter "${name}" has ${data.length} values but needs [${shape.join(', ')}]`, name);
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  // The stored config keeps every original field, with the values this engine ran and F32 weights.
  const { model_type: _t, ...fields } = c;
  const config = { ...raw, ...fields, model_type: 'gpt_neox', architectures: raw.architectures ?? ['GPTNeoXForCausalLM'], tie_word_embeddings: false, torch_dtype: 'float32' };
  const text = (v: unknown) => [Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8')];
  const records = commitFolder(target, [
    { name: SAFETENSORS_FILE, chunks: safetensorsChunks(tensors, { format: 'pt' }, weightsFile) },
    { name: CONFIG_FILE, chunks: text(config) },
    ...extra,
  ], manifest);
  return records.get(SAFETENSORS_FILE)!.hash;
}
