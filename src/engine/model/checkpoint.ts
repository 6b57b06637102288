// A GPT-2 checkpoint is a Hugging Face folder that `transformers` loads unchanged:
//   config.json        GPT2Config fields (model_type "gpt2")
//   model.safetensors  Hugging Face tensor names, F32, Conv1D layout [in, out], lm_head tied to wte (not stored)
//                      (or model.safetensors.index.json + shards when reading exports of big models)
//   tinymem.json       optional run manifest: any JSON object; we add every file's content hash, size and mtime
// Names and shapes come from gpt2ParamShapes (model/gpt2.ts), the single source of truth.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readTextLimited } from '../io/readLimited';
import { UserError } from '../../shared/userError';
import { type Activation, type Gpt2Config, gpt2ParamShapes } from './gpt2';
import { type FolderFile, checkManifestVersion, commitFolder, missingFolderHint, verifyFolder } from './folderCommit';
import { warnNonFinite } from './loadWarnings';
import {
  SAFETENSORS_FILE, type Tensor, type TensorHeader, type TensorInput, contentHash, elementCount, readSafetensorsDir, readSafetensorsDirHeaders, safetensorsChunks,
} from './safetensors';
import { assertModelFits, assertWeightsFit } from './sizeCheck';

export { gpt2ParamShapes };
export { contentHash };

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = SAFETENSORS_FILE;
export const MANIFEST_FILE = 'tinymem.json';
const LM_HEAD = 'lm_head.weight';

/** config.json as written: the model's fields plus the GPT2Config fields transformers reads. */
export interface Gpt2CheckpointConfig extends Gpt2Config {
  model_type: 'gpt2';
  architectures: string[];
  bos_token_id: number | null;
  eos_token_id: number | null;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  tie_word_embeddings: boolean;
  use_cache: boolean;
}

export interface LoadedCheckpoint {
  dir: string;
  config: Gpt2CheckpointConfig;
  /** Every gpt2ParamShapes tensor, F32, under its "transformer.…" name, in gpt2ParamShapes order (with lm_head.weight when untied). */
  params: Map<string, Float32Array>;
  /** An untied output head [vocab_size, n_embd]; null when lm_head is tied to wte (absent or equal to it). */
  lmHead: Float32Array | null;
  /** tinymem.json, or null when the folder has none (e.g. a checkpoint from the Hugging Face Hub). */
  manifest: Record<string, unknown> | null;
  /** What loading adapted: dtype conversions, missing "transformer." prefixes, ignored buffers, the head. */
  notes: string[];
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    /** The file (or folder) the problem is in. */
    readonly file: string,
    message: string,
    /** The tensor or config field the problem is about, when there is one. */
    readonly tensor?: string,
  ) {
    super(`${file}: ${message}`);
  }
}

const ACTIVATIONS: readonly Activation[] = ['relu', 'gelu_new', 'gelu'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A full config from the model's fields; the rest get TinyMem's values (no dropout, tied head, no KV cache).
 * Validated, so a config that saveCheckpoint would refuse fails here already.
 */
export function makeCheckpointConfig(c: Gpt2Config & Partial<Gpt2CheckpointConfig>, label = 'config'): Gpt2CheckpointConfig {
  return validateConfig({
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], bos_token_id: null, eos_token_id: null,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, tie_word_embeddings: true, use_cache: false, ...c,
  }, label);
}

/**
 * Checks a parsed config.json. Missing optional fields get transformers' GPT2Config defaults, so configs from the
 * Hub load; the size fields (vocab_size, n_positions or n_ctx, n_embd, n_layer, n_head) are required.
 */
