// Small synthetic engine results for the view tests, built through the engine's own code (scoreMemorization,
// buildHeatmap) and then the real view builders, so the tests exercise the payloads the notebook will carry.
import { HEATMAP_CLEAN, HEATMAP_MATCH, HEATMAP_NOISED, type EvaluationResult, type HeatmapPayload,
  type MetricValue } from '../../src/shared/metricTypes';
import { tokenMatrix } from '../../src/engine/data/tokenMatrix';
import { buildHeatmap } from '../../src/engine/metrics/heatmap';
import { scoreMemorization } from '../../src/engine/metrics/memorization';
import type { CompareResult } from '../../src/engine/runs/compareRun';

export const HEAT_ROWS = 12;
export const HEAT_K = 8;
export const HEAT_PROMPT = 6;

/**
 * 12 math rows, two duplication classes (×1, ×10). Every continuation position 1, 4 and 6 is noised. Rows 0–3 repeat
 * the noised continuation (memorized), rows 4–7 the clean one, rows 8–11 copy the noise at position 1 only and write
 * a wrong digit at position 2. `memorizedRows` lets the "after" heatmap forget some rows.
 */
export function sampleHeatmap(memorizedRows = [0, 1, 2, 3]): HeatmapPayload {
  const cols = HEAT_PROMPT + HEAT_K;
  const tokens = tokenMatrix(HEAT_ROWS, cols);
  const clean = tokenMatrix(HEAT_ROWS, cols);
  const generated: number[][] = [];
  for (let r = 0; r < HEAT_ROWS; r++) {
    for (let c = 0; c < cols; c++) {
      const v = (r * 7 + c * 3) % 10;
      clean.data[r * cols + c] = v;
      const noised = c >= HEAT_PROMPT && [1, 4, 6].includes(c - HEAT_PROMPT);
      tokens.data[r * cols + c] = noised ? (v + 5) % 10 : v;
    }
    const target = Array.from(tokens.data.subarray(r * cols + HEAT_PROMPT, (r + 1) * cols));
    const cleanCont = Array.from(clean.data.subarray(r * cols + HEAT_PROMPT, (r + 1) * cols));
    if (memorizedRows.includes(r)) generated.push(target);
    else if (r < 8) generated.push(cleanCont);
    else generated.push(cleanCont.map((t, i) => (i === 1 ? target[1]! : i === 2 ? (t + 1) % 10 : t)));
  }
  const input = {
    mode: 'noise' as const,
    tokens,
    clean,
    promptLength: HEAT_PROMPT,
    k: HEAT_K,
    keep: new Uint8Array(HEAT_ROWS).fill(1),
    generated,
    dupClass: Array.from({ length: HEAT_ROWS }, (_, r) => (r % 2 === 0 ? 0 : 1)),
    dupFactors: [1, 10],
  };
  return buildHeatmap(input, scoreMemorization(input), { tokenizer: 'math' });
}

/** The category a flag value must be drawn as, written out from the flag bits (independent of the code under test). */
export function expectedCategory(flags: number): string {
  const noised = (flags & HEATMAP_NOISED) !== 0;
  if (noised) return (flags & HEATMAP_MATCH) !== 0 ? 'memorized' : 'not-reproduced';
  return (flags & HEATMAP_CLEAN) !== 0 ? 'clean' : 'mismatch';
}

const metric = (id: string, label: string, value: number | null, unit: MetricValue['unit'],
  headline: boolean): MetricValue => ({ id, label, value, unit, headline, description: `${label}, one line` });

export function sampleEvaluation(heatmap: HeatmapPayload = sampleHeatmap()): EvaluationResult {
  return {
    dataset: 'math',
    artifact: 'noise',
    provider: 'cpu',
    metrics: [
      metric('memorization', 'Memorization', 33.333, 'percent', true),
      metric('accuracy.paper', 'Accuracy', 91.25, 'percent', true),
      metric('perplexity.test', 'Test perplexity', 1.234, 'perplexity', true),
      metric('memorization.rows', 'Memorized rows', 4, 'count', false),
    ],
    memorization: {
      mode: 'noise',
      source: 'artifacts',
      promptLength: HEAT_PROMPT,
      k: HEAT_K,
      filterWindow: null,
      percentMemorized: 33.333,
      percentCleanCorrect: 33.333,
      pooled: { rows: 12, kept: 12, memorized: 4, cleanCorrect: 4, percentMemorized: 33.333,
        percentCleanCorrect: 33.333 },
      byClass: [
        { dupClass: 0, factor: 1, rows: 6, kept: 6, memorized: 2, cleanCorrect: 2, percentMemorized: 33.333,
          percentCleanCorrect: 33.333 },
        { dupClass: 1, factor: 10, rows: 6, kept: 6, memorized: 2, cleanCorrect: 2, percentMemorized: 33.333,
          percentCleanCorrect: 33.333 },
      ],
      forgetSet: [0, 1, 2, 3],
      unmatchableToken: null,
    },
    accuracy: null,
    perplexity: null,
    heatmap,
    seconds: 1.5,
  };
}

