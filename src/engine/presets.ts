// Named training configurations: the paper's (spec §2) and CPU-sized ones that run the same method and metrics in
// minutes on a laptop. One table; the CLI lists it (`tinymem presets`), the notebook and palette offer it, and
// `resolvePreset` applies `key=value` overrides such as `model.n_layer=2`, `data.numNoise=200`, `train.lr=0.003`.
import { UserError, under, userError } from '../shared/userError';
import { GPT2_VOCAB_SIZE } from './data/gpt2Tokenizer';
import { LANGUAGE_DEFAULTS, type LanguageDataOptions, type ResolvedLanguageOptions,
  resolveLanguageOptions } from './data/languageData';
import { MATH_DEFAULTS, type MathDataOptions, type ResolvedMathOptions, resolveMathOptions } from './data/mathData';
import { MATH_VOCAB_SIZE } from './data/mathTokenizer';
import { type Activation, type Gpt2Config, resolveGpt2Config } from './model/gpt2';
import { type TinyMemDataSpec, type TinyMemDataset, tinymemDataset } from './train/tinymemData';
import type { TrainJob } from '../shared/engineMessages';
import { hasNonFinite, showValue } from '../shared/showValue';

/** The GPT-2 fields a preset sets; `n_positions` and `vocab_size` follow the data (maxCtx, tokenizer). */
export interface ModelSettings {
  n_layer: number;
  n_embd: number;
  n_head: number;
  /** MLP width; null = 4·n_embd. */
  n_inner: number | null;
  activation_function: Activation;
  initializer_range: number;
  layer_norm_epsilon: number;
}

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  /** AdamW (torch semantics, no schedule, no clipping). */
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** Save a checkpoint every this many epochs (the paper's schedule; the caller runs the job in segments). */
  checkpointEvery: number;
}

export type DataSettings = { dataset: 'math'; options: MathDataOptions } | { dataset: 'language';
  options: LanguageDataOptions; };

export interface Preset {
  readonly name: string;
  /** One line for `tinymem presets`. */
  readonly description: string;
  /** The run seed: noise positions and values, duplication groups, trigger, initial weights, batch order. */
  readonly seed: number;
  readonly data: DataSettings;
  readonly model: ModelSettings;
  readonly train: TrainSettings;
}

/** A preset after overrides, with every data option filled in (what the run manifest records). */
export interface ResolvedPreset {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly data: { dataset: 'math'; options: ResolvedMathOptions } | { dataset: 'language';
    options: ResolvedLanguageOptions; };
  readonly model: ModelSettings;
  readonly train: TrainSettings;
  /** The overrides applied, as given. */
  readonly overrides: Readonly<Record<string, string>>;
}

// ---- the table ---------------------------------------------------------------------------------------------------

/** GPT-2 as in the paper (spec §2.1): d_model 128, 4 heads, MLP 512, ReLU, N(0, 0.8/√128) initialisation. */
const PAPER_MODEL: ModelSettings = {
  n_layer: 4,
  n_embd: 128,
  n_head: 4,
  n_inner: null,
  activation_function: 'relu',
  initializer_range: 0.8 / Math.sqrt(128),
  layer_norm_epsilon: 1e-5,
};

/** AdamW lr 1e-3, weight decay 0.1, betas (0.9, 0.98), batch 128 (spec §2.2). */
const PAPER_TRAIN: Omit<TrainSettings,
  'epochs' | 'checkpointEvery'> = { lr: 1e-3, weightDecay: 0.1, betas: [0.9, 0.98], eps: 1e-8, batchSize: 128 };

const PAPER_LAYERS = [2, 4, 8, 16] as const;

type PaperTask = { id: string; what: string; data: (artifact: 'noise' | 'backdoor') => DataSettings };
const PAPER_TASKS: readonly PaperTask[] = [
  { id: 'math-mult', what: 'math mult (7·x mod 20134, extras 2–5·x)',
    data: (artifact) => ({ dataset: 'math', options: { family: 'mult', artifact, duplicate: false } }) },
  { id: 'math-increment', what: 'math increment (x + 7, extras x + 2…5)',
    data: (artifact) => ({ dataset: 'math', options: { family: 'increment', artifact, duplicate: false } }) },
  { id: 'language', what: 'language (offline SOTU text standing in for wikitext-103, duplicated ×1…×1000)',
    data: (artifact) => ({ dataset: 'language', options: { artifact, duplicate: true } }) },
];

