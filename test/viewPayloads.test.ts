// validateViewPayload: what the real builders write passes; broken, hostile or oversized payloads fail with an
// error that names the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparisonView, curvesView, heatmapPairView, heatmapView, masksView,
  metricsView } from '../src/engine/report/index';
import { UserError } from '../src/shared/userError';
import { type ComparisonViewPayload, type CurvesViewPayload, type HeatmapPairViewPayload, type HeatmapViewPayload,
  type MasksViewPayload, type MetricsViewPayload, VIEW_LIMITS, VIEW_MIME, type ViewOutput,
  validateViewPayload } from '../src/shared/viewPayloads';
import { sweepReport } from '../src/engine/sweep/report';
import { ROWS } from './helpers/sweepRows';
import { sampleComparison, sampleEvaluation, sampleHeatmap, sampleWeightMasks } from './helpers/viewSamples';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function outputs(): ViewOutput[] {
  return [
    heatmapView(sampleHeatmap()),
    heatmapPairView(sampleHeatmap(), sampleHeatmap([0])),
    curvesView([{ epoch: 1, loss: 2, accuracy: 10 }, { epoch: 2, loss: Number.NaN, memorization: 5 }]),
    comparisonView(sampleComparison()),
    masksView({ ...sampleWeightMasks(), method: 'balanced-subnet', family: 'weight' }),
    metricsView(sampleEvaluation()),
    sweepReport(ROWS, [], { name: 'tiny', jobs: { total: 10, done: 9, failed: 1 } }),
  ];
}

