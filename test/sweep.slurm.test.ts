// The Slurm backend against a real Slurm (scripts/slurm-setup.sh: one node on 127.0.0.1). First with stand-in jobs
// (a shell script in place of `tinymem`, which records when each job ran and writes its exit record), to check the
// arrays, their dependencies, the states Slurm reports and cancelling; then a real sweep through the CLI.
// Without a running Slurm the tests are skipped with a message, except in CI (CI=true), where that is a failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { JobState, SweepJob, SweepRow, SweepSpec } from '../src/shared/sweepTypes';
import { readPlan } from '../src/engine/sweep/folder';
import { sweepStatus } from '../src/engine/sweep/run';
import { makeSlurmBackend, readSubmissions, sacctRecords, scontrolRecords, slurmBackend, taskStates,
} from '../src/engine/sweep/slurm';

const sinfo = spawnSync('sinfo', ['--noheader', '--format=%t'], { encoding: 'utf8' });
const slurmUp = sinfo.status === 0 && /\b(idle|mix|alloc)/.test(sinfo.stdout);
const why = sinfo.error ? 'sinfo is not on PATH' : `sinfo says: ${(sinfo.stdout + sinfo.stderr).trim() || 'no node'}`;
const skip = slurmUp ? false : `no running Slurm (${why}); run \`bash scripts/slurm-setup.sh\` (root) to test it`;
if (!slurmUp && process.env.CI === 'true') {
  test('Slurm is running (CI)', () => assert.fail(`CI=true and ${skip}`));
}

