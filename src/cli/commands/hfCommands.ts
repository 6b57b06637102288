// eval / mitigate / compare on a Hugging Face model folder (GPT-2 or GPT-NeoX, e.g. Pythia) that carries no
// TinyMem training data: the sequences to check come from --sequences (MemPi JSON/JSONL), perplexity and the retain
// set from --text / --retain (text through the folder's tokenizer.json, or a .json token file).
import { listMethods } from '../../engine/methods/registry';
import { loadModelFolder } from '../../engine/model/checkpoint';
import { evaluateSequenceSets } from '../../engine/metrics/sequenceSetEval';
import { claimCompareOut, compareCsv, compareOn, hfCompareTarget, writeCompareFiles } from '../../engine/runs/compareRun';
import { type HfDataOptions, checkHfMitigation, mitigateHf, prepareHfBase, readHfSets, saveHfMitigation, suppressTokenOf } from '../../engine/runs/hfMitigate';
import { claimOutputDir } from '../../engine/io/outputDir';
import { parseOverrides } from '../../engine/presets';
import { Runtime } from '../../engine/runtime/session';
import type { MetricValue } from '../../shared/metricTypes';
import { formatMetric, metricsTable, table } from '../format';
import { note, progress } from '../progress';

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
  // The method and --out are checked (and --out locked) before the model is loaded or measured.
  const hp = parseOverrides(f.set ?? []);
  checkHfMitigation(f.method, hp, !!(f.text || f.retain));
  const out = claimOutputDir(f.out, { force: f.force, inputs: [dir, f.sequences, f.text, f.retain], onNote: note });
  const rt = new Runtime({ threads: f.threads ?? 2 });
  try {
    const evalBar = progress('measure');
    const base = await prepareHfBase(rt, dir, { ...dataOptions(f), onEvalProgress: (e) => evalBar.update(e.done, e.total, `base model: ${e.stage}`) });
    evalBar.stop();
    console.error(`forget set: ${base.forget.rows} memorized sequences; retain set: ${base.retain.rows} text chunks`);
    const bar = progress(f.method);
    const m = await mitigateHf(rt, base, {
      method: f.method, hyperParams: hp, seed: f.seed,
      onProgress: (p) => bar.update(p.done, p.total, `${p.stage}${p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : ''}`),
    });
    bar.stop();
    const saved = saveHfMitigation(out, base, m);
    const r = m.record;
    console.log(`${r.method} (${Object.entries(r.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ')}) took ${r.seconds.toFixed(2)} s; edited model ${saved} (Hugging Face ${base.model.modelType} layout)`);
    console.log(beforeAfter(base.before.metrics, m.after.metrics));
    return 0;
  } finally {
    out.release();
    await rt.dispose();
  }
}

export async function hfCompareCommand(dir: string, f: HfFlags & { methods: string; grid?: boolean; out?: string; force?: boolean; seed?: number }): Promise<number> {
  // Fine-tuning methods continue TinyMem training on its own data, which a pretrained folder does not carry.
  const known = listMethods().filter((m) => m.family !== 'regularizer' && m.family !== 'fine-tune').map((m) => m.id);
  const ids = f.methods === 'all' ? known : f.methods.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) if (!known.includes(id)) throw new Error(`--methods: "${id}" is not an unlearning method; known: ${known.join(', ')} (or "all")`);
  // The selection rule weighs the memorization drop against the perplexity rise; without text there is no score.
  if (f.grid && !f.text) throw new Error(`--grid picks each method's best point by memorization and perplexity change: pass --text FILE (text or a .json token file) for perplexity`);
  const out = claimCompareOut(f.out ?? `${dir.replace(/\/+$/, '')}-compare`, { force: f.force, inputs: [dir, f.sequences, f.text, f.retain], onNote: note });
  const rt = new Runtime({ threads: f.threads ?? 2 });
  const started = Date.now();
  try {
    const evalBar = progress('measure');
    const base = await prepareHfBase(rt, dir, { ...dataOptions(f), onEvalProgress: (e) => evalBar.update(e.done, e.total, `base model: ${e.stage}`) });
    evalBar.stop();
    const res = await compareOn(hfCompareTarget(rt, base), {
      methods: ids, grid: f.grid, seed: f.seed,
      onRun: (m, hp, i, n) => process.stderr.write(`[${i + 1}/${n}] ${m}${Object.keys(hp).length ? ` ${JSON.stringify(hp)}` : ''}\n`),
    });
    const n = (v: number | null, d = 2) => (v === null ? 'n/a' : v.toFixed(d));
    console.log(`base: memorization ${n(res.rows[0]?.memBefore ?? null)} %, perplexity ${n(res.rows[0]?.utilityBefore ?? null, 3)}; forget ${base.forget.rows} sequences, retain ${base.retain.rows} chunks`);
    console.log(table([
      ['method', 'hyper-parameters', 'time s', 'mem %', 'Δmem %', 'perplexity', 'Δperplexity %', 'score', ''],
      ...res.rows.map((r) => [
        r.method, Object.entries(r.hyperParams).map(([k, v]) => `${k}=${v}`).join(' '), n(r.seconds), n(r.memAfter), n(r.memChangePct, 1), n(r.utilityAfter, 3), n(r.utilityChangePct, 2), n(r.score, 3),
        r.error ? `failed: ${r.error}` : r.selected && f.grid ? 'selected' : '',
      ]),
    ]));
    const csv = writeCompareFiles(out, compareCsv(res), { base: dir, modelType: base.model.modelType, forget: base.forget.rows, retain: base.retain.rows, ...res });
    console.log(`wrote ${csv} and compare.json; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
    return res.rows.some((r) => r.error) ? 1 : 0;
  } finally {
    out.release();
    await rt.dispose();
  }
}
