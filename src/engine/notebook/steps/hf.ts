// memorization / mitigate / compare steps on a Hugging Face model folder (GPT-2, GPT-NeoX/Pythia). Such a folder
// carries no TinyMem training data, so the cell names the sets (spec §6, the paper's Pythia setting): `sequences:`
// (MemPi JSON/JSONL), `text:` (perplexity, and the retain set unless `retain:`), `promptLength:` and
// `continuationLength:`. The outputs are the same views as on a TinyMem checkpoint: metrics, heatmaps, masks and the
// comparison, with perplexity as the utility.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type TokenMatrix, gatherRows } from '../../data/tokenMatrix';
import { buildHeatmap } from '../../metrics/heatmap';
import { measureMemorization } from '../../metrics/memorization';
import { type SequenceSetEvaluation, evaluateSequenceSets } from '../../metrics/sequenceSetEval';
import type { Params } from '../../metrics/score';
import { type ModelConfig, dims, paramShapes } from '../../model/architecture';
import { type HfModel, loadModelFolder } from '../../model/checkpoint';
import { loadTokenizer } from '../../model/hfTokenizer';
import { getMethod } from '../../methods/registry';
import { compareOn, hfCompareTarget } from '../../runs/compareRun';
import { type HfDataOptions, isPretrainedFolder, mitigateHf, prepareHfBase, readHfSets, saveHfMitigation, suppressTokenOf } from '../../runs/hfMitigate';
import { Runtime } from '../../runtime/session';
import { HEATMAP_MATCH, HEATMAP_NOISED, type EvaluationResult, type HeatmapPayload } from '../../../shared/metricTypes';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, StepError, claimStepOut, fmtPct, resolvePath, throttle, throwIfStopped } from '../context';
import { type CompareStep, type HfStepData, type MemorizationStep, type MitigateStep, findMethod, runnableMethodIds } from '../parseStep';
import { HF_KEYS } from '../stepSchema';
import { comparisonView, heatmapPairView, heatmapView, masksView, metricsView } from '../views';
import { compareOptions, mitigateOptions } from './progressOptions';

/** Rows of the sampled heatmap: memorized ones first (what an edit should change), then others for contrast. */
export const HF_HEATMAP_MEMORIZED_ROWS = 32;
export const HF_HEATMAP_OTHER_ROWS = 16;

type HfCapable = (MemorizationStep | MitigateStep | CompareStep) & HfStepData;

/**
 * Whether the step's checkpoint is a Hugging Face folder, with the cell's keys checked against the kind: a
 * Hugging Face folder needs its sets named, a TinyMem checkpoint brings its own data and takes none of them.
 */
export function usesHfFolder(s: HfCapable, dir: string): boolean {
  const hf = isPretrainedFolder(dir);
  if (!hf) {
    const given = HF_KEYS.find((k) => s[k] !== undefined);
    if (given) throw new StepError(given, `${dir} is a TinyMem checkpoint, measured on its own training data; \`${given}:\` is for Hugging Face model folders: remove it`);
    return false;
  }
  if (s.step === 'memorization' && !s.sequences && !s.text) {
    throw new StepError('sequences', `${dir} is a Hugging Face model folder without TinyMem data: add \`sequences: path/to/sequences.jsonl\` (memorized-sequence set, JSON/JSONL of token-id lists) and/or \`text: path/to/text.txt\` (for perplexity)`, 'checkpoint');
  }
  if (s.step !== 'memorization' && !s.sequences) {
    throw new StepError('sequences', `${dir} is a Hugging Face model folder without TinyMem data: add \`sequences: path/to/sequences.jsonl\` (memorized-sequence set, JSON/JSONL of token-id lists) to say what to unlearn, and \`text: path/to/text.txt\` for perplexity and the retain set`, 'checkpoint');
  }
  return true;
}

/** The cell's files, resolved against the notebook's folder and checked to exist (errors name the key). */
function dataOf(s: HfStepData, ctx: CellContext): HfDataOptions {
  const file = (key: 'sequences' | 'text' | 'retain'): string | undefined => {
    const v = s[key];
    if (v === undefined) return undefined;
    const f = resolvePath(ctx, v, key);
    if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new StepError(key, `${f}: no such file (relative paths start at the notebook's folder)`);
    return f;
  };
  return { sequences: file('sequences'), text: file('text'), retain: file('retain'), promptLength: s.promptLength, continuationLength: s.continuationLength };
}