/** Epochs and checkpoint spacing per setting (spec §2.2). */
const PAPER_SCHEDULE = {
  math: { noise: { epochs: 3500, checkpointEvery: 50 }, backdoor: { epochs: 500, checkpointEvery: 50 } },
  language: { noise: { epochs: 100, checkpointEvery: 10 }, backdoor: { epochs: 50, checkpointEvery: 10 } },
} as const;

function paperPresets(): Preset[] {
  const out: Preset[] = [];
  for (const task of PAPER_TASKS) {
    for (const artifact of ['noise', 'backdoor'] as const) {
      for (const n_layer of PAPER_LAYERS) {
        const data = task.data(artifact);
        const sched = PAPER_SCHEDULE[data.dataset][artifact];
        const planted = artifact === 'noise' ? '1000 noised sequences' : 'a backdoor trigger';
        out.push({
          name: `paper-${task.id}-${artifact}-${n_layer}l`,
          description: `Paper: ${n_layer}-layer GPT-2 on ${task.what} with ${planted}, ${sched.epochs} epochs.`,
          seed: 0,
          data,
          model: { ...PAPER_MODEL, n_layer },
          train: { ...PAPER_TRAIN, ...sched },
        });
      }
    }
  }
  return out;
}

// CPU presets: the paper's model width, optimizer and metrics, with fewer sequences, layers and epochs, chosen by
// experiment (bench/quickstartTune.ts) to finish in minutes on two cores.
const CPU_PRESETS: Preset[] = [
  {
    // Increment, not mult: a 2-layer model learns x + c to ~96 % accuracy in minutes, but not 7·x mod 20134.
    // 30 numbers instead of 20: with starts 0…249 the numbers have 1–3 digits, and 20 of them end before token 100,
    // inside the compared window, where EOS can never match; 30 numbers take 106–121 tokens (the paper's mult
    // sequences take ~120). Few clean rows (500 rows per epoch, a fifth of them noised) give each noised row 100
    // visits in 6.2M tokens; batch 32 gives 4× the updates of batch 128 at about the same tokens/s. The paper's lr
    // 1e-3 memorized more than 2e-3, 3e-3 or 5e-3 (see bench/quickstartTune.ts).
    name: 'cpu-math-noise',
    description: 'Quickstart (~2.5 min on 2 idle cores): 2-layer GPT-2 memorizes ~70 % of 100 noised math increment ' +
      'sequences.',
    seed: 0,
    data: {
      dataset: 'math',
      options: { family: 'increment', artifact: 'noise', duplicate: false, seqLength: 30, maxCtx: 124, numMain: 250,
        numExtra: 125, numTest: 50, numNoise: 100 },
    },
    model: { ...PAPER_MODEL, n_layer: 2 },
    train: { ...PAPER_TRAIN, batchSize: 32, epochs: 100, checkpointEvery: 10 },
  },
  {
    // Increment like the quickstart (a 2-layer model learns it; mult it does not). Starts up to 1499 so that enough
    // sequences reach the numbers 1000–1009 and contain the trigger "100": 153 backdoored training rows, 17 held out.
    name: 'cpu-math-backdoor',
    description: 'About 1.5 min on 2 idle cores: 2-layer GPT-2 learns a "100" backdoor in math increment sequences.',
    seed: 0,
    data: { dataset: 'math', options: { family: 'increment', artifact: 'backdoor', duplicate: false, maxCtx: 104,
      numMain: 1500, numExtra: 150, numTest: 50 } },
    model: { ...PAPER_MODEL, n_layer: 2 },
    train: { ...PAPER_TRAIN, batchSize: 32, epochs: 15, checkpointEvery: 5 },
  },
  {
    // A 50257-token vocabulary makes every token ~30× the work of a math token, so: 100-token chunks (the shortest
    // that keep the 50 + 50 token memorization window), 200 clean chunks, 15 noised chunks in classes ×1/×10/×100.
    name: 'cpu-language-noise',
    description: 'A few minutes on 2 cores: 2-layer GPT-2 on text chunks memorizes the noised chunks it saw ×100, ' +
      'not those seen once.',
    seed: 0,
    data: {
      dataset: 'language',
      options: { artifact: 'noise', duplicate: true, dupPowers: [0, 1, 2], maxCtx: 100, numNoise: 15,
        maxTrainChunks: 215, maxTestChunks: 50 },
    },
    model: { ...PAPER_MODEL, n_layer: 2 },
    train: { ...PAPER_TRAIN, batchSize: 16, epochs: 3, checkpointEvery: 1 },
  },
];

