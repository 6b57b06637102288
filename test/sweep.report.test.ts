// The sweep report on a synthetic sweep folder: report.html holds the figures (one point per finished run, the chosen
// runs filled; the by-size lines; the training curves) and the per-method table, whose numbers equal the selection
// computed by hand for the rows of test/helpers/sweepRows.ts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { CellProgress } from '../src/engine/notebook/context';
import { parseStep, stepOrThrow } from '../src/engine/notebook/parseStep';
import { runSweepStep } from '../src/engine/notebook/steps/sweep';
import { renderViewSvg } from '../src/engine/report/svg';
import { sweepReport, writeSweepReport } from '../src/engine/sweep/report';
import type { ExitRecord, TrainCurves } from '../src/shared/sweepTypes';
import { type SweepViewPayload, VIEW_LIMITS, VIEW_MIME, validateViewPayload } from '../src/shared/viewPayloads';
import { ROWS, sweepRow } from './helpers/sweepRows';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-sweep-report-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CURVES: TrainCurves = { job: 't0', preset: 'cpu-math-noise', seed: 0, regularizer: null,
  loss: [1, 2, 3, 4, 5].map((epoch) => ({ epoch, loss: 3 / epoch })),
  metrics: [{ epoch: 2, memorization: 20, utility: 50 }, { epoch: 5, memorization: 40, utility: 90 }] };

/** A second experiment (math backdoor): one run, so the report draws two sections whose marks must not clash. */
const BACKDOOR = [sweepRow({ job: 'b1', method: 'balanced-subnet', preset: 'cpu-math-backdoor', artifact: 'backdoor',
  memAfter: 0, utilityAfter: 85, memChangePct: -100, utilityChangePct: -5, seconds: 7 })];

function writeFolder(dir: string): void {
  const exit = (job: string, code: number): ExitRecord => ({ job, code, startedAt: '', finishedAt: '', seconds: 1,
    host: 'h', provider: 'cpu' });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'results.jsonl'), [...ROWS, ...BACKDOOR].map((r) => JSON.stringify(r))
    .join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ spec: { name: 'tiny' }, jobs: new Array(12) }));
  for (const [id, code] of [['t0', 0], ['r1', 0], ['r3', 1]] as const) {
    fs.mkdirSync(path.join(dir, 'jobs', id), { recursive: true });
    fs.writeFileSync(path.join(dir, 'jobs', id, 'exit.json'), JSON.stringify(exit(id, code)));
  }
  fs.writeFileSync(path.join(dir, 'jobs', 't0', 'curves.json'), JSON.stringify(CURVES));
}

/** Elements of every mark group named `<name>_marks`. */
function marks(svg: string, name: string): string[] {
  const group = new RegExp(`<g class="mark-\\w+ role-mark ${name}_marks"[^>]*>([\\s\\S]*?)</g>`, 'g');
  return [...svg.matchAll(group)].flatMap((m) => m[1]!.match(/<(path|text)\b[^>]*>/g) ?? []);
}
const texts = (svg: string, name: string) => marks(svg, name).length ? [...svg.matchAll(
  new RegExp(`<g class="mark-text role-mark ${name}_marks"[^>]*>([\\s\\S]*?)</g>`, 'g'))]
  .flatMap((m) => [...m[1]!.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]!)) : [];
const fill = (el: string) => /\sfill="([^"]*)"/.exec(el)?.[1];

