// Where a session's time goes, read from ONNX Runtime's profiler trace (a JSON list of Chrome trace events): kernel
// time per op type, averaged over the profiled runs, as a table for benchmarks and docs/cpu-profile.md.
import * as fs from 'node:fs';

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

export interface OpTypeRow {
  op: string;
  /** Kernels of this type run per session run (nodes after ONNX Runtime's graph optimizations). */
  nodes: number;
  ms: number;
}

export interface OpTypeProfile {
  runs: number;
  /** Mean wall time of one session run (ONNX Runtime's model_run event), ms. */
  runMs: number;
  /** Mean kernel time per run, ms (sums every node; the rest of runMs is the executor's own work). */
  kernelMs: number;
  rows: OpTypeRow[];
}

/** Kernel time per op type over the runs of a trace, leaving out the first `skip` runs (warm-up). */
export function profileByOpType(traceFile: string, skip = 1): OpTypeProfile {
  const events = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as TraceEvent[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const kept = runs.slice(skip);
  if (kept.length === 0) throw new Error(`${traceFile}: ${runs.length} runs recorded, none after skipping ${skip}`);
  const from = kept[0]!.ts;
  const byOp = new Map<string, { us: number; kernels: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    const op = e.args?.op_name ?? '?';
    const o = byOp.get(op) ?? { us: 0, kernels: 0 };
    o.us += e.dur;
    o.kernels++;
    byOp.set(op, o);
  }
  const n = kept.length;
  const rows = [...byOp].map(([op, o]) => ({ op, nodes: o.kernels / n, ms: o.us / n / 1e3 }))
    .sort((a, b) => b.ms - a.ms);
  return { runs: n, runMs: kept.reduce((s, e) => s + e.dur, 0) / n / 1e3,
    kernelMs: rows.reduce((s, r) => s + r.ms, 0), rows };
}

/** The profile as a Markdown table: op type, kernels per run, ms per run, share of kernel time. */
export function formatOpTypeTable(p: OpTypeProfile, minShare = 0.001): string {
  const lines = ['| op type | kernels | ms/step | % |', '|---|--:|--:|--:|'];
  let restMs = 0;
  let restNodes = 0;
  for (const r of p.rows) {
    if (r.ms / p.kernelMs < minShare) {
      restMs += r.ms;
      restNodes += r.nodes;
      continue;
    }
    lines.push(`| ${r.op} | ${r.nodes} | ${r.ms.toFixed(1)} | ${(100 * r.ms / p.kernelMs).toFixed(1)} |`);
  }
  if (restNodes) lines.push(`| (others) | ${restNodes} | ${restMs.toFixed(1)} | ` +
    `${(100 * restMs / p.kernelMs).toFixed(1)} |`);
  lines.push(`| **all kernels** | ${p.rows.reduce((s, r) => s + r.nodes, 0)} | ${p.kernelMs.toFixed(1)} | 100 |`);
  lines.push(`| session run (kernels + executor) | | ${p.runMs.toFixed(1)} | |`);
  return lines.join('\n');
}
