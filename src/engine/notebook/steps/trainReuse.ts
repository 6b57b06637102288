// A train cell whose `out` already holds a finished run with the same settings reuses it instead of training again:
// the same resolved preset (seed, data, model, training hyper-parameters) and regularizer, trained to the end (not
// stopped, not a periodic snapshot), with its files intact. Anything else (other settings, a stopped run, a folder
// that fails its integrity check) is not reused, and the train step then behaves as it always did: it refuses to
// overwrite the folder unless the cell says `force: true`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE, MANIFEST_FILE, makeCheckpointConfig, readJson, readManifest } from '../../model/checkpoint';
import { type ResolvedPreset, presetDataSpec, presetModelConfig } from '../../presets';
import { regularizerRecord, trainRecord } from '../../runs/trainRun';
import { canonicalJson } from '../../sweep/plan';
import { lockOutputFolder } from '../../io/outputLock';
import type { RunManifest } from '../../../shared/runManifest';

export interface ReuseRequest {
  preset: ResolvedPreset;
  out: string;
  regularizer?: { id: string; hyperParams?: Record<string, string | number | boolean> };
  onNote?(message: string): void;
}

/** What decides a run's weights, as comparable JSON. */
function settingsKey(m: { seed?: unknown; data?: unknown; train?: unknown; regularizer?: RunManifest['regularizer'] },
  model: unknown): string {
  const r = m.regularizer;
  return canonicalJson({ seed: m.seed, data: m.data, train: m.train, model,
    regularizer: r ? { id: r.id, hyperParams: r.hyperParams } : null });
}

/** The model config fields a preset sets, as a checkpoint's config.json stores them. */
function modelFields(p: ResolvedPreset, config: object): Record<string, unknown> {
  const have = new Map(Object.entries(config));
  return Object.fromEntries(Object.keys(presetModelConfig(p)).map((k) => [k, have.get(k) ?? null]));
}

/**
 * The manifest of the finished run in `out` when it was trained with the settings asked for now; null when there is
 * none to reuse. A live writer's lock on the folder is refused here as it would be by training (kind 'locked').
 */
export function reusableRun(r: ReuseRequest): RunManifest | null {
  const dir = path.resolve(r.out);
  if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) return null;
  // Read under the folder's lock, so a run finishing there right now is not half seen.
  const lock = lockOutputFolder(dir, { onNote: r.onNote, flag: '`out:`' });
  try {
    let m: Partial<RunManifest> | null;
    let config: unknown;
    try {
      // readManifest checks that the files it records are present and unchanged.
      m = readManifest(dir) as Partial<RunManifest> | null;
      config = readJson(path.join(dir, CONFIG_FILE), '');
    } catch {
      return null;
    }
    if (!m || m.format !== 'tinymem-run' || !m.progress?.complete || m.progress.stopped) return null;
    if (typeof config !== 'object' || config === null) return null;
    const want = settingsKey({ seed: r.preset.seed, data: presetDataSpec(r.preset), train: trainRecord(r.preset.train),
      regularizer: regularizerRecord(r.regularizer) },
    modelFields(r.preset, makeCheckpointConfig(presetModelConfig(r.preset))));
    return settingsKey(m, modelFields(r.preset, config)) === want ? m as RunManifest : null;
  } finally {
    lock.release();
  }
}
