// eval / mitigate / compare on a Hugging Face model folder (GPT-2 or GPT-NeoX, e.g. Pythia) that carries no
// TinyMem training data: the sequences to check come from --sequences (MemPi JSON/JSONL), perplexity and the retain
// set from --text / --retain (text through the folder's tokenizer.json, or a .json token file).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listMethods } from '../../engine/methods/registry';
import { loadModelFolder } from '../../engine/model/hfFolder';
import { evaluateSequenceSets } from '../../engine/metrics/sequenceSetEval';
import { type HfDataOptions, mitigateHf, prepareHfBase, readHfSets, saveHfMitigation, suppressTokenOf } from '../../engine/runs/hfMitigate';
import { parseOverrides } from '../../engine/presets';
import { Runtime } from '../../engine/runtime/session';
import type { MetricValue } from '../../shared/metricTypes';
import { formatMetric, metricsTable, table } from '../format';
import { progress } from '../progress';

/** The CLI flags these commands share (commander's camel-cased names). */
export interface HfFlags {
  sequences?: string;
  text?: string;
  retain?: string;
  promptLen?: number;
  continuationLen?: number;
  threads?: number;
}

const dataOptions = (f: HfFlags): HfDataOptions => ({ sequences: f.sequences, text: f.text, retain: f.retain, promptLength: f.promptLen, continuationLength: f.continuationLen });

export async function hfEvalCommand(dir: string, f: HfFlags & { json?: boolean; all?: boolean }): Promise<number> {
  if (!f.sequences && !f.text) throw new Error(`${dir} is a Hugging Face model folder without TinyMem data: pass --sequences FILE (memorized-sequence set, JSON/JSONL) and/or --text FILE (text for perplexity)`);
  const model = loadModelFolder(dir);
  const sets = readHfSets(model, dataOptions(f));
  const rt = new Runtime({ threads: f.threads ?? 2 });
  try {
    const bar = progress('evaluate');
    const r = await evaluateSequenceSets(rt, model.config, model.params, { sequences: sets.sequences ?? undefined, text: sets.text ?? undefined }, {
      promptLength: sets.promptLength, continuationLength: sets.continuationLength, suppressToken: suppressTokenOf(model),
      onProgress: f.json ? undefined : (e) => bar.update(e.done, e.total, e.stage),
    });
    bar.stop();
    if (f.json) console.log(JSON.stringify({ model: model.dir, modelType: model.modelType, ...r }));
    else {
      console.log(`${dir}: ${model.modelType}, evaluated in ${r.seconds.toFixed(1)} s on ${r.provider}${model.notes.length ? ` (${model.notes.join('; ')})` : ''}`);
      console.log(metricsTable(r.metrics, f.all));
    }
    return 0;
  } finally {
    await rt.dispose();
  }
}

function beforeAfter(before: readonly MetricValue[], after: readonly MetricValue[]): string {
  return table([['metric', 'before', 'after'], ...before.filter((m) => m.headline).map((b) => {
    const a = after.find((x) => x.id === b.id);
    return [b.label, formatMetric(b), a ? formatMetric(a) : 'n/a'];
  })]);
}

export async function hfMitigateCommand(dir: string, f: HfFlags & { method: string; set?: string[]; out: string; force?: boolean; seed?: number }): Promise<number> {
  const rt = new Runtime({ threads: f.threads ?? 2 });
  try {
    const evalBar = progress('measure');
    const base = await prepareHfBase(rt, dir, { ...dataOptions(f), onEvalProgress: (e) => evalBar.update(e.done, e.total, `base model: ${e.stage}`) });
    evalBar.stop();
    console.error(`forget set: ${base.forget.rows} memorized sequences; retain set: ${base.retain.rows} text chunks`);
    const bar = progress(f.method);
    const m = await mitigateHf(rt, base, {
      method: f.method, hyperParams: parseOverrides(f.set ?? []), seed: f.seed,
      onProgress: (p) => bar.update(p.done, p.total, `${p.stage}${p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : ''}`),
    });
    bar.stop();
    const out = saveHfMitigation(f.out, !!f.force, base, m);
    const r = m.record;
    console.log(`${r.method} (${Object.entries(r.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ')}) took ${r.seconds.toFixed(2)} s; edited model ${out} (Hugging Face ${base.model.modelType} layout)`);
    console.log(beforeAfter(base.before.metrics, m.after.metrics));
    return 0;
  } finally {
    await rt.dispose();
  }
}

export async function hfCompareCommand(dir: string, f: HfFlags & { methods: string; out?: string; seed?: number }): Promise<number> {
  const known = listMethods().filter((m) => m.family !== 'regularizer' && m.family !== 'fine-tune').map((m) => m.id);
  const ids = f.methods === 'all' ? known : f.methods.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) if (!known.includes(id)) throw new Error(`--methods: "${id}" is not an unlearning method; known: ${known.join(', ')} (or "all")`);
  const outDir = path.resolve(f.out ?? `${dir.replace(/\/+$/, '')}-compare`);
  const rt = new Runtime({ threads: f.threads ?? 2 });
  try {
    const base = await prepareHfBase(rt, dir, dataOptions(f));
    const value = (ms: readonly MetricValue[], id: string) => ms.find((x) => x.id === id)?.value ?? null;
    const rows: Record<string, unknown>[] = [];
    for (const [i, id] of ids.entries()) {
      process.stderr.write(`[${i + 1}/${ids.length}] ${id}\n`);
      try {
        const m = await mitigateHf(rt, base, { method: id, seed: f.seed });
        rows.push({ method: id, hyperParams: m.record.hyperParams, seconds: m.record.seconds, memBefore: value(base.before.metrics, 'memorization'), memAfter: value(m.after.metrics, 'memorization'), pplBefore: value(base.before.metrics, 'perplexity.paper'), pplAfter: value(m.after.metrics, 'perplexity.paper') });
      } catch (e) {
        rows.push({ method: id, error: (e as Error).message });
      }
    }
    const n = (v: unknown, d = 2) => (typeof v === 'number' ? v.toFixed(d) : 'n/a');
    console.log(table([['method', 'time s', 'mem % before', 'mem % after', 'ppl before', 'ppl after', ''], ...rows.map((r) => [String(r.method), n(r.seconds), n(r.memBefore), n(r.memAfter), n(r.pplBefore, 3), n(r.pplAfter, 3), r.error ? `failed: ${r.error}` : ''])]));
    fs.mkdirSync(outDir, { recursive: true });
    const cols = ['method', 'seconds', 'memBefore', 'memAfter', 'pplBefore', 'pplAfter', 'error'];
    fs.writeFileSync(path.join(outDir, 'compare.csv'), [cols.join(','), ...rows.map((r) => cols.map((c) => JSON.stringify(r[c] ?? '')).join(','))].join('\n') + '\n');
    fs.writeFileSync(path.join(outDir, 'compare.json'), JSON.stringify({ base: dir, forget: base.forget.rows, retain: base.retain.rows, rows }, null, 2) + '\n');
    console.log(`wrote ${path.join(outDir, 'compare.csv')} and compare.json`);
    return rows.some((r) => r.error) ? 1 : 0;
  } finally {
    await rt.dispose();
  }
}