describe('sweep report', () => {
  it('writes report.html with the figures and the table of the hand-computed selection', async () => {
    const dir = path.join(tmp, 'sweep');
    writeFolder(dir);
    const file = await writeSweepReport(dir);
    assert.equal(file, path.join(dir, 'report.html'));
    const html = fs.readFileSync(file, 'utf8');
    assert.match(html, /<title>Sweep tiny<\/title>/);
    assert.match(html, /2 of 12 jobs done, 1 failed · 8 runs/);
    assert.doesNotMatch(html, /Chart not drawn/);
    // (a) one point per finished run: r1 r2 r4 r5 r6 g1 g3 (r3 failed, g2 has no memorization, base0 is no method);
    // the five chosen runs (r1 r4 r6 g1 g3) filled.
    const points = marks(html, 'runs_math_noise');
    assert.equal(points.length, 7);
    const filled = points.filter((p) => fill(p) !== undefined && fill(p) !== 'transparent');
    assert.equal(filled.length, 5);
    // Filled in the method's colour: the same as the outline.
    assert.ok(filled.every((p) => fill(p) === /\sstroke="([^"]*)"/.exec(p)?.[1]));
    // (b) by size: balanced-subnet at 2 and 4 layers (one line), greedy at 2 layers.
    assert.ok(marks(html, 'by_layers_math_noise').length >= 2);
    // (c) the training curves: one facet per metric for the one preset.
    assert.equal([...html.matchAll(/role-mark train_curves_marks/g)].length, 2);
    // The table in the chart and as HTML: balanced-subnet over 3 models, mean memorization (0 + 2 + 5) / 3,
    // accuracy (81 + 80 + 95) / 3, Δ (−10 + 0 + 0) / 3, median 0, time (10 + 20 + 30) / 3; greedy over 2 models:
    // (20 + 0) / 2, (87.3 + 76) / 2, (−3 − 5) / 2. The paper: 0.00 / 96.75 / −0.10 and 0.84 / 87.90 / −9.23.
    assert.deepEqual(texts(html, 'table_math_noise_method'), ['balanced-subnet', 'greedy']);
    assert.deepEqual(texts(html, 'table_math_noise_mem'), ['2.33%', '10.00%']);
    assert.deepEqual(texts(html, 'table_math_noise_utility'), ['85.33%', '81.65%']);
    assert.deepEqual(texts(html, 'table_math_noise_change'), ['-3.33%', '-4.00%']);
    assert.deepEqual(texts(html, 'table_math_noise_median'), ['0.00%', '-4.00%']);
    assert.deepEqual(texts(html, 'table_math_noise_paperMem'), ['0.00%', '0.84%']);
    assert.deepEqual(texts(html, 'table_math_noise_rank'), ['1 / 1', '2 / 2']);
    const cells = (m: string) => [...html.matchAll(new RegExp(`<tr>\\s*<td>${m}</td>([\\s\\S]*?)</tr>`, 'g'))]
      .map((x) => [...x[1]!.matchAll(/<td>([^<]*)<\/td>/g)].map((c) => c[1]));
    // The backdoor section (first, by name) has its own points and table: one run, the paper's 0.00 / 95.21 / −0.34.
    assert.equal(marks(html, 'runs_math_backdoor').length, 1);
    assert.deepEqual(texts(html, 'table_math_backdoor_utility'), ['85.00%']);
    assert.deepEqual(cells('balanced-subnet'), [['1', '0.00%', '85.00', '-5.00%', '-5.00%', '7.0 s', '0.00%', '95.21',
      '-0.34%', '1 / 1', ''], ['3', '2.33%', '85.33', '-3.33%', '0.00%', '20.0 s', '0.00%', '96.75',
      '-0.10%', '1 / 1', '']]);
    assert.deepEqual(cells('greedy'), [['2', '10.00%', '81.65', '-4.00%', '-4.00%', '5.0 s', '0.84%', '87.90',
      '-9.23%', '2 / 2', '']]);
    assert.match(html, /rank correlation ρ = 1\.00/);
    await assert.rejects(writeSweepReport(path.join(tmp, 'nothing')), /is not a sweep folder/);
  });

  it('builds a valid payload: chosen runs kept when the others are thinned, curves merged by epoch', () => {
    const many = Array.from({ length: VIEW_LIMITS.sweepRuns + 500 }, (_, i) => sweepRow({ job: `x${i}`,
      method: 'subnet', memAfter: 30, utilityAfter: 90, memChangePct: -25, utilityChangePct: 0 }));
    // A row that was not run (nothing memorized) is no point.
    const skipped = sweepRow({ job: 'n', method: 'subnet', memBefore: 0, memAfter: 0, utilityAfter: 90,
      note: 'nothing memorized at this checkpoint: the method was not run' });
    const o = sweepReport([...ROWS, ...many, skipped], [CURVES],
      { name: 'big', jobs: { total: 1, done: 1, failed: 0 } });
    const p = validateViewPayload(VIEW_MIME.sweep, JSON.parse(JSON.stringify(o.payload))) as SweepViewPayload;
    assert.equal(p.measured, 7 + many.length);
    assert.equal(p.runs.length, VIEW_LIMITS.sweepRuns);
    // Every chosen run is there: five from ROWS and subnet's one (all its runs are on one base model).
    assert.equal(p.runs.filter((r) => r.selected).length, 6);
    // Loss at epochs 1–5, memorization at 2 and 5, in one point per epoch.
    assert.deepEqual(p.curves.map((c) => [c.epoch, c.memorization]), [[1, null], [2, 20], [3, null], [4, null],
      [5, 40]]);
    assert.throws(() => validateViewPayload(VIEW_MIME.sweep, { ...p, runs: [{ ...p.runs[0], mem: 'x' }] }),
      /sweep payload: runs\[0\]\.mem must be a finite number/);
  });

  it('draws an empty sweep as a note, not an error', async () => {
    const o = sweepReport([], [], { name: 'empty', jobs: { total: 4, done: 0, failed: 0 } });
    const svg = await renderViewSvg(o.mime, o.payload);
    assert.match(svg, /No run has finished yet\./);
    assert.match(svg, /No training curves\./);
  });
});

