// The renderer's chart specs, built from payloads that the real builders made from small synthetic engine results,
// compiled with vega-lite and rendered to SVG in Node (as the HTML report does). The assertions read the SVG: how
// many marks each chart drew, in which colour, with which text.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MASKS_BLOCK_BUDGET, blockSideFor } from '../src/engine/report/masksView';
import { HEATMAP_VIEW_ROWS, comparisonView, curvesView, heatmapPairView, heatmapView, maskBlockGrid, masksView,
  metricsView, tokenDisplay } from '../src/engine/report/index';
import { renderSpecSvg } from '../src/engine/report/svg';
import type { HeatmapRow } from '../src/shared/metricTypes';
import { type HeatmapViewPayload, type MasksViewPayload, type ViewOutput,
  validateViewPayload } from '../src/shared/viewPayloads';
import { DARK_THEME, LIGHT_THEME, type ChartTheme, specForPayload } from '../renderers/specs/index';
import { heatmapCells } from '../renderers/specs/heatmapSpec';
import { maskSummaryCells } from '../renderers/specs/masksSpec';
import { themeFromVars } from '../renderers/specs/themeFromVars';
import { HEAT_K, HEAT_ROWS, expectedCategory, sampleComparison, sampleEvaluation, sampleHeatmap, sampleNeuronMasks,
  sampleWeightMasks } from './helpers/viewSamples';

/** Validates the builder's payload (as the webview does) and renders its chart. */
async function svgOf(o: ViewOutput, theme: ChartTheme = LIGHT_THEME): Promise<string> {
  return renderSpecSvg(specForPayload(o.mime, validateViewPayload(o.mime, JSON.parse(JSON.stringify(o.payload))),
    theme));
}

/** The SVG elements drawn by every mark group named `<name>_marks` (facets repeat a group), in order. */
function marks(svg: string, name: string): string[] {
  const out: string[] = [];
  const group = new RegExp(`<g class="mark-\\w+ role-mark ${name}_marks"[^>]*>([\\s\\S]*?)</g>`, 'g');
  for (const m of svg.matchAll(group)) out.push(...(m[1]!.match(/<(path|text)\b[^>]*>/g) ?? []));
  return out;
}
/** Text content of the text marks of a group. */
function texts(svg: string, name: string): string[] {
  const group = new RegExp(`<g class="mark-text role-mark ${name}_marks"[^>]*>([\\s\\S]*?)</g>`, 'g');
  return [...svg.matchAll(group)].flatMap(
    (m) => [...m[1]!.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]!));
}
const fill = (el: string) => /\sfill="([^"]*)"/.exec(el)?.[1];

const byClassThenRow = (a: HeatmapRow, b: HeatmapRow) => a.dupClass - b.dupClass || a.row - b.row;

