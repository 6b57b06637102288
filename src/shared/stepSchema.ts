// The step language of .tinymem notebook cells: which steps exist, which keys each takes with one-line descriptions,
// and the valibot schema of each key's value; the `Step` types derive from the same table. The cell parser
// (src/engine/notebook/parseStep.ts), the completion and hover helpers and the docs all read this one table.
import * as v from 'valibot';
import type { HyperValue } from './methodTypes';

export const STEP_KINDS = ['data', 'train', 'memorization', 'mitigate', 'compare', 'inspect', 'sweep'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

// ---- values -------------------------------------------------------------------------------------------------------

const show = (x: unknown) => JSON.stringify(x) ?? String(x);
const expected = (what: string) => (i: v.BaseIssue<unknown>) => `expected ${what}, got ${show(i.input)}`;
const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const text = v.pipe(
  v.string(expected('a non-empty text')),
  v.check((s) => s.trim() !== '', expected('a non-empty text')),
);
const count = v.pipe(
  v.number(expected('a non-negative integer')),
  v.safeInteger(expected('a non-negative integer')),
  v.minValue(0, expected('a non-negative integer')),
);

/** Flattens `{ train: { epochs: 20 } }` and `{ train.epochs: 20 }` alike into `train.epochs` → "20". */
export function flattenOverrides(o: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) {
    if (isMap(x)) Object.assign(out, flattenOverrides(x, `${prefix}${k}.`));
    else out[prefix + k] = typeof x === 'string' ? x : JSON.stringify(x);
  }
  return out;
}

/** The schema of a value of each key type. (`methods: all` is YAML sugar the cell parser expands first.) */
const VALUES = {
  step: text,
  preset: text,
  path: text,
  string: text,
  method: text,
  regularizer: text,
  boolean: v.boolean(expected('true or false')),
  integer: count,
  overrides: v.pipe(
    v.custom<Record<string, unknown>>(isMap, expected('a map of overrides such as { train.epochs: 20 }')),
    v.transform((o) => flattenOverrides(o)),
  ),
  hyperParams: v.pipe(
    v.custom<Record<string, unknown>>(isMap, 'expected a map of hyper-parameters such as { ratio: 0.05 }'),
    v.record(
      v.string(),
      v.custom<HyperValue>(
        (x) => ['number', 'boolean', 'string'].includes(typeof x),
        expected('a number, true/false or a text'),
      ),
    ),
  ),
  methods: v.pipe(
    v.custom<unknown[]>(
      (x) => Array.isArray(x) && x.length > 0,
      'expected a list of method ids such as [balanced-subnet, greedy], or "all"',
    ),
    v.array(text),
  ),
};
export type KeyType = keyof typeof VALUES;

// ---- keys ---------------------------------------------------------------------------------------------------------

export interface KeySpec {
  name: string;
  type: KeyType;
  required?: boolean;
  /** Shown in hover and completion; says what happens when the key is left out. */
  description: string;
}

/** A key's value schema with its type (for completion) and description (for hover) attached. */
const key = <T extends KeyType>(type: T, description: string) =>
  v.pipe(VALUES[type], v.description(description), v.metadata({ type }));
const optional = <T extends KeyType>(type: T, description: string) => v.optional(key(type, description));

