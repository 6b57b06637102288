// The payloads of the notebook output views: small, downsampled, plain JSON (numbers, strings, booleans, arrays,
// null; never NaN). The engine's builders (src/engine/report/) write them, the webview renderer (renderers/) and the
// HTML report draw them. Each payload is declared once as a valibot schema and its type derived from it. A notebook
// file can be edited by hand, so the renderer runs `validateViewPayload` before drawing: wrong version, wrong types
// or oversized arrays fail with a message naming the field ("heatmap payload: rows[3].flags[7] must be an integer in
// [0, 7], got 9"); sizes are capped so a hostile file cannot stall the webview.
import * as v from 'valibot';
import { HEATMAP_CLEAN, HEATMAP_MATCH, HEATMAP_NOISED, type HeatmapMode } from './metricTypes';
import { type Fail, type Issue, boundedArray, checked, issuePath, plainObject } from './schemaParts';
import { userError } from './userError';

export const VIEW_PAYLOAD_VERSION = 1;

/** MIME type of each view's rich output item (the renderer "tinymem-views" draws all of them). */
export const VIEW_MIME = {
  heatmap: 'application/vnd.tinymem.heatmap+json',
  heatmapPair: 'application/vnd.tinymem.heatmap-pair+json',
  curves: 'application/vnd.tinymem.curves+json',
  comparison: 'application/vnd.tinymem.comparison+json',
  masks: 'application/vnd.tinymem.masks+json',
  metrics: 'application/vnd.tinymem.metrics+json',
  sweep: 'application/vnd.tinymem.sweep+json',
} as const;
export type ViewMime = (typeof VIEW_MIME)[keyof typeof VIEW_MIME];
export const VIEW_MIMES: readonly ViewMime[] = Object.values(VIEW_MIME);

/** One cell output: the rich item (`mime` + `payload`) and its text/markdown fallback. */
export interface ViewOutput {
  mime: string;
  payload: unknown;
  markdown: string;
}

/** Size caps: the builders stay well inside them; anything larger is not ours (or hand-edited) and is refused. */
export const VIEW_LIMITS = {
  string: 4000,
  tokenText: 200,
  heatmapRows: 500,
  heatmapK: 1024,
  heatmapCells: 100_000,
  tokenTextEntries: 20_000,
  curvePoints: 20_000,
  comparisonRows: 1000,
  maskTensors: 2000,
  maskMatrices: 64,
  maskBlocks: 64,
  neuronLayers: 256,
  neuronBins: 512,
  metrics: 1000,
  sweepRuns: 20_000,
  sweepSummaries: 2000,
} as const;
const L = VIEW_LIMITS;

// ---- field schemas: each failure reads "<path> <message>" ----------------------------------------------------------

const show = (x: unknown): string => {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x);
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (x === null) return 'null';
  return typeof x === 'object' ? 'an object' : String(x);
};
const got = (what: string) => (i: Issue) => `${what}, got ${show(i.input)}`;
const MAX_INT = Number.MAX_SAFE_INTEGER;
const intMessage = (min: number, max: number) => got(`must be an integer in [${min}, ${max}]`);

const str = (max: number = L.string) =>
  v.pipe(
    v.string(got('must be a string')),
    v.maxLength(max, (i) => `is ${(i.input as string).length} characters long, more than the limit of ${max}`),
  );
const bool = v.boolean(got('must be true or false'));
const int = (min = 0, max = MAX_INT) => {
  const m = intMessage(min, max);
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
};
const num = (min = -Infinity) => {
  const m = got('must be a finite number');
  const range = (i: Issue) => `must lie in [${min}, Infinity], got ${show(i.input)}`;
  return v.pipe(v.number(m), v.finite(m), v.minValue(min, range));
};
const numOrNull = v.nullable(num());
const oneOf = <const T extends readonly string[]>(options: T) =>
  v.picklist(options, got(`must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}`));
const arr = <T extends v.GenericSchema>(item: T, max: number) =>
  boundedArray(item, max, got('must be an array'), (n) => `has ${n} entries, more than the limit of ${max}`);
const obj = <E extends v.ObjectEntries>(entries: E) => plainObject(entries, got('must be an object'));
const header = {
  version: v.literal(VIEW_PAYLOAD_VERSION, (i) => `${got('must be 1')(i)} (written by a newer or older TinyMem?)`),
  title: str(),
};