describe('heatmap spec', () => {
  it('draws one cell per (row, position), coloured by the flags, grouped by duplication class', async () => {
    const h = sampleHeatmap();
    const svg = await svgOf(heatmapView(h));
    const cells = marks(svg, 'cells');
    assert.equal(cells.length, HEAT_ROWS * HEAT_K);
    // Expected colours straight from the engine's flags, rows in the view's order (class, then row).
    const expected = [...h.rows].sort(byClassThenRow).flatMap(
      (r) => r.flags.map((f) => LIGHT_THEME.categories[expectedCategory(f) as keyof ChartTheme['categories']]));
    assert.deepEqual(cells.map(fill), expected);
    // The sample has all four kinds of cell.
    assert.equal(new Set(expected).size, 4);
    // Two duplication classes: two facet groups, headed by their repeat factors.
    assert.equal([...svg.matchAll(/role-mark cells_marks/g)].length, 2);
    assert.match(svg, />×1 \(class 0\)</);
    assert.match(svg, />×10 \(class 1\)</);
    // Memorized rows are marked in the row labels.
    assert.match(svg, />#0 ●</);
    assert.doesNotMatch(svg, />#4 ●</);
  });

  it('hover data carries the tokens as text (math: digits)', () => {
    const h = sampleHeatmap();
    const p = heatmapView(h).payload as HeatmapViewPayload;
    const cells = heatmapCells(p);
    const r0 = h.rows.find((r) => r.row === 0)!;
    const c = cells.find((x) => x.row === 0 && x.pos === 1)!;
    assert.equal(c.target, String(r0.target[1]));
    assert.equal(c.clean, String(r0.clean[1]));
    assert.equal(c.generated, String(r0.generated[1]));
    assert.equal(c.catLabel, 'memorized noise');
    assert.ok(c.prompt.endsWith(r0.prompt.slice(-4).join('')));
    // Backdoor runs name the same cells after the backdoor.
    assert.equal(heatmapCells({ ...p, mode: 'backdoor' }).find((x) => x.row === 0 && x.pos === 1)!.catLabel,
      'backdoor reproduced');
    // Token display: math symbols and GPT-2 BPE pieces with visible spaces.
    assert.deepEqual([10, 11, 12, 13].map((t) => tokenDisplay('math', t)), ['^', '$', '␣', 'PAD']);
    assert.equal(tokenDisplay('gpt2', 15496), 'Hello');
    assert.equal(tokenDisplay('gpt2', 995), '␣world');
  });

  it('caps the drawn rows and keeps the same rows before and after', async () => {
    const many = sampleHeatmap();
    const rows = Array.from({ length: 300 }, (_, i) => ({ ...many.rows[i % HEAT_ROWS]!, row: i, dupClass: i % 2 }));
    const big = { ...many, rows, evaluatedRows: 300 };
    const p = heatmapView(big).payload as HeatmapViewPayload;
    assert.equal(p.rows.length, HEATMAP_VIEW_ROWS);
    assert.equal(p.truncated, true);
    const pair = heatmapPairView(sampleHeatmap(), sampleHeatmap([0]));
    const svg = await svgOf(pair);
    const before = marks(svg, 'cells_before');
    const after = marks(svg, 'cells_after');
    assert.equal(before.length, HEAT_ROWS * HEAT_K);
    assert.equal(after.length, HEAT_ROWS * HEAT_K);
    const red = LIGHT_THEME.categories.memorized;
    // Rows 0–3 memorized all 3 noised positions before; after, only row 0 does (rows 8–11 copy one noised position).
    assert.equal(before.filter((e) => fill(e) === red).length, 4 * 3 + 4);
    assert.equal(after.filter((e) => fill(e) === red).length, 1 * 3 + 4);
  });

  it('dark theme: background and category colours follow the theme', async () => {
    const svg = await svgOf(heatmapView(sampleHeatmap()), DARK_THEME);
    assert.match(svg, new RegExp(`<rect width="\\d+" height="\\d+" fill="${DARK_THEME.background}"`));
    assert.ok(marks(svg, 'cells').every((e) => Object.values(DARK_THEME.categories).includes(fill(e)!)));
  });
});

describe('curves spec', () => {
  it('one line per metric present, with its points', async () => {
    const pts = [1, 2, 3,
      4].map((epoch) =>
      ({ epoch, loss: 3 / epoch, accuracy: 20 * epoch, memorization: epoch === 1 ? null : 10 * epoch }));
    const svg = await svgOf(curvesView(pts));
    // Three facets (loss, accuracy, memorization), no perplexity.
    assert.equal([...svg.matchAll(/role-mark curves_marks/g)].length, 3);
    for (const label of ['training loss', 'accuracy (%)', 'memorization (%)']) assert.match(svg,
      new RegExp(`>${label.replace(/[()]/g, '\\$&')}<`));
    assert.doesNotMatch(svg, />perplexity</);
    // The point layer: 4 + 4 + 3 points (epoch 1 has no memorization).
    assert.equal((svg.match(/aria-roledescription="point"/g) ?? []).length, 11);
    const empty = await svgOf(curvesView([]));
    assert.match(empty, /No epochs finished yet\./);
  });
});

describe('comparison spec', () => {
  it('scatter of the finished runs and a table listing every run', async () => {
    const r = sampleComparison();
    const svg = await svgOf(comparisonView(r));
    const points = marks(svg, 'points');
    assert.equal(points.length, 3, 'the failed run has no point');
    // Filled = best setting of its method (2 of the 3 points).
    assert.equal(points.filter((p) => fill(p) !== undefined && fill(p) !== 'transparent').length, 2);
    // Point area follows the run time: 12.5 s > 5 s > 4 s (rows 0, 2, 1).
    const radius = points.map((p) => Number(/d="M([\d.]+),0/.exec(p)![1]));
    assert.ok(radius[0]! > radius[2]! && radius[2]! > radius[1]!, `radii ${radius}`);
    const names = texts(svg, 'table_name');
    assert.equal(names.length, r.rows.length);
    for (const row of r.rows) assert.ok(names.some((n) => n.startsWith(row.name.slice(0, 12).replace(/</g, '&lt;'))),
      row.name);
    // Payload text is escaped in the SVG, never markup.
    assert.doesNotMatch(svg, /<script/i);
    assert.match(svg, /GradientAscent &lt;script&gt;/);
    assert.ok(texts(svg, 'table_note').some((t) => t.startsWith('error: diverged: &lt;b&gt;')));
    assert.deepEqual(texts(svg, 'table_memChange'), ['-95.0%', '-75.0%', '-50.0%', '—']);
  });
});

describe('masks spec', () => {
  it('pruned fractions per tensor equal hand-computed values', async () => {
    const o = masksView({ ...sampleWeightMasks(), method: 'balanced-subnet', family: 'weight', memBefore: 40,
      memAfter: 2 });
    const p = o.payload as MasksViewPayload;
    assert.deepEqual(maskSummaryCells(p).map((c) => [c.layer, c.matrix, c.fraction]), [
      ['layer 0', 'attn.c_attn.weight', 3 / 24],
      ['layer 0', 'attn.c_attn.bias', 0],
      ['layer 1', 'mlp.c_proj.weight', 12 / 24],
    ]);
    const svg = await svgOf(o);
    assert.equal(marks(svg, 'summary').length, 3);
    assert.match(svg, />12\.5%</);
    assert.match(svg, />50\.0%</);
    // Small matrices keep one block per entry: the 4×6 grid shows exactly the pruned entries 0, 7 and 23.
    assert.deepEqual(p.matrices.map((m) => m.name),
      ['transformer.h.0.attn.c_attn.weight', 'transformer.h.1.mlp.c_proj.weight']);
    const g = p.matrices[0]!;
    assert.deepEqual([g.rowEdges, g.colEdges], [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6]]);
    assert.deepEqual(g.pruned.flatMap((n, i) => (n ? [i] : [])), [0, 7, 23]);
    assert.equal(marks(svg, 'blocks_0').length, 24);
    assert.equal(marks(svg, 'blocks_1').length, 24);
    assert.match(o.markdown, /15 of 54 masked entries/);
  });

  it('downsampling a 300×500 mask to ≤64×64 blocks keeps the pruned count exactly', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const mask = new Uint8Array(300 * 500).map(() => (rand() < 0.137 ? 0 : 1));
    const zeros = mask.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);
    const g = maskBlockGrid('transformer.h.2.mlp.c_fc.weight', mask, 300, 500);
    assert.equal(g.rowEdges.length - 1, 64);
    assert.equal(g.colEdges.length - 1, 64);
    assert.equal(g.pruned.reduce((a, b) => a + b, 0), zeros);
    assert.equal(g.pruned.reduce((a, b) => a + b, 0) / (300 * 500), zeros / (300 * 500));
    // Each block's count matches a direct count over its bounds (spot-check a few blocks).
    for (const [bi, bj] of [[0, 0], [17, 40], [63, 63]] as const) {
      let n = 0;
      for (let r = g.rowEdges[bi]!; r < g.rowEdges[bi + 1]!; r++) for (let c = g.colEdges[bj]!;
        c < g.colEdges[bj + 1]!; c++) n += mask[r * 500 + c] === 0 ? 1 : 0;
      assert.equal(g.pruned[bi * 64 + bj], n, `block ${bi},${bj}`);
    }
    assert.equal(g.layer, 2);
    assert.equal(g.matrix, 'mlp.c_fc.weight');
    // The payload holding it validates.
    const v = masksView(
      { masks: new Map([['transformer.h.2.mlp.c_fc.weight', mask]]),
        shapes: { 'transformer.h.2.mlp.c_fc.weight': [300, 500] }, method: 'm', family: 'weight' });
    assert.doesNotThrow(() => validateViewPayload(v.mime, v.payload));
  });

  it('many pruned matrices share a block budget, so the payload stays small', () => {
    assert.deepEqual([1, 2, 4, 16, 32].map(blockSideFor), [64, 64, 45, 22, 16]);
    const masks = new Map<string, Uint8Array>();
    const shapes: Record<string, number[]> = {};
    for (let l = 0; l < 4; l++) {
      for (const m of ['attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight']) {
        const name = `transformer.h.${l}.${m}`;
        const mask = new Uint8Array(100 * 120).fill(1);
        mask[l * 7] = 0;
        masks.set(name, mask);
        shapes[name] = [100, 120];
      }
    }
    const p = masksView({ masks, shapes, method: 'm', family: 'weight' }).payload as MasksViewPayload;
    assert.equal(p.matrices.length, 16);
    assert.ok(p.matrices.every((g) => g.rowEdges.length === 23 && g.colEdges.length === 23));
    assert.ok(p.matrices.reduce((s, g) => s + g.pruned.length, 0) <= MASKS_BLOCK_BUDGET);
    assert.ok(p.matrices.every((g) => g.pruned.reduce((a, b) => a + b, 0) === 1));
  });

  it('neuron methods: one strip per layer marking the ablated neurons, no matrix views', async () => {
    const o = masksView({ ...sampleNeuronMasks(), method: 'hard-concrete', family: 'neuron' });
    const p = o.payload as MasksViewPayload;
    assert.equal(p.matrices.length, 0);
    assert.deepEqual(p.neurons.map((s) => [s.layer, s.width, s.ablated, s.binSize, s.bins]), [
      [0, 8, 2, 1, [0, 1, 0, 0, 0, 1, 0, 0]],
      [1, 8, 0, 1, [0, 0, 0, 0, 0, 0, 0, 0]],
    ]);
    const svg = await svgOf(o);
    const strips = marks(svg, 'neurons');
    assert.equal(strips.length, 16);
    assert.equal(new Set(strips.map(fill)).size, 2, 'ablated and kept neurons differ in colour');
  });
});

describe('metrics spec', () => {
  it('lists the headline metrics and memorization per duplication class', async () => {
    const svg = await svgOf(metricsView(sampleEvaluation()));
    assert.deepEqual(texts(svg, 'table_label'), ['Memorization', 'Accuracy', 'Test perplexity']);
    assert.deepEqual(texts(svg, 'table_value'), ['33.33%', '91.25%', '1.234']);
    assert.equal(marks(svg, 'byClass').length, 2);
  });
});

describe('theme from VS Code variables', () => {
  it('takes colours and fonts from the variables and ignores values that are not colours', () => {
    const vars: Record<string, string> = {
      '--vscode-editor-foreground': '#abcdef',
      '--vscode-editor-background': 'red; } body { background: url(x)',
      '--vscode-font-family': '"Fira Sans", sans-serif',
      '--vscode-font-size': '14px',
    };
    const t = themeFromVars((n) => vars[n], 'vscode-dark');
    assert.equal(t.dark, true);
    assert.equal(t.foreground, '#abcdef');
    assert.equal(t.background, DARK_THEME.background);
    assert.equal(t.font, '"Fira Sans", sans-serif');
    assert.equal(t.fontSize, 14);
    assert.equal(themeFromVars(() => undefined, 'vscode-light').background, LIGHT_THEME.background);
    assert.equal(themeFromVars(() => undefined, 'vscode-high-contrast-light').dark, false);
  });
});

describe('renderer boundaries', () => {
  it('renderers/ imports neither the engine, nor vscode, nor Node modules', () => {
    const dir = path.join(__dirname, '..', 'renderers');
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const m of src.matchAll(/\bfrom\s+'([^']+)'|import\('([^']+)'\)/g)) {
        const spec = m[1] ?? m[2]!;
        assert.ok(!/src\/engine|^vscode$|^node:|^fs$|^path$/.test(spec), `${f} imports ${spec}`);
        if (f.startsWith('specs')) assert.ok(!/^vega/.test(spec), `${f}: specs stay free of vega (pure JSON builders)`);
      }
    }
  });
});