const title = optional('string', 'Heading of this cell\u2019s outputs (optional).');
const checkpointOfPrevious = optional(
  'path',
  'Checkpoint folder, relative to the notebook\u2019s folder: a TinyMem checkpoint, or a Hugging Face model folder ' +
    '(GPT-2, GPT-NeoX/Pythia) with `sequences:`. Default: the checkpoint of the latest train or measure step run in ' +
    'this notebook.',
);
const preset = key('preset', 'A training preset (see `tinymem presets`), e.g. cpu-math-noise.');
const set = v.optional(
  key('overrides', 'Preset overrides, e.g. { train.epochs: 20, data.numNoise: 50, model.n_layer: 1 } (keys: seed, ' +
    'model.*, data.*, train.*).'),
  () => ({}),
);
// Keys for Hugging Face model folders (GPT-2, GPT-NeoX/Pythia) as `checkpoint`: such a folder carries no TinyMem
// training data, so the sets to measure on come from files (the paper's Pythia setting, spec §6).
const HF = 'Hugging Face model folders only';
const sequences = optional(
  'path',
  `${HF}: the memorized-sequence set (MemPi JSON list of token-id lists, or JSONL, one list per line), relative to ` +
    `the notebook\u2019s folder; the sequences the model reproduces become the forget set. Required for mitigate and ` +
    `compare on such a folder.`,
);
const hfText = optional(
  'path',
  `${HF}: text for perplexity (.txt, tokenized with the folder\u2019s tokenizer.json) or a .json token-id file, cut ` +
    `into chunks as long as the sequences; also the retain set unless \`retain:\` is given.`,
);
const retain = optional('path', `${HF}: clean text (or .json token ids) for the retain set of methods that use one ` +
  `(e.g. balanced-subnet). Default: \`text\`.`);
const promptLength = optional('integer', `${HF}: prompt tokens of each sequence (default 32, the paper\u2019s Pythia ` +
  `setting).`);
const continuationLength = optional('integer', `${HF}: tokens compared after the prompt; a sequence counts as ` +
  `memorized when all match (default 40).`);
/** The keys above, in the order completion offers them. */
export const HF_KEYS = ['sequences', 'text', 'retain', 'promptLength', 'continuationLength'] as const;
const hfMeasure = { sequences, text: hfText, promptLength, continuationLength };
const hfEdit = { sequences, text: hfText, retain, promptLength, continuationLength };
const seed = optional('integer', 'Seed of the method\u2019s randomness. Default: the tinymem.defaultSeed setting (0).');
const force = (description: string) => v.optional(key('boolean', description), false);

/** A step cell: `step: <kind>` and the step's keys, in the order completion offers them. */
const step = <S extends StepKind, E extends v.ObjectEntries>(kind: S, description: string, keys: E) =>
  v.pipe(v.object({ step: v.literal(kind), ...keys }), v.description(description));

/** Every step cell's schema (a cell's YAML map as JSON), with the descriptions hover and completion show. */
export const STEP_SCHEMAS = {
  data: step('data',
    'Builds a preset\u2019s TinyMem dataset (with its planted noise or backdoor) and shows a summary.',
    { preset, set, title }),
  train: step('train', 'Trains a GPT-2 model on a preset\u2019s data into a checkpoint folder; shows live loss ' +
    'curves, then the metrics.', {
    preset,
    set,
    out: optional('path',
      'Checkpoint folder to write, relative to the notebook\u2019s folder. Default: runs/<preset>.'),
    force: force('Train again even when `out` holds a finished run with the same settings (default false: that ' +
      'run is reused and its curve and metrics shown), and replace a checkpoint trained with other settings, which ' +
      'a cell never overwrites without `force: true`.'),
    evaluate: v.optional(key('boolean', 'Measure memorization and accuracy/perplexity after training (default true).'),
      true),
    regularizer: optional('regularizer', 'Train with a memorization regularizer (e.g. spectral-norm, ' +
      'loss-truncation, example-tied-dropout). Default: none.'),
    hp: optional('hyperParams', 'Hyper-parameters of the regularizer, e.g. { lam: 0.1 }. Left-out ones take the ' +
      'paper\u2019s defaults.'),
    title,
  }),
  memorization: step(
    'memorization',
    'Measures a checkpoint on its own data (a Hugging Face folder: on `sequences:` and `text:`): memorization %, ' +
      'accuracy or perplexity, and the memorization heatmap.',
    { checkpoint: checkpointOfPrevious, ...hfMeasure, title },
  ),
  mitigate: step('mitigate', 'Unlearns the memorized sequences of a checkpoint with one method; writes the edited ' +
    'checkpoint and shows before/after.', {
    checkpoint: checkpointOfPrevious,
    method: key('method', 'A mitigation method id (see `tinymem methods`), e.g. balanced-subnet.'),
    hp: v.optional(key('hyperParams', 'Hyper-parameters of the method, e.g. { ratio: 0.05 }. Left-out ones take the ' +
      'paper\u2019s defaults.'), () => ({})),
    out: optional('path', 'Folder for the edited checkpoint. Default: <checkpoint>-<method>.'),
    force: force('Replace an earlier TinyMem checkpoint in `out` (default false). `out` may never be the ' +
      '`checkpoint` itself.'),
    seed,
    ...hfEdit,
    title,
  }),
  compare: step('compare', 'Runs several methods on the same checkpoint and ranks them with the paper\u2019s ' +
    'selection rule.', {
    checkpoint: checkpointOfPrevious,
    methods: key('methods', 'Method ids as a list, e.g. [balanced-subnet, greedy], or "all".'),
    grid: v.optional(key('boolean', 'Sweep a small grid of the paper\u2019s values per method (default false: the ' +
      'defaults only).'), false),
    maxPoints: optional('integer', 'Grid points per method at most (default 6).'),
    seed,
    ...hfEdit,
    title,
  }),
  inspect: step('inspect', 'Shows which weights or neurons an edit pruned, per layer and matrix, next to the ' +
    'memorization and utility change.', {
    checkpoint: optional('path', 'Edited checkpoint folder (with masks.safetensors). Default: the output of the ' +
      'latest mitigate step run in this notebook.'),
    title,
  }),
  sweep: step('sweep', 'Runs a sweep spec (train and unlearn jobs over presets, seeds, checkpoints, methods and ' +
    'grids) with the local backend, then shows the paper\u2019s selection per method beside the paper\u2019s ' +
    'numbers. A cell `sweep: spec.yaml` alone is short for this step.', {
    sweep: key('path', 'The sweep spec (YAML), relative to the notebook\u2019s folder, e.g. examples/paper/cpu.yaml.'),
    out: optional('path', 'Sweep folder, relative to the notebook\u2019s folder. Default: sweeps/<the spec\u2019s ' +
      'name>. Jobs already done there are skipped; failed ones are not re-run (`tinymem sweep retry`).'),
    title,
  }),
};