// Needs no Slurm: the records of accounting (sacct, which this test's Slurm does not keep) and of scontrol, as
// those tools print them, including tasks cancelled before they started (one record for a range of indices).
test('sacct and scontrol records become states by array task', () => {
  const sacct = ['200_0|COMPLETED', '200_1|CANCELLED by 0', '200_[2-3,5]|CANCELLED by 0', '201_0|TIMEOUT',
    '201_1|OUT_OF_MEMORY', '201_2|FAILED', '202|COMPLETED', '203_[0-2%2]|PENDING', ''].join('\n');
  assert.deepEqual(Object.fromEntries(taskStates(sacctRecords(sacct))), {
    '200_0': null, '200_1': 'cancelled', '200_2': 'cancelled', '200_3': 'cancelled', '200_5': 'cancelled',
    '201_0': 'failed', '201_1': 'failed', '201_2': 'failed', '203_0': 'queued', '203_1': 'queued', '203_2': 'queued',
  });
  const scontrol = ['JobId=6 ArrayJobId=6 ArrayTaskId=1-3%1 ArrayTaskThrottle=1 JobName=wrap JobState=CANCELLED ' +
    'Reason=DependencyNeverSatisfied', 'JobId=7 ArrayJobId=6 ArrayTaskId=0 ArrayTaskThrottle=1 JobName=wrap ' +
    'JobState=COMPLETING Reason=None', ''].join('\n');
  assert.deepEqual(Object.fromEntries(taskStates(scontrolRecords('6', scontrol))),
    { '6_0': 'running', '6_1': 'cancelled', '6_2': 'cancelled', '6_3': 'cancelled' });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-slurm-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The stand-in for `tinymem`: `sweep job DIR --list F --index I …` runs the job on line I of F, sleeping for the
// seconds in jobs/ID/sleep and failing when jobs/ID/fail exists; SIGTERM makes it write the record of a cancelled
// job, as the real one does. `sweep report DIR` writes report.done. Every start and end goes into DIR/events.
const FAKE = `#!/bin/bash
set -u
now() { date +%s.%N; }
if [ "$2" = report ]; then echo "report $(now)" >> "$3/events"; touch "$3/report.done"; exit 0; fi
dir="$3"; list="$5"; index="$7"
id="$(sed -n "$((index + 1))p" "$list")"
jd="$dir/jobs/$id"; mkdir -p "$jd"
record() {
  printf '{"job":"%s","code":%s,"startedAt":"%s","finishedAt":"%s","seconds":0,"host":"%s","provider":"cpu"}\\n' \\
    "$id" "$1" "$start" "$(date -u +%FT%T.%3NZ)" "$(hostname)" > "$jd/exit.json"
}
start="$(date -u +%FT%T.%3NZ)"
rm -f "$jd/exit.json"
echo "start $id $(now) $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID \${*:8}" >> "$dir/events"
trap 'record 143; echo "cancelled $id $(now)" >> "$dir/events"; exit 143' TERM
if [ -f "$jd/sleep" ]; then sleep "$(cat "$jd/sleep")" & wait $!; fi
if [ -f "$jd/fail" ]; then record 1; echo "failed $id $(now)" >> "$dir/events"; exit 1; fi
echo '[]' > "$jd/result.json"; record 0
echo "end $id $(now)" >> "$dir/events"
`;
const fake = path.join(tmp, 'fake-tinymem.sh');
fs.writeFileSync(fake, FAKE, { mode: 0o755 });
const backend = makeSlurmBackend({ command: ['/bin/bash', fake] });

const spec = (name: string, slurm: Partial<SweepSpec['slurm']> = {}): SweepSpec => ({
  name, backend: 'slurm', models: [], seeds: [0], methods: [], threads: 1, providers: ['cpu'], stepsPerRun: 1,
  parallel: 1,
  slurm: { cpus: 1, mem: '200M', time: '00:05:00', gpus: 0, extra: [], ...slurm },
});
const train = (id: string): SweepJob => ({ id, after: [], label: `train ${id}`,
  key: { stage: 'train', preset: 'p', set: {}, seed: 0, regularizer: null, checkpoints: [1] } });
const unlearn = (id: string, t: string): SweepJob => ({ id, after: [t], label: `unlearn ${id}`,
  key: { stage: 'unlearn', train: t, checkpoint: 1, method: 'm', hyperParams: {}, seed: 0 } });

interface Event { what: string; id: string; t: number; rest: string[] }
const events = (dir: string): Event[] => fs.readFileSync(path.join(dir, 'events'), 'utf8').trim().split('\n')
  .map((l) => l.split(' ')).map(([what, id, t, ...rest]) => (what === 'report' ? { what, id: '', t: +id!, rest: [] }
  : { what: what!, id: id!, t: +t!, rest }));
const exitCode = (dir: string, id: string): number | null => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'jobs', id, 'exit.json'), 'utf8')) as { code: number }).code;
  } catch {
    return null;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the backend until no job of the sweep is queued or running (and the report job ran); returns the states. */
async function settle(dir: string, report = true, seconds = 120): Promise<Map<string, JobState>> {
  const reported = () => !report || fs.existsSync(path.join(dir, 'report.done'));
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(500)) {
    const s = await backend.states(dir);
    if (![...s.values()].some((x) => x === 'queued' || x === 'running') && reported()) return s;
  }
  throw new Error(`sweep ${dir} did not settle within ${seconds} s`);
}
const mark = (dir: string, id: string, file: 'sleep' | 'fail', text = '') => {
  fs.mkdirSync(path.join(dir, 'jobs', id), { recursive: true });
  fs.writeFileSync(path.join(dir, 'jobs', id, file), text);
};