describe('sweep notebook step', () => {
  it('parses `sweep: spec.yaml` alone as the step, and `step: sweep` with its keys', () => {
    assert.deepEqual(stepOrThrow('sweep: examples/paper/cpu.yaml\n'),
      { step: 'sweep', sweep: 'examples/paper/cpu.yaml' });
    assert.deepEqual(stepOrThrow('step: sweep\nsweep: a.yaml\nout: sweeps/a\n'),
      { step: 'sweep', sweep: 'a.yaml', out: 'sweeps/a' });
    const bad = parseStep('sweep: a.yaml\nmethods: [greedy]\n').issues;
    assert.deepEqual(bad.map((i) => [i.field, i.line]), [['methods', 2]]);
    assert.match(parseStep('step: sweep\n').issues[0]!.message, /needs `sweep:`/);
  });

  it('runs the spec with the local backend into sweeps/<name>, shows progress, then the view', async () => {
    const base = path.join(tmp, 'notebook');
    fs.mkdirSync(base, { recursive: true });
    fs.writeFileSync(path.join(base, 'tiny.yaml'), 'name: tiny\nmodels: [{ preset: cpu-math-noise }]\nseeds: [0]\n' +
      'methods: [greedy]\n');
    const seen: CellProgress[] = [];
    const calls: { spec: string; out?: string; backend?: string }[] = [];
    // A stand-in for the coordinator's runSweep: writes the synthetic folder, notes and reports progress. The throttle
    // lets the first update through at once and the last one at the end; notes stop showing once counts arrive.
    const run: Parameters<typeof runSweepStep>[2] = async (spec, o = {}) => {
      calls.push({ spec, out: o.out, backend: o.backend });
      writeFolder(o.out!);
      o.onNote?.('12 jobs: 0 done, 12 to run');
      o.onProgress?.({ done: 0, failed: 0, total: 12, running: [] });
      o.onProgress?.({ done: 2, failed: 1, total: 12, running: ['cpu-math-noise seed 0 · greedy', 'other'] });
      o.onNote?.('failed: other');
      return { dir: o.out!, submitted: 12, rows: ROWS, curves: [CURVES] };
    };
    const ctx = { baseDir: base, state: {}, runtime: {}, seed: 0, signal: new AbortController().signal,
      onProgress: (p: CellProgress) => seen.push(p) };
    const r = await runSweepStep({ step: 'sweep', sweep: 'tiny.yaml' }, ctx, run);
    assert.deepEqual(calls, [{ spec: path.join(base, 'tiny.yaml'), out: path.join(base, 'sweeps', 'tiny'),
      backend: 'local' }]);
    assert.deepEqual(seen.map((p) => [p.message, p.fraction]), [['12 jobs: 0 done, 12 to run', undefined],
      ['2/12 jobs done, 1 failed · running cpu-math-noise seed 0 · greedy (+1)', 0.25]]);
    const o = r.outputs[0]!;
    assert.equal(o.mime, VIEW_MIME.sweep);
    const p = validateViewPayload(VIEW_MIME.sweep, o.payload);
    assert.equal(p.title, 'Sweep tiny');
    assert.deepEqual(p.summary.map((x) => [x.method, x.cells, x.mem.toFixed(4), x.utilityAfter.toFixed(4)]),
      [['balanced-subnet', 3, '2.3333', '85.3333'], ['greedy', 2, '10.0000', '81.6500']]);
    assert.match(r.outputs[1]!.markdown, /2 of 12 jobs done, 1 failed, in .*sweeps\/tiny; re-run the failed ones/);
    assert.equal(r.provider, 'cpu');
    // The view draws.
    assert.match(await renderViewSvg(o.mime, o.payload), /balanced-subnet/);
    await assert.rejects(runSweepStep({ step: 'sweep', sweep: 'missing.yaml' }, ctx, run),
      /missing\.yaml is not a file/);
  });
});
