// A subject: a model folder plus the sets it is measured on. A TinyMem checkpoint brings its own data (rebuilt from
// its manifest's data spec); any other folder (a Hugging Face GPT-2 / GPT-NeoX folder, e.g. Pythia) is measured on a
// user's sets, spec §6: a memorized-sequence set (MemPi JSON/JSONL), text for perplexity and the retain set, prompt
// and continuation lengths. A folder edited on such sets records them in its tinymem.json to be measured on them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MEMPI_CONTINUATION_LENGTH, MEMPI_PROMPT_LENGTH, readSequenceFile, readTextOrTokens,
} from '../data/memorizedSequences';
import type { TokenMatrix } from '../data/tokenMatrix';
import { type EvaluateOptions, evaluate } from '../metrics/evaluate';
import type { SequenceSetData } from '../metrics/sequenceSetEval';
import { dims } from '../model/architecture';
import { type HfModel, MANIFEST_FILE, loadCheckpoint, loadModelFolder } from '../model/checkpoint';
import { type TextTokenizer, loadTokenizer } from '../model/hfTokenizer';
import { readTextLimited } from '../../shared/readLimited';
import type { Runtime } from '../runtime/session';
import { type TinyMemDataset, manifestDataset } from '../train/tinymemData';
import type { RunManifest, SequenceSetsSpec } from '../../shared/runManifest';
import { userError } from '../../shared/userError';
import { isObject } from '../../shared/schemaParts';

/** The paper's Pythia sets hold 1632 chunks each (spec §6); larger files are cut there by default. */
export const DEFAULT_CHUNK_LIMIT = 1632;

/** Sets a command or cell names (files as given; lengths default to MemPi's 32 + 40). */
export interface SequenceSetFiles {
  /** Memorized-sequence set (JSON or JSONL of token-id lists). */
  sequences?: string;
  /** Text (or a .json token file) for perplexity, in chunks as long as the sequences (80 by default). */
  text?: string;
  /** Text for the retain set; defaults to `text`. */
  retain?: string;
  promptLength?: number;
  continuationLength?: number;
}

export interface SequenceSets extends SequenceSetData {
  retain: TokenMatrix | null;
  /** The files, absolute. */
  files: SequenceSetsSpec;
}

export interface Subject {
  dir: string;
  model: HfModel;
  /** tinymem.json ({} without one). */
  manifest: Partial<RunManifest>;
  /** What it is measured on: its TinyMem data or the user's sets. */
  source: TinyMemDataset | SequenceSets;
}

export type SubjectSets = SequenceSetsSpec | 'tinymem' | null;

/**
 * Which sets measure `dir`, read without loading weights: 'tinymem' (a TinyMem checkpoint's own data, or a folder
 * whose tinymem.json the load will report on), the given sets, the sets its tinymem.json records (paths relative to
 * the folder), or null: a folder without TinyMem data, and no sets given or recorded.
 */
export function subjectSets(dir: string, given: SequenceSetFiles = {}): SubjectSets {
  if (given.sequences || given.text) {
    const { sequences = null, text = null, retain = null } = given;
    const promptLength = given.promptLength ?? MEMPI_PROMPT_LENGTH;
    const continuationLength = given.continuationLength ?? MEMPI_CONTINUATION_LENGTH;
    return { kind: 'sequences', sequences, text, retain, promptLength, continuationLength };
  }
  if (!fs.existsSync(path.join(dir, 'config.json'))) return 'tinymem';
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return null;
  let m: unknown;
  try {
    m = JSON.parse(readTextLimited(file, 'manifest'));
  } catch {
    return 'tinymem';
  }
  // Not an object: loading it as a TinyMem checkpoint reports what is wrong with tinymem.json.
  if (!isObject(m)) return 'tinymem';
  const d = isObject(m.data) ? m.data : {};
  if (d.kind === 'tinymem') return 'tinymem';
  // Folders edited before the kind was recorded hold the same fields without it.
  const named = typeof d.sequences === 'string' || typeof d.text === 'string';
  if (d.kind !== 'sequences' && !(d.kind === undefined && named)) return null;
  const file_ = (v: unknown) => (typeof v === 'string' ? path.resolve(dir, v) : null);
  const len = (v: unknown, given: number | undefined, dflt: number) =>
    given ?? (Number.isInteger(v) && (v as number) > 0 ? (v as number) : dflt);
  return {
    kind: 'sequences', sequences: file_(d.sequences), text: file_(d.text), retain: file_(d.retain),
    promptLength: len(d.promptLength, given.promptLength, MEMPI_PROMPT_LENGTH),
    continuationLength: len(d.continuationLength, given.continuationLength, MEMPI_CONTINUATION_LENGTH),
  };
}