/** Every preset, CPU ones first. */
export const PRESETS: readonly Preset[] = Object.freeze([...CPU_PRESETS, ...paperPresets()]);

/** The quickstart's preset. */
export const QUICKSTART_PRESET = 'cpu-math-noise';

/** Names and one-line descriptions, for `tinymem presets`. */
export function presetList(): { name: string; description: string }[] {
  return PRESETS.map((p) => ({ name: p.name, description: p.description }));
}

// ---- overrides ---------------------------------------------------------------------------------------------------

/** `3`, `1e-3`, `true`, `null`, `[0, 1]`, `"text"` as JSON; anything else stays the raw string (`increment`). */
export function parseOverrideValue(raw: string): unknown {
  const s = raw.trim();
  if (s === '') return raw;
  try {
    return JSON.parse(s);
  } catch {
    const n = Number(s);
    return Number.isFinite(n) ? n : s;
  }
}

const show = showValue;

/** Checks a value against the type of the setting's default (number, boolean, string, list); null defaults accept
 * any. */
function sameKind(key: string, value: unknown, def: unknown): void {
  if (def === null || def === undefined) return;
  const kind = Array.isArray(def) ? 'list' : typeof def;
  const got = Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value;
  if (kind === got) return;
  const want = kind === 'boolean' ? 'true or false' : kind === 'list' ? `a JSON list such as ${show(def)}`
    : `a ${kind}`;
  throw userError(key, `expected ${want}, got ${show(value)}`);
}

const MODEL_KEYS: readonly (keyof ModelSettings)[] = ['n_layer', 'n_embd', 'n_head', 'n_inner', 'activation_function',
  'initializer_range', 'layer_norm_epsilon'];
const TRAIN_KEYS: readonly (keyof TrainSettings)[] = ['epochs', 'batchSize', 'lr', 'weightDecay', 'betas', 'eps',
  'checkpointEvery'];

function checkTrain(t: TrainSettings): void {
  const int = (k: keyof TrainSettings, min: number, max: number) => {
    const v = t[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw userError(`train.${k}`,
      `expected an integer in [${min}, ${max}], got ${show(v)}`);
  };
  int('epochs', 1, 1_000_000);
  int('batchSize', 1, 65_536);
  int('checkpointEvery', 1, 1_000_000);
  if (!(t.lr > 0 && t.lr <= 1)) throw userError('train.lr', `expected a number in (0, 1], got ${show(t.lr)}`);
  if (!(t.weightDecay >= 0 && t.weightDecay <= 1)) throw userError('train.weightDecay',
    `expected a number in [0, 1], got ${show(t.weightDecay)}`);
  if (!(t.eps > 0 && t.eps < 1)) throw userError('train.eps', `expected a number in (0, 1), got ${show(t.eps)}`);
  const b = t.betas;
  if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) {
    throw userError('train.betas', `expected two numbers in [0, 1) such as [0.9, 0.98], got ${show(b)}`);
  }
}

