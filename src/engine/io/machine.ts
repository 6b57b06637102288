// What this machine can give a run: memory (the smaller of physical memory and a cgroup / container limit) and CPU
// cores. Sizes that would need more are refused up front with both figures, instead of growing until the kernel
// kills the process or a thread pool of 100,000 threads starts.
import * as os from 'node:os';
import { userError } from '../../shared/userError';
import { formatBytes } from '../../shared/readLimited';

/** Bytes of memory this process may use: physical memory, or a lower cgroup limit (containers, memory caps). */
export function machineMemory(): number {
  const total = os.totalmem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

/** How the machine's memory is described in messages: "23.5 GB" (or "8.0 GB (a memory limit on this process)"). */
export function describeMachineMemory(): string {
  const m = machineMemory();
  return m < os.totalmem() ? `${formatBytes(m)} (the memory limit on this process; the machine has ` +
    `${formatBytes(os.totalmem())})` : formatBytes(m);
}

/** CPU cores available to this process. */
export function machineCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Refuses when `needBytes` (an estimate of what `what` would hold in memory) is more than this machine has.
 * `fix` says what to change.
 */
export function assertFitsMemory(field: string, needBytes: number, what: string, fix: string): void {
  const have = machineMemory();
  if (!(needBytes <= have)) {
    throw userError(field,
      `${what} needs about ${Number.isFinite(needBytes) ? formatBytes(needBytes)
        : 'an unbounded amount'} of memory, but this machine has ${describeMachineMemory()}; ${fix}`, 'resource');
  }
}

/**
 * ONNX Runtime intra-op threads for a request: 0 (automatic) stays 0; more than the machine's cores is refused with
 * the count it has, since extra threads only add memory and contention (100,000 threads would exhaust memory).
 */
export function checkThreads(threads: number | undefined, field = '--threads'): number | undefined {
  if (threads === undefined || threads === 0) return threads;
  const cores = machineCores();
  if (!Number.isInteger(threads) || threads < 0) throw userError(field,
    `must be a non-negative integer, got ${threads}`, 'resource');
  if (threads > cores) throw userError(field, `${threads} threads is more than this machine's ${cores} CPU cores; ` +
    `use at most ${cores} (or leave it out)`, 'resource');
  return threads;
}