// ---- memorization heatmap -----------------------------------------------------------------------------------------

/** One sequence of the heatmap. Token arrays hold ids; `tokenText` says how to show each id. */
const heatmapRow = obj({
  /** Index into the evaluated source matrix (artifact set or poisoned test set). */
  row: int(),
  dupClass: int(0, 63),
  memorized: bool,
  cleanCorrect: bool,
  /** The last tokens of the prompt (at most `promptTail`), for the hover text. */
  prompt: arr(int(), L.heatmapK),
  /** Per compared position: HEATMAP_MATCH (1) | HEATMAP_NOISED (2) | HEATMAP_CLEAN (4) bits (metricTypes.ts). */
  flags: arr(int(0, 7), L.heatmapK),
  target: arr(int(), L.heatmapK),
  clean: arr(int(), L.heatmapK),
  generated: arr(int(), L.heatmapK),
});
export type HeatmapViewRow = v.InferOutput<typeof heatmapRow>;

const heatmapEntries = {
  mode: oneOf(['noise', 'backdoor', 'sequences'] as const satisfies readonly HeatmapMode[]),
  tokenizer: oneOf(['math', 'gpt2']),
  /** Compared positions per row (columns). */
  k: int(0, L.heatmapK),
  /** Evaluated rows in total; `rows` shows at most a cap of them, spread evenly. */
  evaluatedRows: int(),
  truncated: bool,
  /** Repetition factor of each duplication class (index = dupClass). */
  dupFactors: arr(num(0), 64),
  /** Display text of every token id used in the rows: [id, text] pairs. */
  tokenText: arr(
    v.pipe(
      v.array(v.unknown(), got('must be an array')),
      v.maxLength(2, (i) => `has ${(i.input as unknown[]).length} entries, more than the limit of 2`),
      v.length(2, 'must be an [id, text] pair'),
      v.tuple([int(), str(L.tokenText)]),
    ),
    L.tokenTextEntries,
  ),
  rows: arr(heatmapRow, L.heatmapRows),
};
const heatmapChecks = (o: { k: number; rows: HeatmapViewRow[] }, fail: Fail) => {
  let cells = 0;
  o.rows.forEach((r, i) => {
    const n = r.flags.length;
    if (n > o.k) fail(['rows', i, 'flags'], `has ${n} entries, more than the limit of ${o.k}`);
    for (const f of ['target', 'clean', 'generated'] as const) {
      if (r[f].length !== n) fail(['rows', i, f], `must have as many entries as flags (${n})`);
    }
    cells += n;
    if (cells > L.heatmapCells) fail(['rows'], `hold more than ${L.heatmapCells} cells`);
  });
};
const heatmapData = checked(obj(heatmapEntries), heatmapChecks);
export type HeatmapData = v.InferOutput<typeof heatmapData>;
const heatmapPayload = checked(obj({ ...header, ...heatmapEntries }), heatmapChecks);
export type HeatmapViewPayload = v.InferOutput<typeof heatmapPayload>;

/** The four colours of a heatmap cell. */
export type HeatmapCategory = 'memorized' | 'not-reproduced' | 'clean' | 'mismatch';
export const HEATMAP_CATEGORIES: readonly HeatmapCategory[] = ['memorized', 'not-reproduced', 'clean', 'mismatch'];
export const HEATMAP_CATEGORY_LABEL: Readonly<Record<HeatmapCategory, string>> = {
  memorized: 'memorized noise',
  'not-reproduced': 'noise not reproduced',
  clean: 'clean match',
  mismatch: 'mismatch',
};
const BACKDOOR_CATEGORY_LABEL: Readonly<Record<HeatmapCategory, string>> = {
  ...HEATMAP_CATEGORY_LABEL,
  memorized: 'backdoor reproduced',
  'not-reproduced': 'backdoor not reproduced',
};
const SEQUENCES_CATEGORY_LABEL: Readonly<Record<HeatmapCategory, string>> = {
  ...HEATMAP_CATEGORY_LABEL,
  memorized: 'memorized token',
  'not-reproduced': 'token not reproduced',
};
/**
 * Legend labels: in backdoor mode the "noised" positions are the backdoor's continuation; for a memorized-sequence
 * set every checked position is the sequence's own continuation.
 */