export function validateConfig(raw: unknown, file: string): Gpt2CheckpointConfig {
  const fail = (field: string, what: string) => new CheckpointError(file, `"${field}" ${what}`, field);
  if (!isObject(raw)) throw new CheckpointError(file, `must be a JSON object of GPT2Config fields, got ${Array.isArray(raw) ? 'an array' : typeof raw}; re-save the checkpoint or fix config.json`);
  if (raw.model_type !== 'gpt2') {
    throw fail('model_type', raw.model_type === undefined
      ? 'is missing; add "model_type": "gpt2" if this is a GPT-2 checkpoint (tinymem reads GPT-2 checkpoints only)'
      : `is ${JSON.stringify(raw.model_type)} but tinymem reads GPT-2 checkpoints only ("model_type": "gpt2"); pick a GPT-2 model`);
  }
  const int = (field: string, min: number, fallback?: number): number => {
    const v = raw[field] ?? fallback;
    if (v === undefined) throw fail(field, `is missing; add it (an integer ≥ ${min}) to config.json`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw fail(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}; fix config.json`);
    return v;
  };
  const num = (field: string, fallback: number, ok: (x: number) => boolean, range: string): number => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw fail(field, `must be a number ${range}, got ${JSON.stringify(v)}; fix config.json`);
    return v;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'boolean') throw fail(field, `must be true or false, got ${JSON.stringify(v)}; fix config.json`);
    return v;
  };
  const tokenId = (field: string): number | null => {
    const v = raw[field] === undefined ? 50256 : raw[field];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fail(field, `must be a token id (integer ≥ 0) or null, got ${JSON.stringify(v)}; fix config.json`);
    return v;
  };

  const n_positions = raw.n_positions === undefined && raw.n_ctx !== undefined ? int('n_ctx', 1) : int('n_positions', 1);
  const n_embd = int('n_embd', 1);
  const n_head = int('n_head', 1);
  if (n_embd % n_head !== 0) throw fail('n_head', `(${n_head}) must divide n_embd (${n_embd}); fix config.json`);
  const n_inner = raw.n_inner === undefined || raw.n_inner === null ? null : int('n_inner', 1);
  const activation = raw.activation_function ?? 'gelu_new';
  if (!ACTIVATIONS.includes(activation as Activation)) {
    throw fail('activation_function', `is ${JSON.stringify(activation)}; tinymem supports ${ACTIVATIONS.map((a) => `"${a}"`).join(', ')}`);
  }
  // Attention variants this engine does not implement would silently change the model: refuse them.
  if (raw.scale_attn_weights === false) throw fail('scale_attn_weights', 'is false; tinymem always scales attention by 1/√head_dim, so it cannot run this model');
  if (raw.scale_attn_by_inverse_layer_idx === true) throw fail('scale_attn_by_inverse_layer_idx', 'is true; tinymem does not implement it, so it cannot run this model');
  if (raw.add_cross_attention === true) throw fail('add_cross_attention', 'is true; tinymem runs decoder-only GPT-2 without cross-attention');
  const architectures = raw.architectures ?? ['GPT2LMHeadModel'];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string')) throw fail('architectures', `must be a list of strings, got ${JSON.stringify(architectures)}; fix config.json`);

  const dropout = (field: string) => num(field, 0.1, (x) => x >= 0 && x < 1, 'in [0, 1)');
  const scale = raw.tinymem_block_input_scale;
  if (scale !== undefined && (!Array.isArray(scale) || scale.length !== n_embd || !scale.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw fail('tinymem_block_input_scale', `must be a list of ${n_embd} finite numbers (one per channel), got ${Array.isArray(scale) ? `${scale.length} entries` : JSON.stringify(scale)}; remove it or re-save the checkpoint`);
  }
  return {
    model_type: 'gpt2',
    architectures: architectures as string[],
    vocab_size: int('vocab_size', 1),
    n_positions,
    n_embd,
    n_layer: int('n_layer', 1),
    n_head,
    n_inner,
    activation_function: activation as Activation,
    layer_norm_epsilon: num('layer_norm_epsilon', 1e-5, (x) => x > 0, '> 0'),
    initializer_range: num('initializer_range', 0.02, (x) => x >= 0, '≥ 0'),
    bos_token_id: tokenId('bos_token_id'),
    eos_token_id: tokenId('eos_token_id'),
    resid_pdrop: dropout('resid_pdrop'),
    embd_pdrop: dropout('embd_pdrop'),
    attn_pdrop: dropout('attn_pdrop'),
    tie_word_embeddings: bool('tie_word_embeddings', true),
    use_cache: bool('use_cache', true),
    ...(scale !== undefined ? { tinymem_block_input_scale: scale as number[] } : {}),
  };
}

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
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError(file, `not found; ${what}`);
    throw new CheckpointError(file, `cannot be read (${(e as Error).message}); check its permissions`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `is not valid JSON (${(e as Error).message}); ${fix}`);
  }
}

export interface SaveOptions {
  /** An untied output head [vocab_size, n_embd]: stored as lm_head.weight, config gets tie_word_embeddings false. */
  lmHead?: Float32Array | null;
  /** More files of the folder (masks.safetensors, tokenizer files), committed with the rest. */
  extraFiles?: FolderFile[];
}

export interface SavedCheckpoint {
  dir: string;
  /** `sha256:<hex>` of model.safetensors, also recorded in tinymem.json as contentHashes["model.safetensors"]. */
  weightsHash: string;
  weightsBytes: number;
}

/**
 * Writes a checkpoint folder as one atomic commit (folderCommit.ts): config.json, model.safetensors, the extra files
 * and tinymem.json (with every file's content hash) appear together, replacing a previous folder as a whole, or not
 * at all. A crash never leaves a truncated file or a mix of two saves.
 */
export function saveCheckpoint(
  dir: string,
  config: Gpt2Config & Partial<Gpt2CheckpointConfig>,
  params: Map<string, Float32Array>,
  manifest?: Record<string, unknown>,
  options: SaveOptions = {},
): SavedCheckpoint {
  const target = resolve(dir);
  const weightsFile = join(target, WEIGHTS_FILE);

  const tensors = new Map<string, TensorInput>();
  // The head comes from options.lmHead or, for a model loaded untied, from params (gpt2ParamShapes lists it then).
  const head = options.lmHead ?? (config.tie_word_embeddings === false ? params.get(LM_HEAD) : undefined);
  const cfg = makeCheckpointConfig({ ...config, tie_word_embeddings: !head }, `${join(target, CONFIG_FILE)} (not written)`);
  const expected = gpt2ParamShapes({ ...cfg, tie_word_embeddings: true });
  if (head) expected.push([LM_HEAD, [cfg.vocab_size, cfg.n_embd]]);
  for (const [name, shape] of expected) {
    const data = name === LM_HEAD ? head : params.get(name);
    if (data === undefined || data === null) throw new CheckpointError(weightsFile, `cannot save: parameter "${name}" is missing from the params map (expected shape [${shape.join(', ')}])`, name);
    if (!(data instanceof Float32Array)) throw new CheckpointError(weightsFile, `cannot save: parameter "${name}" must be a Float32Array`, name);
    if (data.length !== elementCount(shape)) {
      throw new CheckpointError(weightsFile, `cannot save: parameter "${name}" has ${data.length} values but shape [${shape.join(', ')}] for this config needs ${elementCount(shape)}; the params do not match the config`, name);
    }
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  for (const name of params.keys()) {
    if (name === LM_HEAD && !tensors.has(LM_HEAD)) throw new CheckpointError(weightsFile, `cannot save: params has "${LM_HEAD}" but the config says the head is tied; set tie_word_embeddings: false or pass it as options.lmHead`, name);
    if (!tensors.has(name)) throw new CheckpointError(weightsFile, `cannot save: parameter "${name}" is not part of a GPT-2 model with n_layer=${cfg.n_layer}; remove it or fix the config`, name);
  }
  if (manifest !== undefined && !isObject(manifest)) throw new CheckpointError(join(target, MANIFEST_FILE), 'cannot save: the manifest must be a JSON object');

  // {"format": "pt"} is required by transformers' safetensors loader.
  const weights = safetensorsChunks(tensors, { format: 'pt' }, weightsFile);
  const text = (v: unknown) => [Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8')];
  const files = [{ name: WEIGHTS_FILE, chunks: weights }, { name: CONFIG_FILE, chunks: text(cfg) }, ...(options.extraFiles ?? [])];
  const records = commitFolder(target, files, manifest);
  const w = records.get(WEIGHTS_FILE)!;
  return { dir: target, weightsHash: w.hash, weightsBytes: w.bytes };
}

/** Buffers from old GPT-2 exports (the causal mask), which transformers also ignores: not parameters. */
const IGNORED_BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

function toFloat32(t: Tensor, name: string, file: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'F64') return Float32Array.from(t.data as Float64Array);
  throw new CheckpointError(file, `tensor "${name}" has dtype ${t.dtype}; model weights must be floating point (F32, F16, BF16 or F64). Re-export the checkpoint with float weights`, name);
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/**
 * Loads and validates a checkpoint folder: config.json, the weights (model.safetensors or a sharded index), and
 * tinymem.json if present. F16/BF16/F64 weights become F32; names without the "transformer." prefix are accepted.
 * The files tinymem.json records are checked first (readManifest); `verifyHash` re-hashes every one of them, even
 * large weights whose size and mtime match the record, and requires a recorded hash of model.safetensors.
 */
export function loadCheckpoint(dir: string, options: { verifyHash?: boolean } = {}): LoadedCheckpoint {
  const root = resolve(dir);
  if (!existsSync(root)) throw new CheckpointError(root, `checkpoint folder not found${missingFolderHint(root) || '; check the path'}`);
  if (!statSync(root).isDirectory()) throw new CheckpointError(root, 'is a file; a checkpoint is a folder holding config.json and model.safetensors, pick that folder');
  // The manifest first: a newer version, a missing or changed file is refused before the weights are read.
  const manifestFile = join(root, MANIFEST_FILE);
  const manifest = readManifest(root, options.verifyHash);
  if (options.verifyHash && !(isObject(manifest?.contentHashes) && typeof manifest.contentHashes[WEIGHTS_FILE] === 'string')) {
    throw new CheckpointError(manifestFile, `has no contentHashes["${WEIGHTS_FILE}"] to verify the weights against; load without verifyHash or re-save the checkpoint`);
  }
  const configFile = join(root, CONFIG_FILE);
  const config = validateConfig(readJson(configFile, 'a checkpoint folder needs config.json (GPT2Config) next to model.safetensors; pick the folder that has it or re-save the checkpoint'), configFile);

  const notes: string[] = [];
  // Sizes before data: config.json against the machine's memory, then the weights' headers (names, shapes) against
  // config.json; tensor data is read only once both hold.
  assertModelFits(configFile, config);
  const headers = readSafetensorsDirHeaders(root);
  assertWeightsFit(headers, join(root, WEIGHTS_FILE));
  const fileOf = (name: string) => headers.get(name)?.file ?? join(root, WEIGHTS_FILE);
  // The head is handled on its own below (tied or not), so the expected list is the tied model's.
  const shapes = gpt2ParamShapes({ ...config, tie_word_embeddings: true });
  const expected = new Map(shapes);
  const sizes = `n_layer=${config.n_layer}, n_embd=${config.n_embd}, vocab_size=${config.vocab_size}, n_positions=${config.n_positions}, n_inner=${config.n_inner ?? 'null'}`;

  // Canonical name → (stored name, tensor)
  const found = new Map<string, [string, TensorHeader]>();
  const unexpected: string[] = [];
  let headTensor: [string, TensorHeader] | undefined;
  let prefixless = 0;
  for (const [stored, t] of headers) {
    if (stored === LM_HEAD) {
      headTensor = [stored, t];
      continue;
    }
    if (IGNORED_BUFFER.test(stored)) {
      notes.push(`ignored the attention-mask buffer "${stored}" (not a parameter)`);
      continue;
    }
    const canonical = stored.startsWith('transformer.') || !expected.has(`transformer.${stored}`) ? stored : `transformer.${stored}`;
    if (!expected.has(canonical)) {
      unexpected.push(stored);
      continue;
    }
    const prev = found.get(canonical);
    if (prev) throw new CheckpointError(fileOf(stored), `tensors "${prev[0]}" and "${stored}" are the same parameter (with and without the "transformer." prefix); keep one and re-export`, stored);
    if (canonical !== stored) prefixless++;
    found.set(canonical, [stored, t]);
  }
  if (prefixless > 0) notes.push(`${prefixless} tensor names had no "transformer." prefix; they were mapped to Hugging Face's GPT2LMHeadModel names`);
  if (unexpected.length > 0) {
    const first = unexpected[0]!;
    const layer = /(?:^|\.)h\.(\d+)\./.exec(first);
    const hint = layer && Number(layer[1]) >= config.n_layer ? ` config.json says n_layer=${config.n_layer}: the weights have more layers, fix n_layer.` : ' tinymem reads GPT2LMHeadModel checkpoints only; remove the extra tensors or use the matching config.json.';
    throw new CheckpointError(fileOf(first), `unexpected tensor "${first}"${unexpected.length > 1 ? ` (and ${unexpected.length - 1} more: ${unexpected.slice(1, 4).join(', ')}${unexpected.length > 4 ? ', …' : ''})` : ''}: not a parameter of GPT-2 with ${sizes}.${hint}`, first);
  }

  const missing = shapes.filter(([name]) => !found.has(name)).map(([name]) => name);
  if (missing.length > 0) {
    const first = missing[0]!;
    throw new CheckpointError(join(root, WEIGHTS_FILE), `tensor "${first}" is missing${missing.length > 1 ? ` (${missing.length} of ${shapes.length} expected tensors are missing, also ${missing.slice(1, 4).join(', ')}${missing.length > 4 ? ', …' : ''})` : ''}. The weights do not match config.json (${sizes}); fix config.json or re-export the checkpoint`, first);
  }

  const converted = new Map<string, number>();
  const params = new Map<string, Float32Array>();
  const checkShape = (stored: string, t: { shape: number[] }, shape: number[]): void => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(fileOf(stored), `tensor "${stored}" has shape [${t.shape.join(', ')}] but config.json (${sizes}) needs [${shape.join(', ')}]; fix config.json or re-export the checkpoint`, stored);
    }
  };
  for (const [name, shape] of shapes) checkShape(...found.get(name)!, shape);
  if (headTensor) checkShape(...headTensor, [config.vocab_size, config.n_embd]);
  const read = readSafetensorsDir(root, { toFloat32: true });
  const checked = (stored: string, shape: number[]): Float32Array => {
    const t = read.tensors.get(stored)!;
    checkShape(stored, t, shape);
    const from = t.convertedFrom ?? t.dtype;
    if (from !== 'F32') converted.set(from, (converted.get(from) ?? 0) + 1);
    return toFloat32(t, stored, fileOf(stored));
  };
  for (const [name, shape] of shapes) {
    params.set(name, checked(found.get(name)![0], shape));
  }

  let lmHead: Float32Array | null = null;
  if (headTensor) {
    const head = checked(headTensor[0], [config.vocab_size, config.n_embd]);
    if (sameValues(head, params.get('transformer.wte.weight')!)) {
      notes.push(`${LM_HEAD} is stored but equals transformer.wte.weight: treated as tied`);
      config.tie_word_embeddings = true;
    } else {
      lmHead = head;
      // Also in params, where gpt2ParamShapes of an untied config lists it, so the model and the methods use it.
      params.set(LM_HEAD, head);
      if (config.tie_word_embeddings) notes.push(`${LM_HEAD} differs from transformer.wte.weight although config.json says tie_word_embeddings: true; it is used as an untied head (transformers would ignore it)`);
      else notes.push(`${LM_HEAD} is an untied output head`);
      config.tie_word_embeddings = false;
    }
  } else if (!config.tie_word_embeddings) {
    throw new CheckpointError(join(root, WEIGHTS_FILE), `tensor "${LM_HEAD}" is missing but config.json says tie_word_embeddings: false; add the head to the weights or set tie_word_embeddings to true`, LM_HEAD);
  }
  for (const [dtype, n] of converted) notes.push(`${n} tensor(s) stored as ${dtype} were converted to F32`);

  warnNonFinite(join(root, WEIGHTS_FILE), params);
  return { dir: root, config, params, lmHead, manifest, notes };
}

/**
 * A folder's tinymem.json (null when there is none), checked: a JSON object, a manifest version this tinymem reads,
 * and every file it records present and unchanged (verifyFolder; `full` re-hashes large files too).
 */
export function readManifest(dir: string, full = false): Record<string, unknown> | null {
  const root = resolve(dir);
  const file = join(root, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  const m = readJson(file, '');
  if (!isObject(m)) throw new CheckpointError(file, `must be a JSON object (the run manifest), got ${Array.isArray(m) ? 'an array' : JSON.stringify(m)}; fix it, or delete it to use the folder as a plain Hugging Face model`);
  checkManifestVersion(m, file, (message) => new CheckpointError(file, message));
  verifyFolder(root, m, (f, message) => new CheckpointError(f, message), full);
  return m;
}