/** A sequence-set measurement in the shape the metrics view draws (language data, perplexity on the text). */
function asEvaluation(e: SequenceSetEvaluation): EvaluationResult {
  return {
    dataset: 'language',
    artifact: 'noise',
    provider: e.provider,
    metrics: e.metrics,
    memorization: e.memorization,
    accuracy: null,
    perplexity: e.perplexity ? { sets: [{ set: 'text', ...e.perplexity }] } : null,
    heatmap: null,
    seconds: e.seconds,
  };
}

const spreadOf = (xs: readonly number[], n: number): number[] => (xs.length <= n ? [...xs] : Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]!));

/** The rows the heatmap shows: some memorized sequences and some others, ascending. */
export function heatmapRows(total: number, forgetSet: readonly number[]): number[] {
  const memorized = new Set(forgetSet);
  const others = Array.from({ length: total }, (_, r) => r).filter((r) => !memorized.has(r));
  return [...spreadOf(forgetSet, HF_HEATMAP_MEMORIZED_ROWS), ...spreadOf(others, HF_HEATMAP_OTHER_ROWS)].sort((a, b) => a - b);
}

/**
 * The memorization heatmap of `rows` of the sequence set. The evaluation keeps no generated tokens, so the sampled
 * rows are generated once more (a few dozen rows: small next to the whole set). A sequence set has no clean twin:
 * every compared token is the memorized content, so each position is flagged as an artifact position and reads as
 * memorized (reproduced) or not reproduced.
 */
async function sampleHeatmap(rt: Runtime, c: ModelConfig, params: Params, seqs: TokenMatrix, rows: number[], o: { promptLength: number; continuationLength: number; suppressToken: number | null; signal: AbortSignal }): Promise<HeatmapPayload> {
  const sub = gatherRows(seqs, rows);
  const k = o.continuationLength;
  // The same bound on a generation batch's logits as sequenceSetEval uses.
  const batch = Math.max(1, Math.min(64, Math.floor(2 ** 27 / ((o.promptLength + k) * dims(c).vocab))));
  const m = await measureMemorization(rt, c, params, { tokens: sub, clean: sub }, { promptLength: o.promptLength, k, filter: false, batch, unmatchableToken: o.suppressToken, signal: o.signal });
  const h = buildHeatmap(m.input, m, { tokenizer: 'gpt2' });
  return {
    ...h,
    mode: 'sequences',
    evaluatedRows: seqs.rows,
    truncated: rows.length < seqs.rows,
    rows: h.rows.map((r) => ({ ...r, row: rows[r.row]!, flags: r.flags.map((f) => (f & HEATMAP_MATCH) | HEATMAP_NOISED) })),
  };
}

/** Shows token ids with the folder's own tokenizer (Pythia's vocabulary is not GPT-2's); ids stay as #id without one. */
function withFolderTokens(v: ViewOutput, model: HfModel): ViewOutput {
  let decode: ((id: number) => string) | null = null;
  try {
    const t = loadTokenizer(model.dir);
    decode = (id) => t.decode([id]);
  } catch {
    decode = null;
  }
  const show = (id: number): string => {
    let s = '';
    try {
      s = decode ? decode(id) : '';
    } catch {
      s = '';
    }
    // A lone byte of a multi-byte character decodes to U+FFFD: its id says more. Other control bytes are escaped.
    if (s.includes('\uFFFD')) return `#${id}`;
    const shown = s.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return shown.slice(0, 60) || `#${id}`;
  };
  const fix = (d: { tokenText: [number, string][] }) => ({ ...d, tokenText: d.tokenText.map(([id]) => [id, show(id)] as [number, string]) });
  const p = v.payload as Record<string, unknown> & { tokenText?: [number, string][]; before?: { tokenText: [number, string][] }; after?: { tokenText: [number, string][] } };
  const payload = p.before && p.after ? { ...p, before: fix(p.before), after: fix(p.after) } : p.tokenText ? fix(p as { tokenText: [number, string][] }) : p;
  return { ...v, payload } as ViewOutput;
}