export const heatmapCategoryLabels = (mode: HeatmapMode): Readonly<Record<HeatmapCategory, string>> =>
  mode === 'backdoor' ? BACKDOOR_CATEGORY_LABEL : mode === 'sequences' ? SEQUENCES_CATEGORY_LABEL
    : HEATMAP_CATEGORY_LABEL;

/** What the rows of a heatmap are, in words. */
export const heatmapRowNoun = (mode: HeatmapMode): string =>
  mode === 'noise' ? 'noised sequences' : mode === 'backdoor' ? 'poisoned test sequences'
    : 'sequences of the memorized-sequence set';

/**
 * At a noised position (artifact ≠ clean) the model either reproduced the artifact token (memorized) or not; at a
 * clean position it either generated the clean token or something else.
 */
export function heatmapCategory(flags: number): HeatmapCategory {
  if (flags & HEATMAP_NOISED) return flags & HEATMAP_MATCH ? 'memorized' : 'not-reproduced';
  return flags & HEATMAP_CLEAN ? 'clean' : 'mismatch';
}

/** The same rows before and after an edit, drawn side by side with one colour scale. */
const heatmapPairPayload = obj({
  ...header,
  beforeLabel: str(),
  afterLabel: str(),
  before: heatmapData,
  after: heatmapData,
});
export type HeatmapPairViewPayload = v.InferOutput<typeof heatmapPairPayload>;

// ---- training curves ----------------------------------------------------------------------------------------------

const optionalNum = v.optional(numOrNull);
const curvePoint = obj({
  epoch: num(),
  /** Mean training loss (nats). */
  loss: optionalNum,
  /** Percent. */
  accuracy: optionalNum,
  /** Percent memorized. */
  memorization: optionalNum,
  perplexity: optionalNum,
});
export type CurvePoint = v.InferOutput<typeof curvePoint>;
const curvesPayload = obj({ ...header, points: arr(curvePoint, L.curvePoints) });
export type CurvesViewPayload = v.InferOutput<typeof curvesPayload>;

// ---- method comparison --------------------------------------------------------------------------------------------

const utility = oneOf(['accuracy', 'perplexity']);
const comparisonRow = obj({
  method: str(),
  name: str(),
  family: str(),
  /** Hyper-parameters as one line of text ("ratio=0.01, epochs=10"). */
  hyperParams: str(),
  seconds: num(0),
  memBefore: numOrNull,
  memAfter: numOrNull,
  utilityBefore: numOrNull,
  utilityAfter: numOrNull,
  memChangePct: numOrNull,
  utilityChangePct: numOrNull,
  score: numOrNull,
  selected: bool,
  error: v.nullable(str()),
});
export type ComparisonViewRow = v.InferOutput<typeof comparisonRow>;
const comparisonPayload = obj({ ...header, utility, rows: arr(comparisonRow, L.comparisonRows) });
export type ComparisonViewPayload = v.InferOutput<typeof comparisonPayload>;

// ---- weight masks -------------------------------------------------------------------------------------------------

const place = {
  name: str(),
  /** Transformer block index; null for tensors outside the blocks (embeddings, final LayerNorm). */
  layer: v.nullable(int()),
  /** The tensor's name inside its block, e.g. `mlp.c_fc.weight`. */
  matrix: str(),
};
/** What one masked tensor lost. */
const maskTensor = checked(obj({ ...place, shape: arr(int(), 8), total: int(), pruned: int() }), (t, fail) => {
  if (t.pruned > t.total) fail(['pruned'], intMessage(0, t.total)({ input: t.pruned } as Issue));
});
export type MaskTensorSummary = v.InferOutput<typeof maskTensor>;

/**
 * A 2-D mask downsampled on the host to at most 64×64 blocks. Block (i, j) covers rows rowEdges[i]..rowEdges[i+1]-1
 * and columns colEdges[j]..colEdges[j+1]-1; `pruned` holds integer counts (row-major), so the overall fraction
 * sum(pruned) / (rows·cols) is exact.
 */
