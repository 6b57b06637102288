// Sweeps on the local backend, as a user runs them: spec errors name the file, line and field before anything runs;
// job ids follow what determines a job; a sweep cancelled mid-way is reported, not re-run by a plain re-submission,
// re-run by `retry`, and a finished sweep submitted again runs nothing; the table's numbers agree with each other.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { EvaluationResult } from '../src/shared/metricTypes';
import type { SweepRow } from '../src/shared/sweepTypes';
import { evaluationFile } from '../src/engine/sweep/folder';
import { loadSweepSpec, parseSweepSpec } from '../src/engine/sweep/spec';
import { planSweep } from '../src/engine/sweep/plan';

const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const TINY = path.join(__dirname, 'sweeps', 'tiny.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-sweep-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
const tiny = () => parse(fs.readFileSync(TINY, 'utf8'), { merge: true }) as Record<string, unknown>;
const writeSpec = (name: string, spec: unknown) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, typeof spec === 'string' ? spec : stringify(spec));
  return f;
};

test('spec errors name the file, the line and the field, and nothing is written', () => {
  const cases: [string, RegExp][] = [
    ['models:\n  - preset: cpu-math-noise\n    set: { model.bogus: 1 }\nmethods: [durable]\n',
      /bad\.yaml: line 3, models\[0\]\.set\.model\.bogus: unknown model setting/],
    ['models:\n  - preset: cpu-math-noise\nmethods:\n  durable: default\n  nope: paper\n',
      /line 5, methods\.nope: .*unknown method/i],
    ['models:\n  - preset: cpu-math-noise\n    checkpoints: [50, 500]\nmethods: all\n',
      /line 3, models\[0\]\.checkpoints\[1\]: epoch 500 is after the last \(100\)/],
    ['models:\n  - preset: cpu-math-noise\nmethods:\n  durable: { ratio: [0.01, 7] }\n',
      /line 4, methods\.durable\.ratio: 7 is out of range/],
    ['models: [{ preset: cpu-math-noise }]\nmethods: all\nslurm: { mem: lots }\n',
      /line 3, slurm\.mem: expected memory in Slurm's units/],
    ['stepsPerRun: 0\nmodels: [{ preset: cpu-math-noise }]\nmethods: all\n', /line 1, stepsPerRun: /],
    ['models: [{ preset: cpu-math-noise }\n', /bad\.yaml: line \d+: not valid YAML/],
  ];
  for (const [text, pattern] of cases) {
    const f = writeSpec('bad.yaml', text);
    const out = path.join(tmp, 'never');
    const r = cli(['sweep', f, '--out', out]);
    assert.notEqual(r.status, 0, text);
    assert.match(r.stderr, pattern);
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
    assert.ok(!fs.existsSync(out), 'nothing written for a bad spec');
    assert.throws(() => loadSweepSpec(f), pattern);
  }
});

test('job ids follow what determines a job, not how the spec is written', () => {
  const spec = tiny();
  const ids = (s: unknown) => planSweep(parseSweepSpec(s, 'x')).map((j) => j.id);
  const base = ids(spec);
  assert.equal(base.length, 2 * 2 * (1 + 2), 'two models × two seeds × (train + two unlearn)');
  assert.equal(new Set(base).size, base.length);
  // The same settings written in another order, with other runtime settings: the same jobs.
  const m0 = (spec.models as Record<string, unknown>[])[0]!;
  const reordered = { ...spec, parallel: 1, threads: 2, models: [{ ...m0,
    set: Object.fromEntries(Object.entries(m0.set as object).reverse()) }, (spec.models as unknown[])[1]] };
  assert.deepEqual(ids(reordered), base);
  // One changed hyper-parameter: only the unlearn jobs of that method change.
  const changed = ids({ ...spec, methods: { ...(spec.methods as object), durable: { ratio: 0.02 } } });
  const plan = planSweep(parseSweepSpec(spec, 'x'));
  const durable = plan.filter((j) => j.key.stage === 'unlearn' && j.key.method === 'durable').map((j) => j.id);
  assert.deepEqual(base.filter((id) => !changed.includes(id)).sort(), durable.sort());
  // A regularizer trains its own models; unlearning runs only on the unregularized ones.
  const withReg = planSweep(parseSweepSpec({ ...spec, methods: { 'spectral-norm': { lam: [0.001, 0.01] } } }, 'x'));
  const trains = withReg.filter((j) => j.key.stage === 'train');
  assert.equal(trains.length, 2 * 2 * 3);
  assert.equal(trains.filter((j) => j.key.stage === 'train' && j.key.regularizer?.id === 'spectral-norm').length, 8);
  assert.equal(withReg.length, trains.length, 'no unlearn jobs without unlearning methods');
});

test('a local sweep: cancel, status, retry, a second submission that runs nothing, and a consistent table',
  { timeout: 600_000 }, async () => {
    const spec = tiny();
    const file = writeSpec('one.yaml', { ...spec, name: 'one', models: [(spec.models as unknown[])[0]], seeds: [0] });
    const dir = path.join(tmp, 'one');
    // Start it, and cancel as soon as the training job runs.
    const child = spawn(process.execPath, [BIN, 'sweep', file, '--out', dir], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const trainPid = () => fs.readdirSync(path.join(dir, 'jobs')).find((id) =>
      fs.existsSync(path.join(dir, 'jobs', id, 'pid')));
    for (let i = 0; i < 600 && !(fs.existsSync(path.join(dir, 'jobs')) && trainPid()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const trainId = trainPid();
    assert.ok(trainId, 'the training job started');
    const cancel = cli(['sweep', 'cancel', dir]);
    assert.equal(cancel.status, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`cancelled 1 jobs: ${trainId}`));
    assert.notEqual(await exited, 0);
    const status = cli(['sweep', 'status', dir, '--json']);
    const s = JSON.parse(status.stdout) as { counts: Record<string, number>; jobs: { id: string; state: string }[] };
    assert.equal(s.jobs.find((j) => j.id === trainId)?.state, 'cancelled');
    assert.deepEqual([s.counts.cancelled, s.counts.pending, s.counts.done], [1, 2, 0]);
    // A plain re-submission does not re-run what was cancelled (nor what waits for it).
    const again = cli(['sweep', file, '--out', dir]);
    assert.match(again.stderr, /3 jobs: 0 done, 2 to run, 1 failed or cancelled \(not re-run/);
    assert.match(again.stderr, /skipped \(a job it needs did not finish\)/);
    // retry runs everything that is not done.
    const retry = cli(['sweep', 'retry', dir]);
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stderr, /re-running 3 of 3 jobs/);
    const stamp = (id: string) => fs.statSync(path.join(dir, 'jobs', id, 'exit.json')).mtimeMs;
    const status2 = () => JSON.parse(cli(['sweep', 'status', dir, '--json']).stdout) as { jobs: { id: string }[] };
    const ids = () => status2().jobs.map((j) => j.id);
    const stamps = ids().map(stamp);
    const third = cli(['sweep', file, '--out', dir]);
    assert.equal(third.status, 0, third.stderr);
    assert.match(third.stderr, /3 jobs: 3 done, 0 to run/);
    assert.deepEqual(ids().map(stamp), stamps, 'nothing ran again');

    const rows = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as SweepRow);
    const base = rows.find((r) => r.method === 'base')!;
    assert.equal(rows.length, 3);
    assert.ok(base.memAfter! > 0, 'the tiny model memorized something to unlearn');
    // The train job keeps its measurement of the checkpoint; the unlearn jobs start from it instead of measuring again.
    const kept = JSON.parse(fs.readFileSync(evaluationFile(dir, base.job, base.checkpoint), 'utf8')) as
      EvaluationResult;
    assert.equal(kept.memorization?.percentMemorized, base.memAfter);
    for (const r of rows.filter((x) => x.stage === 'unlearn')) {
      assert.equal(r.error, undefined);
      assert.equal(r.memBefore, base.memAfter, 'an unlearn row starts from its checkpoint\'s numbers');
      assert.equal(r.utilityBefore, base.utilityAfter);
      const mem = (r.memAfter! - r.memBefore!) / r.memBefore!;
      const acc = (r.utilityAfter! - r.utilityBefore!) / r.utilityBefore!;
      assert.ok(Math.abs(r.score! - (mem - acc)) < 1e-12, `score of ${r.method}`);
      assert.ok(r.seconds > 0 && r.provider === 'cpu');
    }
    // The CSV holds the same rows, with a column per hyper-parameter.
    const cells = (line: string) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1]!)
      .slice(0, -1);
    const [head, ...lines] = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n').map(cells);
    assert.equal(lines.length, rows.length);
    for (const [i, r] of rows.entries()) {
      const at = (col: string) => lines[i]![head!.indexOf(col)];
      assert.equal(at('method'), r.method);
      assert.equal(Number(at('memAfter')), r.memAfter);
      for (const [k, v] of Object.entries(r.hyperParams)) assert.equal(at(`hp.${k}`), String(v), `${r.method} ${k}`);
    }
    assert.equal(lines.find((l) => l[head!.indexOf('method')] === 'durable')![head!.indexOf('hp.ratio')], '0.01');
  });