const runtimeProvider = (rt: Runtime): string => rt.providers.find((p) => !rt.skipped.some((x) => x.provider === p)) ?? '';

export async function runHfMemorization(s: MemorizationStep, dir: string, ctx: CellContext): Promise<CellResult> {
  const data = dataOf(s, ctx);
  const model = loadModelFolder(dir);
  const sets = readHfSets(model, data);
  const rt = new Runtime(ctx.runtime);
  try {
    const suppressToken = suppressTokenOf(model);
    const r = await evaluateSequenceSets(rt, model.config, model.params, { sequences: sets.sequences ?? undefined, text: sets.text ?? undefined }, {
      promptLength: sets.promptLength, continuationLength: sets.continuationLength, suppressToken, signal: ctx.signal,
      onProgress: (e) => ctx.onProgress({ message: `${e.stage} ${e.done}/${e.total}`, fraction: e.total ? e.done / e.total : undefined }),
    });
    const name = path.basename(dir);
    const outputs: ViewOutput[] = [metricsView(asEvaluation(r), s.title ?? `Memorization of ${name}`)];
    if (sets.sequences && r.memorization) {
      throwIfStopped(ctx);
      ctx.onProgress({ message: 'generating the heatmap rows' });
      const h = await sampleHeatmap(rt, model.config, model.params, sets.sequences, heatmapRows(sets.sequences.rows, r.memorization.forgetSet), { ...sets, suppressToken, signal: ctx.signal });
      outputs.push(withFolderTokens(heatmapView(h, `Memorization heatmap of ${name} (${h.rows.length} of ${h.evaluatedRows} sequences)`), model));
    }
    const status = `Measured the Hugging Face ${model.modelType} folder \`${dir}\` in ${r.seconds.toFixed(1)} s on **${r.provider || runtimeProvider(rt)}**${model.notes.length ? ` (${model.notes.join('; ')})` : ''}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider: r.provider, stopped: false };
  } finally {
    await rt.dispose();
  }
}

export async function runHfMitigate(s: MitigateStep, dir: string, ctx: CellContext): Promise<CellResult> {
  const info = findMethod(s.method)!;
  if (info.family === 'fine-tune') throw new StepError('method', `"${s.method}" continues TinyMem training on the checkpoint's own data, which a Hugging Face folder does not carry; pick an unlearning method such as balanced-subnet`);
  if (getMethod(s.method).usesRetain && !s.text && !s.retain) throw new StepError('text', `${info.name} keeps a retain set's loss low while unlearning: add \`text: path/to/text.txt\` (or \`retain:\`) with clean text, or a .json token file`, 'sequences');
  const data = dataOf(s, ctx);
  // The output is checked and locked before the model is measured; it may never be the model or a data file.
  const out = claimStepOut(ctx, s.out !== undefined ? resolvePath(ctx, s.out, 'out') : `${dir.replace(/[\\/]+$/, '')}-${s.method}`, { force: s.force, inputs: [dir, data.sequences, data.text, data.retain] });
  const rt = new Runtime(ctx.runtime);
  const progress = throttle<{ message: string; fraction?: number }>(250, (p) => ctx.onProgress(p));
  try {
    const base = await prepareHfBase(rt, dir, { ...data, onEvalProgress: (e) => progress.push({ message: `measuring the base model: ${e.stage} ${e.done}/${e.total}` }) });
    throwIfStopped(ctx);
    ctx.onProgress({ message: `${info.name}: forget set ${base.forget.rows} memorized sequences, retain set ${base.retain.rows} chunks` });
    const m = await mitigateHf(rt, base, mitigateOptions(s, ctx, info.name, progress));
    throwIfStopped(ctx);
    // The heatmap rows are generated before saving, so Stop during them leaves no half-written folder.
    const seqs = base.sets.sequences!;
    const rows = heatmapRows(seqs.rows, base.before.memorization!.forgetSet);
    const ho = { ...base.sets, suppressToken: suppressTokenOf(base.model), signal: ctx.signal };
    ctx.onProgress({ message: 'generating the heatmap rows before and after' });
    const hBefore = await sampleHeatmap(rt, base.model.config, base.model.params, seqs, rows, ho);
    const hAfter = await sampleHeatmap(rt, base.model.config, m.params, seqs, rows, ho);
    throwIfStopped(ctx);
    const saved = saveHfMitigation(out, base, m);
    ctx.state.lastCheckpoint = dir;
    ctx.state.lastEdited = saved;
    const memBefore = base.before.memorization?.percentMemorized ?? null;
    const memAfter = m.after.memorization?.percentMemorized ?? null;
    const title = s.title ?? `${info.name} on ${path.basename(dir)}`;
    const outputs: ViewOutput[] = [
      withFolderTokens(heatmapPairView(hBefore, hAfter, `${title}: memorization before and after (${rows.length} of ${seqs.rows} sequences)`), base.model),
      masksView({
        masks: m.masks,
        // The architecture's own names and shapes, so NeoX dense_h_to_4h / dense_4h_to_h masks draw as matrices.
        shapes: new Map(paramShapes(base.model.config)),
        method: info.name,
        family: info.family,
        utility: 'perplexity',
        memBefore,
        memAfter,
        utilityBefore: base.before.perplexity?.paper ?? null,
        utilityAfter: m.after.perplexity?.paper ?? null,
      }, `${title}: what was pruned`),
      metricsView(asEvaluation(m.after), `${title}: metrics after`),
    ];
    const hp = Object.entries(m.record.hyperParams).map(([k, v]) => `${k}=${v}`).join(', ');
    const ppl = (e: SequenceSetEvaluation) => (e.perplexity?.paper == null ? '' : e.perplexity.paper.toFixed(3));
    const pplNote = base.before.perplexity ? `; perplexity ${ppl(base.before)} → ${ppl(m.after)}` : '';
    const status = `${info.name} (${hp}) took ${m.record.seconds.toFixed(2)} s on **${m.after.provider || runtimeProvider(rt)}**; memorization ${fmtPct(memBefore)} → ${fmtPct(memAfter)}${pplNote}; edited Hugging Face folder \`${saved}\`.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider: m.after.provider, stopped: false };
  } finally {
    out.release();
    progress.flush();
    await rt.dispose();
  }
}

export async function runHfCompare(s: CompareStep, dir: string, ctx: CellContext): Promise<CellResult> {
  // `methods: all` also lists fine-tuning methods, which need TinyMem training data: leave them out; named ones fail.
  const all = s.methods.length === runnableMethodIds().length;
  const fineTune = s.methods.filter((id) => findMethod(id)?.family === 'fine-tune');
  if (fineTune.length && !all) throw new StepError('methods', `${fineTune.join(', ')} continue TinyMem training on the checkpoint's own data, which a Hugging Face folder does not carry; remove them`);
  const methods = s.methods.filter((id) => !fineTune.includes(id));
  if (s.grid && !s.text) throw new StepError('text', 'the grid picks each method\u2019s best point by memorization and perplexity change: add `text: path/to/text.txt` (or a .json token file) for perplexity', 'grid');
  const data = dataOf(s, ctx);
  const rt = new Runtime(ctx.runtime);
  const progress = throttle<{ message: string; fraction?: number }>(250, (p) => ctx.onProgress(p));
  try {
    const base = await prepareHfBase(rt, dir, { ...data, onEvalProgress: (e) => progress.push({ message: `measuring the base model: ${e.stage} ${e.done}/${e.total}` }) });
    ctx.state.lastCheckpoint = dir;
    throwIfStopped(ctx);
    const r = await compareOn(hfCompareTarget(rt, base), compareOptions(s, ctx, methods, progress));
    const provider = runtimeProvider(rt);
    const outputs: ViewOutput[] = [comparisonView(r, s.title ?? `Methods on ${path.basename(dir)}`)];
    const failed = r.rows.filter((x) => x.error);
    const status = `Compared ${r.rows.length} runs of ${methods.length} methods on the Hugging Face ${base.model.modelType} folder (forget ${base.forget.rows} sequences, retain ${base.retain.rows} chunks) on **${provider}**${all && fineTune.length ? '; fine-tuning methods left out (they need TinyMem training data)' : ''}${failed.length ? `; ${failed.length} failed (see the error column)` : ''}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider, stopped: false };
  } finally {
    progress.flush();
    await rt.dispose();
  }
}