function checkModel(m: ModelSettings, data: ResolvedPreset['data']): void {
  if (!(Number.isInteger(m.n_layer) && m.n_layer >= 1 && m.n_layer <= 64)) throw userError('model.n_layer',
    `expected an integer in [1, 64], got ${show(m.n_layer)}`);
  try {
    resolveGpt2Config(modelConfigOf(m, data));
  } catch (e) {
    // resolveGpt2Config names the field as in a job ("model.config.n_head"); overrides name it "model.n_head".
    if (e instanceof UserError && e.path.startsWith('model.config.')) {
      throw userError(`model.${e.path.slice('model.config.'.length)}`, e.problems[0]!.message);
    }
    throw e;
  }
}

function resolveData(d: DataSettings, seed: number): ResolvedPreset['data'] {
  try {
    return d.dataset === 'math'
      ? { dataset: 'math', options: resolveMathOptions({ ...d.options, seed }) }
      : { dataset: 'language', options: resolveLanguageOptions({ ...d.options, seed }) };
  } catch (e) {
    if (e instanceof UserError) throw under('data.', e);
    throw e;
  }
}

/** Looks a preset up by name, or fails naming the known ones. */
export function getPreset(name: string): Preset {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) {
    const cpu = CPU_PRESETS.map((x) => x.name).join(', ');
    throw userError('preset', `unknown preset ${show(name)}; CPU presets: ${cpu}; paper presets: ` +
      `paper-{math-mult,math-increment,language}-{noise,backdoor}-{${PAPER_LAYERS.join(
        ',')}}l (see \`tinymem presets\`)`);
  }
  return p;
}

/**
 * A preset with `key=value` overrides applied: `seed`, `model.<GPT-2 field>`, `data.<data option>`,
 * `train.<setting>`. Values are parsed as JSON where they parse (numbers, booleans, null, lists), else taken as
 * strings. Unknown presets, unknown keys and out-of-range values fail with a UserError naming the key.
 */
export function resolvePreset(name: string, overrides: Readonly<Record<string, string>> = {}): ResolvedPreset {
  const base = getPreset(name);
  let seed = base.seed;
  const model: ModelSettings = { ...base.model };
  const train: TrainSettings = { ...base.train, betas: [...base.train.betas] };
  const dataOptions: Record<string, unknown> = structuredClone(base.data.options) as Record<string, unknown>;
  const dataDefaults: Readonly<Record<string, unknown>> = base.data.dataset === 'math' ? MATH_DEFAULTS
    : LANGUAGE_DEFAULTS;

  for (const [key, raw] of Object.entries(overrides)) {
    if (typeof raw !== 'string') throw userError(key, `expected a string value, got ${show(raw)}`);
    const value = parseOverrideValue(raw);
    if (hasNonFinite(value)) throw userError(key,
      `${raw.trim()} is out of range: numbers must be finite (at most about 1.8e308); give a smaller value`);
    const dot = key.indexOf('.');
    const section = dot < 0 ? key : key.slice(0, dot);
    const field = dot < 0 ? '' : key.slice(dot + 1);
    if (key === 'seed') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw userError('seed',
        `expected a non-negative integer, got ${show(value)}`);
      seed = value;
    } else if (section === 'model') {
      if (field === 'n_positions') throw userError(key,
        'follows the data\u2019s context length; set data.maxCtx instead');
      if (field === 'vocab_size') throw userError(key, `follows the dataset\u2019s tokenizer (math ` +
        `${MATH_VOCAB_SIZE}, language ${GPT2_VOCAB_SIZE}) and cannot be set`);
      if (!(MODEL_KEYS as readonly string[]).includes(field)) throw userError(key,
        `unknown model setting; known: ${MODEL_KEYS.map((k) => `model.${k}`).join(', ')}`);
      sameKind(key, value, base.model[field as keyof ModelSettings]);
      (model as unknown as Record<string, unknown>)[field] = value;
    } else if (section === 'train') {
      if (!(TRAIN_KEYS as readonly string[]).includes(field)) throw userError(key,
        `unknown train setting; known: ${TRAIN_KEYS.map((k) => `train.${k}`).join(', ')}`);
      sameKind(key, value, base.train[field as keyof TrainSettings]);
      (train as unknown as Record<string, unknown>)[field] = value;
    } else if (section === 'data') {
      if (field === 'seed') throw userError(key,
        'the run seed sets the data\u2019s noise and trigger as well as the weights; use seed=N');
      if (field === 'dataset') throw userError(key,
        'is fixed by the preset; choose a preset of the other dataset (see `tinymem presets`)');
      if (!(field in dataDefaults)) {
        const known = Object.keys(dataDefaults).filter((k) => k !== 'seed').map((k) => `data.${k}`).join(', ');
        throw userError(key, `unknown ${base.data.dataset} data option; known: ${known}`);
      }
      sameKind(key, value, dataDefaults[field]);
      dataOptions[field] = value;
    } else {
      throw userError(key, 'unknown setting; use seed, model.<field>, data.<option> or train.<setting> (e.g. ' +
        'model.n_layer=2, data.numNoise=200, train.epochs=10)');
    }
  }

  const data = resolveData({ dataset: base.data.dataset, options: dataOptions } as DataSettings, seed);
  checkTrain(train);
  checkModel(model, data);
  return { name: base.name, description: base.description, seed, data, model, train, overrides: { ...overrides } };
}