const maskGrid = checked(
  obj({
    ...place,
    rows: int(1),
    cols: int(1),
    rowEdges: arr(int(), L.maskBlocks + 1),
    colEdges: arr(int(), L.maskBlocks + 1),
    pruned: arr(int(), L.maskBlocks * L.maskBlocks),
  }),
  (x, fail) => {
    const edges = (f: 'rowEdges' | 'colEdges', n: number) => {
      const e = x[f];
      if (e.length < 2 || e[0] !== 0 || e[e.length - 1] !== n) return fail([f], `must run from 0 to ${n}`), false;
      for (let j = 1; j < e.length; j++) if (e[j]! <= e[j - 1]!) return fail([f], 'must be strictly increasing'), false;
      return true;
    };
    if (!edges('rowEdges', x.rows) || !edges('colEdges', x.cols)) return;
    const re = x.rowEdges;
    const ce = x.colEdges;
    const blocks = (re.length - 1) * (ce.length - 1);
    if (x.pruned.length !== blocks) return fail(['pruned'], `must hold ${blocks} block counts, got ${x.pruned.length}`);
    x.pruned.forEach((n, j) => {
      const bi = Math.floor(j / (ce.length - 1));
      const bj = j % (ce.length - 1);
      const size = (re[bi + 1]! - re[bi]!) * (ce[bj + 1]! - ce[bj]!);
      if (n > size) fail(['pruned', j], `counts ${n} pruned entries in a block of ${size}`);
    });
  },
);
export type MaskBlockGrid = v.InferOutput<typeof maskGrid>;

/** Neuron methods: which MLP neurons of a layer were ablated, as counts per bin of adjacent neurons. */
const neuronStrip = checked(
  /** `width`: neurons in the layer. */
  obj({ layer: int(), width: int(1), ablated: int(), binSize: int(1), bins: arr(int(), L.neuronBins) }),
  (x, fail) => {
    if (x.ablated > x.width) return fail(['ablated'], intMessage(0, x.width)({ input: x.ablated } as Issue));
    const j = x.bins.findIndex((b) => b > x.binSize);
    if (j >= 0) return fail(['bins', j], intMessage(0, x.binSize)({ input: x.bins[j] } as Issue));
    const want = Math.ceil(x.width / x.binSize);
    if (x.bins.length !== want) fail(['bins'], `must hold ${want} bins, got ${x.bins.length}`);
  },
);
export type NeuronStrip = v.InferOutput<typeof neuronStrip>;

const masksPayload = obj({
  ...header,
  method: str(),
  family: str(),
  utility: v.nullable(utility),
  memBefore: numOrNull,
  memAfter: numOrNull,
  utilityBefore: numOrNull,
  utilityAfter: numOrNull,
  tensors: arr(maskTensor, L.maskTensors),
  matrices: arr(maskGrid, L.maskMatrices),
  neurons: arr(neuronStrip, L.neuronLayers),
});
export type MasksViewPayload = v.InferOutput<typeof masksPayload>;

// ---- headline metrics ---------------------------------------------------------------------------------------------

const metricRow = obj({
  id: str(),
  label: str(),
  description: str(),
  value: numOrNull,
  unit: oneOf(['percent', 'perplexity', 'count']),
  headline: bool,
});
export type MetricsViewRow = v.InferOutput<typeof metricRow>;
const metricsPayload = obj({
  ...header,
  /** TinyMem data, or `sequences`: a user's memorized-sequence set and text (then there is no artifact). */
  dataset: oneOf(['math', 'language', 'sequences']),
  artifact: v.optional(oneOf(['noise', 'backdoor'])),
  provider: str(),
  seconds: num(0),
  metrics: arr(metricRow, L.metrics),
  /** Memorization per duplication class (empty without duplication). */
  byClass: arr(
    obj({ dupClass: int(), factor: num(0), kept: int(), memorized: int(), percentMemorized: numOrNull }),
    64,
  ),
});
export type MetricsViewPayload = v.InferOutput<typeof metricsPayload>;

// ---- sweep --------------------------------------------------------------------------------------------------------