test('train and unlearn arrays run in dependency order, with a report job after them', { skip, timeout: 180_000 },
  async () => {
    const dir = path.join(tmp, 'order');
    fs.mkdirSync(dir);
    mark(dir, 'aaaa00000001', 'sleep', '2');
    const jobs = [train('aaaa00000001'), train('aaaa00000002'), unlearn('bbbb00000001', 'aaaa00000001'),
      unlearn('bbbb00000002', 'aaaa00000001'), unlearn('bbbb00000003', 'aaaa00000002')];
    const notes: string[] = [];
    await backend.submit(dir, spec('order test', { maxParallel: 2 }), jobs, { onNote: (l) => notes.push(l) });
    const subs = readSubmissions(dir);
    assert.deepEqual(subs.map((s) => [s.stage, s.jobs.length]),
      [['train', 2], ['unlearn', 2], ['unlearn', 1], ['report', 0]]);
    const trainArray = subs[0]!.slurmId;
    assert.equal(subs[1]!.dependency, `afterok:${trainArray}_0`);
    assert.equal(subs[2]!.dependency, `afterok:${trainArray}_1`);
    assert.equal(subs[3]!.dependency, `afterany:${subs.slice(0, 3).map((s) => s.slurmId).join(':')}`);
    assert.equal(notes.length, 4);
    const live = await backend.states(dir);
    // The quick train job may have ended already; the unlearn jobs of the slow one wait for it.
    for (const j of jobs) {
      assert.ok(live.get(j.id) === 'queued' || live.get(j.id) === 'running' || exitCode(dir, j.id) === 0,
        `${j.id}: ${live.get(j.id)}`);
    }
    assert.equal(live.get('bbbb00000001'), 'queued');
    assert.equal(live.get('bbbb00000002'), 'queued');

    const final = await settle(dir);
    assert.equal(final.size, 0, `nothing left for the scheduler to say: ${[...final]}`);
    for (const j of jobs) assert.equal(exitCode(dir, j.id), 0, j.id);
    const ev = events(dir);
    const at = (what: string, id: string) => ev.find((e) => e.what === what && e.id === id)!.t;
    for (const j of jobs.filter((x) => x.key.stage === 'unlearn')) {
      assert.ok(at('start', j.id) >= at('end', j.after[0]!), `${j.id} started after ${j.after[0]} ended`);
    }
    // The unlearn jobs of the quick train job did not wait for the slow one.
    assert.ok(at('start', 'bbbb00000003') < at('end', 'aaaa00000001'));
    const report = ev.find((e) => e.what === 'report')!.t;
    assert.ok(ev.filter((e) => e.what === 'end').every((e) => e.t <= report), 'the report job ran last');
    // Each task ran with the spec's runtime settings and wrote its log under logs/.
    assert.ok(ev.filter((e) => e.what === 'start').every((e) => e.rest.slice(2).join(' ') ===
      '--threads 1 --providers cpu --steps-per-run 1'));
    const logs = fs.readdirSync(path.join(dir, 'logs'));
    assert.equal(logs.filter((f) => /^tinymem-order-test-(train|unlearn)-\d+_\d+\.out$/.test(f)).length, 5,
      `${logs}`);
    assert.equal(logs.filter((f) => /^tinymem-order-test-report-\d+\.out$/.test(f)).length, 1, `${logs}`);
  });

test('a job whose train job is still queued from an earlier submission waits for that task',
  { skip, timeout: 120_000 }, async () => {
    const dir = path.join(tmp, 'earlier');
    fs.mkdirSync(dir);
    mark(dir, 'ffff00000001', 'sleep', '3');
    await backend.submit(dir, spec('earlier'), [train('ffff00000001')], { onNote: () => {} });
    await backend.submit(dir, spec('earlier'), [unlearn('ffff00000002', 'ffff00000001')], { onNote: () => {} });
    const subs = readSubmissions(dir);
    assert.deepEqual(subs.map((x) => x.stage), ['train', 'report', 'unlearn', 'report']);
    assert.equal(subs[2]!.dependency, `afterok:${subs[0]!.slurmId}_0`);
    await settle(dir);
    const ev = events(dir);
    const at = (what: string, id: string) => ev.find((e) => e.what === what && e.id === id)!.t;
    assert.ok(at('start', 'ffff00000002') >= at('end', 'ffff00000001'));
    assert.equal(exitCode(dir, 'ffff00000002'), 0);
  });