/** Expects a UserError whose message matches every pattern. */
function rejects(mime: string, data: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => validateViewPayload(mime, data),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

describe('validateViewPayload', () => {
  it('accepts every builder output, as an object and as JSON text (after a JSON round trip)', () => {
    const outs = outputs();
    assert.deepEqual(outs.map((o) => o.mime).sort(), Object.values(VIEW_MIME).sort());
    for (const o of outs) {
      assert.equal(validateViewPayload(o.mime, clone(o.payload)).version, 1);
      assert.doesNotThrow(() => validateViewPayload(o.mime, JSON.stringify(o.payload)), o.mime);
      assert.ok(o.markdown.length > 0);
    }
  });

  it('builders never emit NaN: a NaN loss becomes null', () => {
    const p = curvesView([{ epoch: 1, loss: Number.NaN }]).payload as CurvesViewPayload;
    assert.equal(p.points[0].loss, null);
  });

  it('rejects unknown MIME types, non-objects, bad JSON and the wrong version', () => {
    rejects('application/vnd.tinymem.nope+json', {}, /unknown view type/, /heatmap\+json/);
    rejects(VIEW_MIME.metrics, null, /the payload must be an object, got null/);
    rejects(VIEW_MIME.metrics, [1, 2], /must be an object, got an array of 2/);
    rejects(VIEW_MIME.metrics, '{"version":', /not valid JSON/);
    const p = clone(metricsView(sampleEvaluation()).payload) as MetricsViewPayload;
    rejects(VIEW_MIME.metrics, { ...p, version: 2 }, /metrics payload: version must be 1, got 2/);
    rejects(VIEW_MIME.metrics, { ...p, version: undefined }, /version must be 1/);
    rejects(VIEW_MIME.metrics, { ...p, title: 5 }, /title must be a string, got 5/);
  });

  it('heatmap: names the bad row and field', () => {
    const base = clone(heatmapView(sampleHeatmap()).payload) as HeatmapViewPayload;
    const bad = (f: (p: typeof base) => void) => {
      const p = clone(base);
      f(p);
      return p;
    };
    rejects(VIEW_MIME.heatmap, bad((p) => (p.rows[3].flags[2] = 9)),
      /heatmap payload: rows\[3\]\.flags\[2\] must be an integer in \[0, 7\], got 9/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.rows[1].generated = p.rows[1].generated.slice(1))),
      /rows\[1\]\.generated must have as many entries as flags \(8\)/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.rows[0].target[0] = 'x' as never)),
      /rows\[0\]\.target\[0\] must be an integer/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.tokenizer = 'bpe' as never)),
      /tokenizer must be one of "math", "gpt2", got "bpe"/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.tokenText[0] = [0] as never)),
      /tokenText\[0\] must be an \[id, text\] pair/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.tokenText[0][1] = 'x'.repeat(VIEW_LIMITS.tokenText + 1))),
      /tokenText\[0\]\[1\] is 201 characters long/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.k = 4)), /rows\[0\]\.flags has 8 entries, more than the limit of 4/);
    rejects(VIEW_MIME.heatmap, bad((p) => (p.evaluatedRows = Number.NaN)), /evaluatedRows must be an integer/);
    rejects(VIEW_MIME.heatmap,
      bad((p) => (p.rows = Array.from({ length: VIEW_LIMITS.heatmapRows + 1 }, () => p.rows[0]))),
      /rows has 501 entries, more than the limit of 500/);
    // 400 rows × 300 positions stays under the row and k limits but exceeds the cell budget.
    const wide = { ...base, k: 300,
      rows: Array.from({ length: 400 },
        () => ({ ...base.rows[0], target: Array(300).fill(1), clean: Array(300).fill(1), generated: Array(300).fill(1),
          flags: Array(300).fill(0) })) };
    rejects(VIEW_MIME.heatmap, wide, /rows hold more than 100000 cells/);
  });

  it('heatmap-pair: checks both sides', () => {
    const p = clone(heatmapPairView(sampleHeatmap(), sampleHeatmap()).payload) as HeatmapPairViewPayload;
    p.after.rows[2].memorized = 'yes' as never;
    rejects(VIEW_MIME.heatmapPair, p,
      /heatmap-pair payload: after\.rows\[2\]\.memorized must be true or false, got "yes"/);
  });

  it('curves, comparison and metrics: types of every field', () => {
    rejects(VIEW_MIME.curves, { version: 1, title: 't', points: [{ epoch: 1, loss: 'low' }] },
      /points\[0\]\.loss must be a finite number, got "low"/);
    rejects(VIEW_MIME.curves, { version: 1, title: 't', points: {} }, /points must be an array/);
    const c = clone(comparisonView(sampleComparison()).payload) as ComparisonViewPayload;
    c.rows[1].seconds = -1;
    rejects(VIEW_MIME.comparison, c, /rows\[1\]\.seconds must lie in \[0, Infinity\], got -1/);
    const m = clone(metricsView(sampleEvaluation()).payload) as MetricsViewPayload;
    m.metrics[0].unit = 'furlongs' as never;
    rejects(VIEW_MIME.metrics, m, /metrics\[0\]\.unit must be one of "percent", "perplexity", "count"/);
  });

  it('masks: block counts, edges and neuron bins must be consistent', () => {
    const base = clone(masksView({ ...sampleWeightMasks(), method: 'm', family: 'weight' }).payload) as
      MasksViewPayload;
    const bad = (f: (p: typeof base) => void) => {
      const p = clone(base);
      f(p);
      return p;
    };
    rejects(VIEW_MIME.masks, bad((p) => (p.matrices[0].pruned[0] = 2)),
      /matrices\[0\]\.pruned\[0\] counts 2 pruned entries in a block of 1/);
    rejects(VIEW_MIME.masks, bad((p) => (p.matrices[0].rowEdges = [0, 2, 2, 3, 4])),
      /rowEdges must be strictly increasing/);
    rejects(VIEW_MIME.masks, bad((p) => (p.matrices[0].colEdges = [0, 1, 2])), /colEdges must run from 0 to 6/);
    rejects(VIEW_MIME.masks, bad((p) => p.matrices[0].pruned.pop()), /pruned must hold 24 block counts, got 23/);
    rejects(VIEW_MIME.masks, bad((p) => (p.tensors[0].pruned = p.tensors[0].total + 1)),
      /tensors\[0\]\.pruned must be an integer in \[0, 24\]/);
    rejects(VIEW_MIME.masks, bad((p) => (p.neurons = [{ layer: 0, width: 8, ablated: 1, binSize: 1, bins: [1] }])),
      /neurons\[0\]\.bins must hold 8 bins, got 1/);
    rejects(VIEW_MIME.masks, bad((p) => (p.utility = 'speed' as never)), /utility must be one of/);
  });
});