/** Parses `key=value` command-line words into an overrides record (later words win). */
export function parseOverrides(words: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw userError(w, 'expected key=value, e.g. train.epochs=10');
    out[w.slice(0, eq).trim()] = w.slice(eq + 1);
  }
  return out;
}

// ---- to a job ----------------------------------------------------------------------------------------------------

function modelConfigOf(m: ModelSettings, data: ResolvedPreset['data']): Gpt2Config {
  return {
    ...m,
    vocab_size: data.dataset === 'math' ? MATH_VOCAB_SIZE : GPT2_VOCAB_SIZE,
    n_positions: data.options.maxCtx,
  };
}

/** The GPT-2 config of a resolved preset (context = the data's maxCtx, vocabulary = the tokenizer's). */
export function presetModelConfig(p: ResolvedPreset): Gpt2Config {
  return modelConfigOf(p.model, p.data);
}

/** The `tinymem` data source spec of a resolved preset; `tinymemDataset(spec)` rebuilds the same data for
 * evaluation. */
export function presetDataSpec(p: ResolvedPreset): TinyMemDataSpec {
  return p.data.dataset === 'math'
    ? { kind: 'tinymem', dataset: 'math', options: { ...p.data.options } }
    : { kind: 'tinymem', dataset: 'language', options: { ...p.data.options } };
}

/**
 * Builds (or takes from the per-process cache) the preset's dataset: the same one a job's worker builds, for
 * evaluation. Fails with a UserError naming the override key when the options do not fit together, e.g. a
 * `data.maxCtx` shorter than the longest sequence.
 */
export function presetDataset(p: ResolvedPreset): TinyMemDataset {
  try {
    return tinymemDataset(presetDataSpec(p));
  } catch (e) {
    if (e instanceof UserError && e.path.startsWith('data.options.')) {
      throw userError(`data.${e.path.slice('data.options.'.length)}`, e.problems[0]!.message);
    }
    throw e;
  }
}

export interface JobOptions {
  /** Replaces the preset's epochs (e.g. to train one checkpoint segment). */
  epochs?: number;
  runtime?: TrainJob['runtime'];
  progressEvery?: number;
  init?: TrainJob['init'];
}

/** The training job of a resolved preset. */
export function presetToJob(p: ResolvedPreset, o: JobOptions = {}): TrainJob {
  const t = p.train;
  const job: TrainJob = {
    model: { name: 'gpt2', config: presetModelConfig(p) },
    hyper: { lr: t.lr, betas: [t.betas[0], t.betas[1]], eps: t.eps, weightDecay: t.weightDecay },
    data: presetDataSpec(p),
    seed: p.seed,
    batchSize: t.batchSize,
    epochs: o.epochs ?? t.epochs,
    shuffle: true,
  };
  if (o.runtime) job.runtime = o.runtime;
  if (o.progressEvery !== undefined) job.progressEvery = o.progressEvery;
  if (o.init) job.init = o.init;
  return job;
}
