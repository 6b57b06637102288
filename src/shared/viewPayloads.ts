// The payloads of the notebook output views: small, downsampled, plain JSON (numbers, strings, booleans, arrays,
// null; never NaN). The engine's builders (src/engine/report/) write them, the webview renderer (renderers/) and the
// HTML report draw them. A notebook file can be edited by hand, so the renderer treats every payload as untrusted and
// runs `validateViewPayload` before drawing: wrong version, wrong types or oversized arrays fail with a clear message.
import { HEATMAP_CLEAN, HEATMAP_MATCH, HEATMAP_NOISED, type HeatmapMode, type MetricUnit } from './metricTypes';

export const VIEW_PAYLOAD_VERSION = 1;

/** MIME type of each view's rich output item (the renderer "tinymem-views" draws all of them). */
export const VIEW_MIME = {
  heatmap: 'application/vnd.tinymem.heatmap+json',
  heatmapPair: 'application/vnd.tinymem.heatmap-pair+json',
  curves: 'application/vnd.tinymem.curves+json',
  comparison: 'application/vnd.tinymem.comparison+json',
  masks: 'application/vnd.tinymem.masks+json',
  metrics: 'application/vnd.tinymem.metrics+json',
} as const;
export type ViewMime = (typeof VIEW_MIME)[keyof typeof VIEW_MIME];
export const VIEW_MIMES: readonly ViewMime[] = Object.values(VIEW_MIME);

/** One cell output: the rich item (`mime` + `payload`) and its text/markdown fallback. */
export interface ViewOutput {
  mime: string;
  payload: unknown;
  markdown: string;
}

// ---- memorization heatmap -----------------------------------------------------------------------------------------

/** One sequence of the heatmap. Token arrays hold ids; `HeatmapData.tokenText` says how to show each id. */
export interface HeatmapViewRow {
  /** Index into the evaluated source matrix (artifact set or poisoned test set). */
  row: number;
  dupClass: number;
  memorized: boolean;
  cleanCorrect: boolean;
  /** The last tokens of the prompt (at most `HeatmapData.promptTail`), for the hover text. */
  prompt: number[];
  target: number[];
  clean: number[];
  generated: number[];
  /** Per compared position: HEATMAP_MATCH (1) | HEATMAP_NOISED (2) | HEATMAP_CLEAN (4) bits (metricTypes.ts). */
  flags: number[];
}

export interface HeatmapData {
  mode: HeatmapMode;
  tokenizer: 'math' | 'gpt2';
  /** Compared positions per row (columns). */
  k: number;
  /** Evaluated rows in total; `rows` shows at most a cap of them, spread evenly. */
  evaluatedRows: number;
  truncated: boolean;
  /** Repetition factor of each duplication class (index = dupClass). */
  dupFactors: number[];
  /** Display text of every token id used in the rows: [id, text] pairs. */
  tokenText: [number, string][];
  rows: HeatmapViewRow[];
}

export interface HeatmapViewPayload extends HeatmapData {
  version: 1;
  title: string;
}

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
  mode === 'backdoor' ? BACKDOOR_CATEGORY_LABEL : mode === 'sequences' ? SEQUENCES_CATEGORY_LABEL : HEATMAP_CATEGORY_LABEL;

/** What the rows of a heatmap are, in words. */
export const heatmapRowNoun = (mode: HeatmapMode): string =>
  mode === 'noise' ? 'noised sequences' : mode === 'backdoor' ? 'poisoned test sequences' : 'sequences of the memorized-sequence set';

/**
 * At a noised position (artifact ≠ clean) the model either reproduced the artifact token (memorized) or not; at a
 * clean position it either generated the clean token or something else.
 */
export function heatmapCategory(flags: number): HeatmapCategory {
  if (flags & HEATMAP_NOISED) return flags & HEATMAP_MATCH ? 'memorized' : 'not-reproduced';
  return flags & HEATMAP_CLEAN ? 'clean' : 'mismatch';
}

/** The same rows before and after an edit, drawn side by side with one colour scale. */
export interface HeatmapPairViewPayload {
  version: 1;
  title: string;
  beforeLabel: string;
  afterLabel: string;
  before: HeatmapData;
  after: HeatmapData;
}

// ---- training curves ----------------------------------------------------------------------------------------------