/** The sets as an edited folder records them: paths relative to `dir` (absolute across drives). */
export function recordedSets(dir: string, s: SequenceSetsSpec): SequenceSetsSpec {
  const rel = (f: string | null) => (f === null ? null : path.relative(dir, f) || '.');
  return { ...s, sequences: rel(s.sequences), text: rel(s.text), retain: rel(s.retain ?? s.text) };
}

/** Every model load goes through here: a TinyMem checkpoint (its own messages) or any supported folder. */
export function loadModel(dir: string, checkpoint = false): HfModel {
  return checkpoint ? loadCheckpoint(dir) : loadModelFolder(dir);
}

/** Reads the sets, checked against the model (ids, lengths, context). */
function readSets(model: HfModel, files: SequenceSetsSpec): SequenceSets {
  const d = dims(model.config);
  const { promptLength, continuationLength } = files;
  const sequences = files.sequences
    ? readSequenceFile(files.sequences, { vocab: d.vocab, context: d.context, promptLength, continuationLength })
    : null;
  const length = sequences?.cols ?? Math.min(d.context, promptLength + continuationLength + 8);
  let tok: TextTokenizer | undefined;
  const chunks = (file: string) => {
    const t = /\.json$/i.test(file) ? undefined : (tok ??= loadTokenizer(model.dir));
    const maxRows = DEFAULT_CHUNK_LIMIT;
    return readTextOrTokens(file, { length, vocab: d.vocab, encode: t?.encode, tokenizerFile: t?.file, maxRows });
  };
  const text = files.text ? chunks(files.text) : null;
  const retainFile = files.retain ?? files.text;
  const retain = retainFile ? (retainFile === files.text ? text : chunks(retainFile)) : null;
  // EOS, which the paper's generate(min_length = max_length) never emits.
  const eos = typeof model.rawConfig.eos_token_id === 'number' ? model.rawConfig.eos_token_id : null;
  return { kind: 'sequences', sequences, text, retain, promptLength, continuationLength, eos, files };
}

/** Opens a model folder with the sets it is measured on (see subjectSets); `sets` names the user's sets. */
export function openSubject(dir: string, sets: SequenceSetFiles | SubjectSets = subjectSets(dir)): Subject {
  const spec = sets === null || sets === 'tinymem' || 'kind' in sets ? sets : subjectSets(dir, sets);
  if (spec === null) {
    throw userError(dir, 'is a Hugging Face model folder without TinyMem data: pass --sequences FILE ' +
      '(memorized-sequence set, JSON/JSONL) and/or --text FILE (text for perplexity)');
  }
  const model = loadModel(dir, spec === 'tinymem');
  const manifest = (model.manifest ?? {}) as Partial<RunManifest>;
  if (spec !== 'tinymem') return { dir, model, manifest, source: readSets(model, spec) };
  if (manifest.data?.kind !== 'tinymem') {
    throw userError(path.join(dir, MANIFEST_FILE), 'has no TinyMem data spec, so there is no data to measure it on; ' +
      'use a checkpoint written by `tinymem train` or a train step');
  }
  return { dir, model, manifest, source: manifestDataset(path.join(dir, MANIFEST_FILE), manifest.data) };
}

/** The one measurement of a subject: its own weights, or edited ones (`params`). */
export function evaluateSubject(rt: Runtime, s: Subject, params = s.model.params, o: EvaluateOptions = {}) {
  return evaluate(rt, s.model.config, params, s.source, o);
}
