// The local backend: up to `parallel` job processes at once on this machine, each started when the jobs it waits
// for are done; its log goes to jobs/ID/log.txt and its pid to jobs/ID/pid while it runs. `cancel` from another
// process signals the coordinator (local.pid) and any job still running.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { JobState, SweepJob } from '../../shared/sweepTypes';
import { pidAlive } from '../../shared/saveLeftovers';
import { type SweepBackend, jobCommand, runtimeArgs } from './backend';
import { fileState, jobDir, readJson, readPlan, writeJson } from './folder';
import { recordCancelled } from './runJob';

const pidOf = (file: string): number | null => {
  const r = readJson<{ pid: number; host: string }>(file);
  return r && r.host === os.hostname() && pidAlive(r.pid) ? r.pid : null;
};

const runningJobs = (dir: string): Map<string, number> => {
  const out = new Map<string, number>();
  for (const j of readPlan(dir).jobs) {
    const pid = pidOf(path.join(jobDir(dir, j.id), 'pid'));
    if (pid !== null && fileState(dir, j.id) === 'pending') out.set(j.id, pid);
  }
  return out;
};

export const localBackend: SweepBackend = {
  name: 'local',
  async submit(dir, spec, jobs, o) {
    const coordinator = path.join(dir, 'local.pid');
    const other = pidOf(coordinator);
    if (other !== null && other !== process.pid) {
      throw new Error(`${dir}: another \`tinymem sweep\` (pid ${other}) is running this sweep; wait for it or ` +
        '`tinymem sweep cancel DIR`');
    }
    writeJson(coordinator, { pid: process.pid, host: os.hostname() });
    const [node, ...cli] = jobCommand();
    const waiting = [...jobs];
    const running = new Map<string, { label: string; kill(): void }>();
    let wake = () => {};
    const start = (job: SweepJob) => {
      const folder = jobDir(dir, job.id);
      fs.mkdirSync(folder, { recursive: true });
      const log = fs.openSync(path.join(folder, 'log.txt'), 'w');
      const child = spawn(node!, [...cli, 'sweep', 'job', dir, job.id, ...runtimeArgs(spec)],
        { stdio: ['ignore', log, log], env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
      fs.closeSync(log);
      writeJson(path.join(folder, 'pid'), { pid: child.pid, host: os.hostname() });
      running.set(job.id, { label: job.label, kill: () => child.kill('SIGTERM') });
      child.on('exit', (code, sig) => {
        fs.rmSync(path.join(folder, 'pid'), { force: true });
        // A process that died without its exit record (killed, out of memory) is recorded here.
        let state = fileState(dir, job.id);
        if (state === 'pending') {
          recordCancelled(dir, job.id, sig ?? `exit code ${code}`);
          state = 'cancelled';
        }
        running.delete(job.id);
        o.onNote(`${state}: ${job.label}`);
        o.onProgress?.([...running.values()].map((r) => r.label));
        wake();
      });
      o.onProgress?.([...running.values()].map((r) => r.label));
    };
    const onAbort = () => {
      waiting.length = 0;
      for (const r of running.values()) r.kill();
    };
    o.signal?.addEventListener('abort', onAbort);
    try {
      while (waiting.length || running.size) {
        for (let i = 0; i < waiting.length && running.size < spec.parallel; i++) {
          const job = waiting[i]!;
          const deps = job.after.map((d) => (running.has(d) || waiting.some((w) => w.id === d) ? 'pending'
            : fileState(dir, d)));
          if (deps.every((s) => s === 'done')) start(job);
          else if (deps.some((s) => s !== 'pending')) o.onNote(`skipped (a job it needs did not finish): ${job.label}`);
          else continue;
          waiting.splice(i--, 1);
        }
        if (!running.size) break;
        await new Promise<void>((r) => (wake = r));
      }
      for (const job of waiting) o.onNote(`not run (waits for a job that is not done): ${job.label}`);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      fs.rmSync(coordinator, { force: true });
    }
  },
  async states(dir) {
    const out = new Map<string, JobState>();
    for (const id of runningJobs(dir).keys()) out.set(id, 'running');
    return out;
  },
  async cancel(dir) {
    const coordinator = pidOf(path.join(dir, 'local.pid'));
    if (coordinator !== null) process.kill(coordinator, 'SIGTERM');
    const jobs = runningJobs(dir);
    for (const pid of jobs.values()) process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && [...jobs.values()].some(pidAlive); i++) await new Promise((r) => setTimeout(r, 100));
    return [...jobs.keys()];
  },
};
