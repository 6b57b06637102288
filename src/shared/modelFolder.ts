// What kind of model folder a path is, read from its small JSON files only (no weights): a TinyMem checkpoint
// (tinymem.json with its own data), a Hugging Face model folder the engine loads (config.json with a supported
// model_type and model.safetensors, or a shard index), or an edited one of either (tinymem.json records a
// mitigation). The palette's checkpoint picker and the Explorer menus use it; it never loads the engine.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes, readTextLimited } from './readLimited';
import { isObject } from './schemaParts';

/** config.json model_types the engine has a model family for (src/engine/model/family.ts; a test keeps them equal). */
export const HF_MODEL_TYPES = ['gpt2', 'gpt_neox'] as const;

export interface ModelFolder {
  dir: string;
  /** 'tinymem': measured on its own training data; 'hf': measured on a user's sequence and text files. */
  kind: 'tinymem' | 'hf';
  /** Written by a mitigate step or "Unlearn…" (masks and the edit's record): what "Inspect Pruned Weights" reads. */
  edited: boolean;
  /** An 'hf' folder whose tinymem.json records a memorized-sequence set (an edited one): nothing to ask for. */
  recordedSequences: boolean;
  /** One line for a QuickPick. */
  description: string;
}

const readJson = (file: string, kind: 'config' | 'manifest' | 'index'): Record<string, unknown> | null => {
  try {
    const v: unknown = JSON.parse(readTextLimited(file, kind));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
};

/** The weights' size on disk: model.safetensors, or the shards a model.safetensors.index.json names. */
export function weightsBytes(dir: string): number | null {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return fs.statSync(single).size;
  const index = readJson(path.join(dir, 'model.safetensors.index.json'), 'index');
  if (!index || !isObject(index.weight_map)) return null;
  let total = 0;
  for (const f of new Set(Object.values(index.weight_map))) {
    const file = path.join(dir, String(f));
    if (!fs.existsSync(file)) return null;
    total += fs.statSync(file).size;
  }
  return total;
}

/** "gpt_neox, 6 layers × 512, 160.0 MB". */
function hfSize(config: Record<string, unknown>, bytes: number): string {
  const n = (k: string[]) => k.map((x) => config[x]).find((x) => Number.isInteger(x)) as number | undefined;
  const layers = n(['n_layer', 'num_hidden_layers']);
  const width = n(['n_embd', 'hidden_size']);
  const shape = layers !== undefined && width !== undefined ? `, ${layers} layers × ${width}` : '';
  return `${String(config.model_type)}${shape}, ${formatBytes(bytes)}`;
}

function tinymemDescription(m: Record<string, unknown>): string {
  const mit = isObject(m.mitigation) ? m.mitigation : undefined;
  if (mit) return `edited by ${typeof mit.method === 'string' ? mit.method : 'a method'}`;
  const preset = isObject(m.preset) && typeof m.preset.name === 'string' ? ` ${m.preset.name}` : '';
  const p = isObject(m.progress) ? m.progress : {};
  const ep = typeof p.epochs === 'number' ? `, ${Number(p.epochs.toFixed(2))} epochs` : '';
  return `trained${preset}${ep}${p.complete === false ? ' (incomplete)' : ''}`;
}

/** The folder's kind and description; null when it is no model folder the engine loads. */
export function describeModelFolder(dir: string): ModelFolder | null {
  const manifestFile = path.join(dir, 'tinymem.json');
  const manifest = fs.existsSync(manifestFile) ? readJson(manifestFile, 'manifest') : null;
  if (fs.existsSync(manifestFile) && !manifest) return null;
  const config = readJson(path.join(dir, 'config.json'), 'config');
  const data = manifest && isObject(manifest.data) ? manifest.data : {};
  const edited = manifest !== null && isObject(manifest.mitigation);
  if (manifest && (data.kind === 'tinymem' || !config)) {
    return { dir, kind: 'tinymem', edited, recordedSequences: false, description: tinymemDescription(manifest) };
  }
  const type = config?.model_type;
  if (typeof type !== 'string' || !(HF_MODEL_TYPES as readonly string[]).includes(type)) return null;
  const bytes = weightsBytes(dir);
  if (bytes === null) return null;
  const recordedSequences = typeof data.sequences === 'string';
  const edit = manifest ? `${tinymemDescription(manifest)}, ` : '';
  return { dir, kind: 'hf', edited, recordedSequences,
    description: `Hugging Face ${edit}${hfSize(config!, bytes)}` };
}

/** Tokens in the first token-id list of a sequence file, read from its first 64 KB; undefined if none is there. */
export function firstSequenceLength(file: string): number | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const m = /\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]/.exec(buf.toString('utf8', 0, n));
    return m ? m[1]!.split(',').length : undefined;
  } finally {
    fs.closeSync(fd);
  }
}