export interface CurvePoint {
  epoch: number;
  /** Mean training loss (nats). */
  loss?: number | null;
  /** Percent. */
  accuracy?: number | null;
  /** Percent memorized. */
  memorization?: number | null;
  perplexity?: number | null;
}

export interface CurvesViewPayload {
  version: 1;
  title: string;
  points: CurvePoint[];
}

// ---- method comparison --------------------------------------------------------------------------------------------

export interface ComparisonViewRow {
  method: string;
  name: string;
  family: string;
  /** Hyper-parameters as one line of text ("ratio=0.01, epochs=10"). */
  hyperParams: string;
  seconds: number;
  memBefore: number | null;
  memAfter: number | null;
  utilityBefore: number | null;
  utilityAfter: number | null;
  memChangePct: number | null;
  utilityChangePct: number | null;
  score: number | null;
  selected: boolean;
  error: string | null;
}

export interface ComparisonViewPayload {
  version: 1;
  title: string;
  utility: 'accuracy' | 'perplexity';
  rows: ComparisonViewRow[];
}

// ---- weight masks -------------------------------------------------------------------------------------------------

/** What one masked tensor lost. */
export interface MaskTensorSummary {
  name: string;
  /** Transformer block index; null for tensors outside the blocks (embeddings, final LayerNorm). */
  layer: number | null;
  /** The tensor's name inside its block, e.g. `mlp.c_fc.weight`. */
  matrix: string;
  shape: number[];
  pruned: number;
  total: number;
}

/**
 * A 2-D mask downsampled on the host to at most 64×64 blocks. Block (i, j) covers rows rowEdges[i]..rowEdges[i+1]-1
 * and columns colEdges[j]..colEdges[j+1]-1; `pruned` holds integer counts (row-major), so the overall fraction
 * sum(pruned) / (rows·cols) is exact.
 */
export interface MaskBlockGrid {
  name: string;
  layer: number | null;
  matrix: string;
  rows: number;
  cols: number;
  rowEdges: number[];
  colEdges: number[];
  pruned: number[];
}

/** Neuron methods: which MLP neurons of a layer were ablated, as counts per bin of adjacent neurons. */
export interface NeuronStrip {
  layer: number;
  /** Neurons in the layer. */
  width: number;
  ablated: number;
  binSize: number;
  bins: number[];
}

export interface MasksViewPayload {
  version: 1;
  title: string;
  method: string;
  family: string;
  utility: 'accuracy' | 'perplexity' | null;
  memBefore: number | null;
  memAfter: number | null;
  utilityBefore: number | null;
  utilityAfter: number | null;
  tensors: MaskTensorSummary[];
  matrices: MaskBlockGrid[];
  neurons: NeuronStrip[];
}

// ---- headline metrics ---------------------------------------------------------------------------------------------

export interface MetricsViewRow {
  id: string;
  label: string;
  value: number | null;
  unit: MetricUnit;
  description: string;
  headline: boolean;
}

export interface MetricsViewPayload {
  version: 1;
  title: string;
  /** TinyMem data, or `sequences`: a user's memorized-sequence set and text. */
  dataset: 'math' | 'language' | 'sequences';
  /** TinyMem data only. */
  artifact?: 'noise' | 'backdoor';
  provider: string;
  seconds: number;
  metrics: MetricsViewRow[];
  /** Memorization per duplication class (empty without duplication). */
  byClass: { dupClass: number; factor: number; kept: number; memorized: number; percentMemorized: number | null }[];
}

export type ViewPayload =
  | HeatmapViewPayload
  | HeatmapPairViewPayload
  | CurvesViewPayload
  | ComparisonViewPayload
  | MasksViewPayload
  | MetricsViewPayload;

export interface ViewPayloadByMime {
  'application/vnd.tinymem.heatmap+json': HeatmapViewPayload;
  'application/vnd.tinymem.heatmap-pair+json': HeatmapPairViewPayload;
  'application/vnd.tinymem.curves+json': CurvesViewPayload;
  'application/vnd.tinymem.comparison+json': ComparisonViewPayload;
  'application/vnd.tinymem.masks+json': MasksViewPayload;
  'application/vnd.tinymem.metrics+json': MetricsViewPayload;
}

// ---- limits -------------------------------------------------------------------------------------------------------

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
} as const;

export { ViewPayloadError, validateViewPayload } from './viewPayloadValidation';