/** One measured run of a sweep (the points of the memorization-vs-utility figure). */
const sweepRun = obj({
  /** "math-noise", "language-backdoor", ...: the paper's tables are per dataset and artifact. */
  experiment: str(),
  method: str(),
  nLayer: int(),
  seed: int(),
  checkpoint: int(),
  hyperParams: str(),
  /** Memorization (%) and utility (accuracy % or perplexity) after the edit. */
  mem: num(),
  utility: num(),
  /** The paper's selection chose this run for its base model and method. */
  selected: bool,
});
export type SweepViewRun = v.InferOutput<typeof sweepRun>;
/** Paper's numbers beside ours, and the two ranks among the methods both tables hold. */
const sweepPaper = obj({ mem: num(), utilityAfter: num(), utilityChangePct: num(), rank: int(1), ourRank: int(1) });
/** Means of the chosen runs per method (nLayer null) or per method and model size. */
const sweepSummary = obj({
  experiment: str(),
  method: str(),
  nLayer: v.nullable(int()),
  cells: int(),
  mem: num(),
  utilityAfter: num(),
  utilityChangePct: num(),
  utilityChangeMedian: num(),
  seconds: num(0),
  paper: v.nullable(sweepPaper),
});
export type SweepViewSummary = v.InferOutput<typeof sweepSummary>;
const sweepExperiment = obj({
  id: str(),
  utility,
  /** Where the paper's numbers come from; null when the paper has no table for this experiment. */
  source: v.nullable(str()),
  /** Spearman's rank correlation of our order and the paper's. */
  spearman: numOrNull,
});
const sweepCurvePoint = obj({
  /** The train job, and what tells its curve apart: preset, seed, regularizer ("none"). */
  job: str(),
  preset: str(),
  seed: int(),
  regularizer: str(),
  epoch: num(),
  loss: numOrNull,
  memorization: numOrNull,
});
export type SweepViewCurvePoint = v.InferOutput<typeof sweepCurvePoint>;
const sweepPayload = obj({
  ...header,
  jobs: obj({ total: int(), done: int(), failed: int() }),
  /** Runs measured in total; `runs` holds every chosen one and an even spread of the others up to the cap. */
  measured: int(),
  experiments: arr(sweepExperiment, 16),
  runs: arr(sweepRun, L.sweepRuns),
  summary: arr(sweepSummary, L.sweepSummaries),
  byLayer: arr(sweepSummary, L.sweepSummaries),
  curves: arr(sweepCurvePoint, L.curvePoints),
});
export type SweepViewPayload = v.InferOutput<typeof sweepPayload>;

// ---- by MIME type -------------------------------------------------------------------------------------------------

const SCHEMAS = {
  [VIEW_MIME.heatmap]: heatmapPayload,
  [VIEW_MIME.heatmapPair]: heatmapPairPayload,
  [VIEW_MIME.curves]: curvesPayload,
  [VIEW_MIME.comparison]: comparisonPayload,
  [VIEW_MIME.masks]: masksPayload,
  [VIEW_MIME.metrics]: metricsPayload,
  [VIEW_MIME.sweep]: sweepPayload,
};
export type ViewPayloadByMime = { [M in ViewMime]: v.InferOutput<(typeof SCHEMAS)[M]> };
export type ViewPayload = ViewPayloadByMime[ViewMime];

/**
 * Returns `data` typed as the payload of `mime`, or throws a UserError (path "<view> payload") that names the bad
 * field. Accepts the parsed object or its JSON text (what a notebook output item holds as bytes).
 */
export function validateViewPayload<M extends ViewMime>(mime: M, data: unknown): ViewPayloadByMime[M];
export function validateViewPayload(mime: string, data: unknown): ViewPayload;
export function validateViewPayload(mime: string, data: unknown): ViewPayload {
  const schema = Object.hasOwn(SCHEMAS, mime) ? SCHEMAS[mime as ViewMime] : undefined;
  if (!schema) {
    const shown = JSON.stringify(String(mime).slice(0, 80));
    throw userError('', `unknown view type ${shown}; expected one of ${VIEW_MIMES.join(', ')}`);
  }
  let x = data;
  if (typeof x === 'string') {
    if (x.length > 20_000_000) {
      throw userError(`${mime} payload`, `${x.length} characters of JSON is too large to draw`);
    }
    try {
      x = JSON.parse(x);
    } catch (e) {
      throw userError('', `${mime} payload is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const r = v.safeParse(schema, x, { abortEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  const what = mime.replace(/^application\/vnd\.tinymem\.|\+json$/g, '');
  throw userError(`${what} payload`, `${issuePath(issue) || 'the payload'} ${issue.message}`);
}