test('a failed train job: its unlearn jobs are cancelled by Slurm; scancel ends running and queued jobs',
  { skip, timeout: 180_000 }, async () => {
    const dir = path.join(tmp, 'fail');
    fs.mkdirSync(dir);
    mark(dir, 'cccc00000001', 'fail');
    mark(dir, 'cccc00000002', 'sleep', '60');
    const jobs = [train('cccc00000001'), train('cccc00000002'), unlearn('dddd00000001', 'cccc00000001'),
      unlearn('dddd00000002', 'cccc00000002'), unlearn('dddd00000003', 'cccc00000001')];
    await backend.submit(dir, spec('fail'), jobs, { onNote: () => {} });
    // Wait until the slow train job runs and the failed one's unlearn jobs have left the queue.
    let s = new Map<string, JobState>();
    for (const end = Date.now() + 60_000; Date.now() < end; await sleep(500)) {
      s = await backend.states(dir);
      if (s.get('cccc00000002') === 'running' && s.get('dddd00000003') === 'cancelled') break;
    }
    assert.equal(exitCode(dir, 'cccc00000001'), 1);
    assert.equal(s.has('cccc00000001'), false, 'an ended job with its exit record is left to the files');
    // Both tasks of the array that never started (Slurm keeps them as one record for the range 0-1).
    assert.equal(s.get('dddd00000001'), 'cancelled', 'Slurm cancelled the jobs whose dependency failed');
    assert.equal(s.get('dddd00000003'), 'cancelled');
    assert.equal(s.get('cccc00000002'), 'running');
    assert.equal(s.get('dddd00000002'), 'queued');

    const cancelled = await backend.cancel(dir);
    assert.deepEqual(cancelled.sort(), ['cccc00000002', 'dddd00000002']);
    // The report job is cancelled with them.
    const final = await settle(dir, false, 60);
    // The running job wrote its own record on SIGTERM; the queued one left without any, and Slurm says cancelled.
    assert.equal(exitCode(dir, 'cccc00000002'), 143);
    assert.equal(exitCode(dir, 'dddd00000002'), null);
    assert.equal(final.get('dddd00000002'), 'cancelled');
    assert.deepEqual(await backend.cancel(dir), [], 'nothing left to cancel');

    // A retry (the run's files removed, as `sweep retry` does) is a new submission whose tasks win over the old.
    fs.rmSync(path.join(dir, 'jobs', 'cccc00000002', 'sleep'));
    fs.rmSync(path.join(dir, 'jobs', 'cccc00000002', 'exit.json'));
    fs.rmSync(path.join(dir, 'report.done'), { force: true });
    await backend.submit(dir, spec('fail'), [jobs[1]!, jobs[3]!], { onNote: () => {} });
    assert.deepEqual([...(await settle(dir)).keys()].sort(), ['dddd00000001', 'dddd00000003'],
      'only the failed train job\'s cancelled unlearn jobs remain');
    assert.equal(exitCode(dir, 'cccc00000002'), 0);
    assert.equal(exitCode(dir, 'dddd00000002'), 0);
  });

test('clear errors when sbatch is missing or refuses the jobs', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(tmp, 'errors');
  fs.mkdirSync(dir);
  const oldPath = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(backend.submit(dir, spec('e'), [train('eeee00000001')], { onNote: () => {} }),
      /Slurm's sbatch was not found on PATH: run the sweep with backend: local, or on a cluster's login node/);
  } finally {
    process.env.PATH = oldPath;
  }
  await assert.rejects(backend.submit(dir, spec('e', { partition: 'no-such-partition' }), [train('eeee00000001')],
    { onNote: () => {} }), (e: Error) => /sbatch refused the train jobs: .*invalid partition/i.test(e.message));
  assert.deepEqual(readSubmissions(dir), [], 'nothing recorded');
});

// The real thing: test/sweeps/tiny.yaml (two tiny models × two seeds × two methods: 4 train and 8 unlearn jobs)
// through the CLI on Slurm, one train job killed with scancel while it runs, `sweep retry`, then the same spec with
// the local backend for the reference table. About 3-4 minutes on 2 cores.
const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const TINY = path.resolve(__dirname, 'sweeps/tiny.yaml');
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
/** The rows, without what differs between two runs of the same job (wall time, host, finishing time). */
const table = (dir: string) => fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as SweepRow).map(({ seconds: _s, host: _h, finishedAt: _f, ...r }) => r)
  .sort((a, b) => `${a.job}/${a.checkpoint}`.localeCompare(`${b.job}/${b.checkpoint}`));