/** Three methods, one with two settings, one failed; the failed one carries markup in its error and name. */
export function sampleComparison(): CompareResult {
  const row = (method: string, name: string, family: string, memAfter: number | null, accAfter: number | null,
    seconds: number, selected: boolean, error?: string) => {
    const memChangePct = memAfter === null ? null : (100 * (memAfter - 40)) / 40;
    const utilityChangePct = accAfter === null ? null : (100 * (accAfter - 90)) / 90;
    return {
      method, name, family, hyperParams: { ratio: 0.01 }, seconds, memBefore: 40, memAfter, utilityBefore: 90,
      utilityAfter: accAfter,
      memChangePct, utilityChangePct, score: memChangePct === null || utilityChangePct === null ? null
      : memChangePct / 100 - utilityChangePct / 100, selected, ...(error ? { error } : {}),
    };
  };
  return {
    utility: 'accuracy',
    rows: [
      row('balanced-subnet', 'BalancedSubnet', 'weight', 2, 89, 12.5, true),
      row('hard-concrete', 'HardConcrete', 'neuron', 10, 85, 4, true),
      row('hard-concrete', 'HardConcrete', 'neuron', 20, 88, 5, false),
      row('gradient-ascent', 'GradientAscent <script>alert(1)</script>', 'baseline', null, null, 0, false,
        'diverged: <b>NaN</b> loss'),
    ],
  };
}

/** A 4×6 weight mask with hand-countable pruning: entries 0, 7 and 23 pruned (3 of 24), and an untouched bias. */
export function sampleWeightMasks(): { masks: Map<string, Uint8Array>; shapes: Record<string, number[]> } {
  const w = new Uint8Array(24).fill(1);
  w[0] = 0;
  w[7] = 0;
  w[23] = 0;
  const b = new Uint8Array(6).fill(1);
  const p = new Uint8Array(6 * 4).fill(1);
  for (let i = 0; i < 12; i++) p[i] = 0; // half of the second matrix
  return {
    masks: new Map([
      ['transformer.h.0.attn.c_attn.weight', w],
      ['transformer.h.0.attn.c_attn.bias', b],
      ['transformer.h.1.mlp.c_proj.weight', p],
    ]),
    shapes: { 'transformer.h.0.attn.c_attn.weight': [4, 6], 'transformer.h.0.attn.c_attn.bias': [6],
      'transformer.h.1.mlp.c_proj.weight': [6, 4] },
  };
}

/** Neuron ablation masks of a 2-layer model with 8 inner neurons: layer 0 loses neurons 1 and 5, layer 1 none. */
export function sampleNeuronMasks(): { masks: Map<string, Uint8Array>; shapes: Record<string, number[]> } {
  const C = 3;
  const inner = 8;
  const masks = new Map<string, Uint8Array>();
  const shapes: Record<string, number[]> = {};
  for (const [l, ablated] of [[0, [1, 5]], [1, []]] as const) {
    const w = new Uint8Array(C * inner).fill(1);
    const b = new Uint8Array(inner).fill(1);
    for (const i of ablated) {
      b[i] = 0;
      for (let r = 0; r < C; r++) w[r * inner + i] = 0;
    }
    masks.set(`transformer.h.${l}.mlp.c_fc.weight`, w);
    masks.set(`transformer.h.${l}.mlp.c_fc.bias`, b);
    shapes[`transformer.h.${l}.mlp.c_fc.weight`] = [C, inner];
    shapes[`transformer.h.${l}.mlp.c_fc.bias`] = [inner];
  }
  return { masks, shapes };
}
