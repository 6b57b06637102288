// The step language of .tinymem notebook cells: which steps exist and which keys each takes, with one-line
// descriptions. The validator, the completion and hover helpers and the docs all read this one table.

export const STEP_KINDS = ['data', 'train', 'memorization', 'mitigate', 'compare', 'inspect'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export type KeyType = 'step' | 'preset' | 'overrides' | 'path' | 'boolean' | 'integer' | 'method' | 'methods' | 'regularizer' | 'hyperParams' | 'string';

export interface KeySpec {
  name: string;
  type: KeyType;
  required?: boolean;
  /** Shown in hover and completion; says what happens when the key is left out. */
  description: string;
}

export interface StepSpec {
  kind: StepKind;
  description: string;
  keys: KeySpec[];
}

const title: KeySpec = { name: 'title', type: 'string', description: 'Heading of this cell\u2019s outputs (optional).' };
const checkpointOfPrevious: KeySpec = {
  name: 'checkpoint',
  type: 'path',
  description: 'Checkpoint folder, relative to the notebook\u2019s folder: a TinyMem checkpoint, or a Hugging Face model folder (GPT-2, GPT-NeoX/Pythia) with `sequences:`. Default: the checkpoint of the latest train or measure step run in this notebook.',
};
const set: KeySpec = {
  name: 'set',
  type: 'overrides',
  description: 'Preset overrides, e.g. { train.epochs: 20, data.numNoise: 50, model.n_layer: 1 } (keys: seed, model.*, data.*, train.*).',
};
// Keys for Hugging Face model folders (GPT-2, GPT-NeoX/Pythia) as `checkpoint`: such a folder carries no TinyMem
// training data, so the sets to measure on come from files (the paper's Pythia setting, spec §6).
const HF = 'Hugging Face model folders only';
const sequences: KeySpec = {
  name: 'sequences',
  type: 'path',
  description: `${HF}: the memorized-sequence set (MemPi JSON list of token-id lists, or JSONL, one list per line), relative to the notebook\u2019s folder; the sequences the model reproduces become the forget set. Required for mitigate and compare on such a folder.`,
};
const text: KeySpec = {
  name: 'text',
  type: 'path',
  description: `${HF}: text for perplexity (.txt, tokenized with the folder\u2019s tokenizer.json) or a .json token-id file, cut into chunks as long as the sequences; also the retain set unless \`retain:\` is given.`,
};
const retain: KeySpec = {
  name: 'retain',
  type: 'path',
  description: `${HF}: clean text (or .json token ids) for the retain set of methods that use one (e.g. balanced-subnet). Default: \`text\`.`,
};
const promptLength: KeySpec = { name: 'promptLength', type: 'integer', description: `${HF}: prompt tokens of each sequence (default 32, the paper\u2019s Pythia setting).` };
const continuationLength: KeySpec = { name: 'continuationLength', type: 'integer', description: `${HF}: tokens compared after the prompt; a sequence counts as memorized when all match (default 40).` };
/** The keys above, in the order completion offers them. */
export const HF_KEYS = ['sequences', 'text', 'retain', 'promptLength', 'continuationLength'] as const;
const hfMeasure = [sequences, text, promptLength, continuationLength];
const hfEdit = [sequences, text, retain, promptLength, continuationLength];

const seed: KeySpec = { name: 'seed', type: 'integer', description: 'Seed of the method\u2019s randomness. Default: the tinymem.defaultSeed setting (0).' };

export const STEPS: readonly StepSpec[] = [
  {
    kind: 'data',
    description: 'Builds a preset\u2019s TinyMem dataset (with its planted noise or backdoor) and shows a summary.',
    keys: [{ name: 'preset', type: 'preset', required: true, description: 'A training preset (see `tinymem presets`), e.g. cpu-math-noise.' }, set, title],
  },
  {
    kind: 'train',
    description: 'Trains a GPT-2 model on a preset\u2019s data into a checkpoint folder; shows live loss curves, then the metrics.',
    keys: [
      { name: 'preset', type: 'preset', required: true, description: 'A training preset (see `tinymem presets`), e.g. cpu-math-noise.' },
      set,
      { name: 'out', type: 'path', description: 'Checkpoint folder to write, relative to the notebook\u2019s folder. Default: runs/<preset>.' },
      { name: 'force', type: 'boolean', description: 'Replace an earlier TinyMem checkpoint in `out` (default false: a cell never overwrites a checkpoint unless it says `force: true`, so re-running it needs `force: true` or another `out`).' },
      { name: 'evaluate', type: 'boolean', description: 'Measure memorization and accuracy/perplexity after training (default true).' },
      { name: 'regularizer', type: 'regularizer', description: 'Train with a memorization regularizer (e.g. spectral-norm, loss-truncation, example-tied-dropout). Default: none.' },
      { name: 'hp', type: 'hyperParams', description: 'Hyper-parameters of the regularizer, e.g. { lam: 0.1 }. Left-out ones take the paper\u2019s defaults.' },
      title,
    ],
  },
  {
    kind: 'memorization',
    description: 'Measures a checkpoint on its own data (a Hugging Face folder: on `sequences:` and `text:`): memorization %, accuracy or perplexity, and the memorization heatmap.',
    keys: [checkpointOfPrevious, ...hfMeasure, title],
  },
  {
    kind: 'mitigate',
    description: 'Unlearns the memorized sequences of a checkpoint with one method; writes the edited checkpoint and shows before/after.',
    keys: [
      checkpointOfPrevious,
      { name: 'method', type: 'method', required: true, description: 'A mitigation method id (see `tinymem methods`), e.g. balanced-subnet.' },
      { name: 'hp', type: 'hyperParams', description: 'Hyper-parameters of the method, e.g. { ratio: 0.05 }. Left-out ones take the paper\u2019s defaults.' },
      { name: 'out', type: 'path', description: 'Folder for the edited checkpoint. Default: <checkpoint>-<method>.' },
      { name: 'force', type: 'boolean', description: 'Replace an earlier TinyMem checkpoint in `out` (default false). `out` may never be the `checkpoint` itself.' },
      seed,
      ...hfEdit,
      title,
    ],
  },
  {
    kind: 'compare',
    description: 'Runs several methods on the same checkpoint and ranks them with the paper\u2019s selection rule.',
    keys: [
      checkpointOfPrevious,
      { name: 'methods', type: 'methods', required: true, description: 'Method ids as a list, e.g. [balanced-subnet, greedy], or "all".' },
      { name: 'grid', type: 'boolean', description: 'Sweep a small grid of the paper\u2019s values per method (default false: the defaults only).' },
      { name: 'maxPoints', type: 'integer', description: 'Grid points per method at most (default 6).' },
      seed,
      ...hfEdit,
      title,
    ],
  },
  {
    kind: 'inspect',
    description: 'Shows which weights or neurons an edit pruned, per layer and matrix, next to the memorization and utility change.',
    keys: [
      { name: 'checkpoint', type: 'path', description: 'Edited checkpoint folder (with masks.safetensors). Default: the output of the latest mitigate step run in this notebook.' },
      title,
    ],
  },
];

export const STEP_KEY: KeySpec = { name: 'step', type: 'step', required: true, description: `What this cell does: ${STEP_KINDS.join(', ')}.` };

export function stepSpec(kind: string): StepSpec | undefined {
  return STEPS.find((s) => s.kind === kind);
}