/** Waits until `ok` holds for the sweep's status, the backend's states polled every second. */
async function until(dir: string, what: string, ok: (s: Awaited<ReturnType<typeof sweepStatus>>) => boolean,
  seconds = 400) {
  let s = await sweepStatus(dir);
  for (const end = Date.now() + seconds * 1000; !ok(s); s = await sweepStatus(dir)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${seconds} s; status ${JSON.stringify(s.counts)}`);
    await sleep(1000);
  }
  return s;
}
/** Waits until the newest report job has left the queue (it writes results.jsonl). */
async function reportDone(dir: string) {
  const id = readSubmissions(dir).filter((x) => x.stage === 'report').at(-1)!.slurmId;
  for (let i = 0; i < 120; i++, await sleep(1000)) {
    if (!spawnSync('squeue', ['--noheader', `--jobs=${id}`], { encoding: 'utf8' }).stdout.trim()) return;
  }
  throw new Error(`report job ${id} still queued after 120 s`);
}

test('a tiny sweep through sbatch: scancel is reported, retry re-runs, the table equals the local backend\'s, and a ' +
  'second submission runs nothing', { skip, timeout: 1_200_000 }, async () => {
  const S = path.join(tmp, 'tiny-slurm');
  const L = path.join(tmp, 'tiny-local');
  try {
    let r = cli(['sweep', TINY, '--out', S, '--backend', 'slurm']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /submitted 12 jobs/);
    assert.match(r.err, /submitted 4 train jobs as array \d+/);

    // Kill a train job while it runs (its task found in the backend's records, as a user would from squeue).
    const s = await until(S, 'a train job running', (x) => x.jobs.some((j) => j.state === 'running' &&
      j.label.startsWith('train')));
    const victim = s.jobs.find((j) => j.state === 'running' && j.label.startsWith('train'))!.id;
    const sub = readSubmissions(S).find((x) => x.jobs.includes(victim))!;
    const task = `${sub.slurmId}_${sub.jobs.indexOf(victim)}`;
    assert.equal(spawnSync('scancel', [task]).status, 0);
    const unlearnOfVictim = readPlan(S).jobs
      .filter((j) => j.after.includes(victim)).map((j) => j.id);
    assert.equal(unlearnOfVictim.length, 2);

    const ended = await until(S, 'the sweep ended', (x) => x.counts.queued + x.counts.running === 0);
    assert.deepEqual({ done: ended.counts.done, cancelled: ended.counts.cancelled }, { done: 9, cancelled: 3 },
      JSON.stringify(ended.jobs.filter((j) => j.state !== 'done')));
    assert.deepEqual(ended.jobs.filter((j) => j.state === 'cancelled').map((j) => j.id).sort(),
      [victim, ...unlearnOfVictim].sort());
    r = cli(['sweep', 'status', S]);
    assert.equal(r.code, 1, 'status fails while jobs are cancelled');
    assert.match(r.out, /12 jobs: 9 done, 3 cancelled/);
    assert.match(r.out, new RegExp(`${victim}\\s+cancelled\\s+train`));

    r = cli(['sweep', 'retry', S]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /re-running 3 of 12 jobs/);
    assert.match(r.out, /submitted 3 jobs/);
    await until(S, 'the retried jobs done', (x) => x.counts.done === 12);
    await reportDone(S);
    const newest = readSubmissions(S).filter((x) => x.jobs.includes(victim)).at(-1)!;
    assert.notEqual(newest.slurmId, sub.slurmId, 'the killed job ran again in a new array');

    r = cli(['sweep', TINY, '--out', L, '--backend', 'local']);
    assert.equal(r.code, 0, r.err);
    const local = table(L);
    assert.equal(local.length, 12);
    assert.ok(local.some((x) => x.stage === 'unlearn' && x.memBefore! > 0 && x.memAfter! < x.memBefore!),
      'some model memorized and a method reduced it');
    assert.deepEqual(table(S), local, 'the report job\'s table equals the local backend\'s');

    const before = readSubmissions(S).length;
    r = cli(['sweep', TINY, '--out', S, '--backend', 'slurm']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /12 jobs: 12 done, 0 to run/);
    assert.equal(readSubmissions(S).length, before, 'nothing submitted');
    assert.deepEqual(table(S), local);
  } finally {
    await slurmBackend.cancel(S).catch(() => []);
  }
});