export type Step = { [S in StepKind]: v.InferOutput<(typeof STEP_SCHEMAS)[S]> }[StepKind];
export type StepOf<S extends StepKind> = Extract<Step, { step: S }>;
export type DataStep = StepOf<'data'>;
export type TrainStep = StepOf<'train'>;
export type MemorizationStep = StepOf<'memorization'>;
export type MitigateStep = StepOf<'mitigate'>;
export type CompareStep = StepOf<'compare'>;
export type InspectStep = StepOf<'inspect'>;
export type SweepStep = StepOf<'sweep'>;
/** The sets a Hugging Face folder is measured on (paths as written in the cell; they resolve at run time). */
export type HfStepData = Pick<MitigateStep, (typeof HF_KEYS)[number]>;

// ---- the table that completion and hover read ---------------------------------------------------------------------

export interface StepSpec {
  kind: StepKind;
  description: string;
  keys: KeySpec[];
}

/** A key's schema as the table shows it: its type and description (from the schema) and whether it is required. */
function keySpec(name: string, schema: v.GenericSchema): KeySpec {
  const inner = 'wrapped' in schema ? (schema.wrapped as v.GenericSchema) : schema;
  const { type } = v.getMetadata(inner) as { type: KeyType };
  return { name, type, ...(inner === schema ? { required: true } : {}), description: v.getDescription(inner) ?? '' };
}

export const STEPS: readonly StepSpec[] = STEP_KINDS.map((kind) => {
  const { step: _, ...keys } = STEP_SCHEMAS[kind].entries;
  return {
    kind,
    description: v.getDescription(STEP_SCHEMAS[kind]) ?? '',
    keys: Object.entries(keys).map(([name, schema]) => keySpec(name, schema)),
  };
});

export const STEP_KEY: KeySpec = {
  name: 'step',
  type: 'step',
  required: true,
  description: `What this cell does: ${STEP_KINDS.join(', ')}.`,
};

export function stepSpec(kind: string): StepSpec | undefined {
  return STEPS.find((s) => s.kind === kind);
}
