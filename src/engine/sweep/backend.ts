// What runs a sweep's jobs: local processes or a Slurm cluster. Both start each job as `tinymem sweep job DIR ID`
// (so a job writes its own exit record), and both answer for jobs still queued or running; finished jobs are read
// from the sweep folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobState, SweepJob, SweepSpec } from '../../shared/sweepTypes';

export interface SubmitOptions {
  onNote(line: string): void;
  /** Local backend: called as jobs start and end. */
  onProgress?(running: string[]): void;
  /** Local backend: stops the running jobs (SIGTERM) and starts no more. */
  signal?: AbortSignal;
}

export interface SweepBackend {
  name: 'local' | 'slurm';
  /**
   * Starts `jobs` (each job's `after` among them or already done). Local: runs them and resolves when all ended.
   * Slurm: submits them and resolves once the scheduler has them.
   */
  submit(dir: string, spec: SweepSpec, jobs: SweepJob[], o: SubmitOptions): Promise<void>;
  /** Live states the scheduler knows (queued, running, or failed/cancelled without an exit record), by job id. */
  states(dir: string): Promise<Map<string, JobState>>;
  /** Cancels every queued or running job of the sweep; returns the sweep job ids cancelled. */
  cancel(dir: string): Promise<string[]>;
}

/** The command line that runs one job: this package's `tinymem` under the current Node. */
export function jobCommand(): string[] {
  let d = __dirname;
  for (let i = 0; i < 6; i++, d = path.dirname(d)) {
    const bin = path.join(d, 'bin', 'tinymem.js');
    if (fs.existsSync(bin)) return [process.execPath, bin];
    const bundle = path.join(d, 'dist', 'cli.js');
    if (fs.existsSync(bundle)) return [process.execPath, bundle];
  }
  throw new Error(`cannot find the tinymem command line above ${__dirname}`);
}

/** `--threads N --providers a,b --steps-per-run K`: the spec's runtime settings for a job's command line. */
export const runtimeArgs = (spec: SweepSpec): string[] =>
  ['--threads', String(spec.threads), '--providers', spec.providers.join(','), '--steps-per-run',
    String(spec.stepsPerRun)];
