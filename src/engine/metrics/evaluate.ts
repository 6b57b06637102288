// One entry point that evaluates a model on a TinyMem dataset and returns every applicable metric of spec §3, each
// labelled and described in one line, as plain JSON data (types in src/shared/metricTypes.ts):
//   noise runs     memorization % of the artifacts (per duplication class), clean-continuation %, the forget set
//   backdoor runs  attack success on the held-out poisoned test set, clean-continuation %, the forget set
//   math           test accuracy, as the paper computes it and without padding
//   language       test perplexity, as the paper computes it and as exp(mean loss); token accuracy
//   both           perplexity of every test set (and of the noise set and its clean twins), the heatmap
// A user's sequence sets (`sequences` data) are measured by sequenceSetEval.ts into the same result type.
import type {
  EvaluationResult,
  MemorizationResult,
  MetricValue,
  NamedAccuracy,
  NamedPerplexity,
  PerplexityResult,
} from '../../shared/metricTypes';
import type { ArtifactSet, BackdoorSet, NamedSet } from '../data/datasetTypes';
import { GPT2_EOS } from '../data/gpt2Tokenizer';
import { MATH_EOS } from '../data/mathTokenizer';
import type { TokenMatrix } from '../data/tokenMatrix';
import { type ModelConfig, contextField, dims } from '../model/architecture';
import type { Runtime } from '../runtime/session';
import { PAPER_ACCURACY_BATCH, accuracyFromPredictions, summarizeAccuracy } from './accuracy';
import { measureBackdoor } from './backdoor';
import { buildHeatmap, HEATMAP_MAX_ROWS } from './heatmap';
import { type GenerateFn, MEM_K, MEM_PROMPT_LENGTH, type MeasuredMemorization, measureMemorization,
  throwIfAborted } from './memorization';
import { PAPER_PERPLEXITY_BATCH, perplexityFromRowSums } from './perplexity';
import type { Params } from './score';
import { type SequenceSetData, evaluateSequenceSets } from './sequenceSetEval';
import { rowLossSums, teacherForced } from './teacherForced';

/** What `evaluate` reads from a dataset; `MathDataset` and `LanguageDataset` both fit. */
export interface EvalDataset {
  readonly kind: 'math' | 'language';
  readonly vocabSize: number;
  readonly padToken: number;
  readonly artifacts: ArtifactSet;
  readonly tests: readonly NamedSet[];
  readonly backdoor: BackdoorSet | null;
}

export interface EvalProgress {
  /** e.g. "memorization", "backdoor", "forward main-7". */
  stage: string;
  done: number;
  total: number;
}

export interface EvaluateOptions {
  /** Which parts to compute (each default true where it applies). */
  memorization?: boolean;
  accuracy?: boolean;
  perplexity?: boolean;
  heatmap?: boolean;
  /** Noise runs: prompt length and the start of the filter window; backdoor runs: the filter start. Default 50. */
  promptLength?: number;
  /** Tokens compared after the prompt. Default 50. */
  k?: number;
  /**
   * Token that greedy decoding never emits, as in the reference (Hugging Face `generate` with
   * `min_length = max_ctx` suppresses EOS); a target window containing it never matches. Default: the dataset's EOS
   * (math 11, language 50256); null: off.
   */
  unmatchableToken?: number | null;
  /** Prompts per generation call (default 64, fewer for large vocabularies). */
  generationBatch?: number;
  /** Rows per teacher-forced run (default: 64, fewer for large vocabularies). */
  evalBatch?: number;
  /** The paper's perplexity batch (default 64). */
  perplexityBatch?: number;
  /** The paper's accuracy batch (default 1000). */
  accuracyBatch?: number;
  /** Heatmap rows at most (default 200). */
  heatmapRows?: number;
  /** Sequence sets: the memorized rows the heatmap shows first (default: this evaluation's forget set). */
  heatmapFocus?: readonly number[];
  /** Replaces greedy decoding with the model (tests, faster decoders). */
  generate?: GenerateFn;
  onProgress?: (p: EvalProgress) => void;
  /** Checked between batches; abort to stop with the signal's reason. */
  signal?: AbortSignal;
}

const D = {
  memorization: (p: number, k: number) =>
    `Share of noised training sequences (with noise in the compared window) whose greedy continuation of the clean ` +
      `${p}-token prompt ` +
    `reproduces the noised next ${k} tokens exactly; mean over duplication classes, as in the paper.`,
  memorizationPooled: 'Memorized ÷ evaluated noised sequences, all duplication classes pooled.',
  memorizationClass: (f: number) => `Memorization % of the noised sequences repeated ×${f} in training.`,
  cleanCorrect: (k: number) =>
    `Share of evaluated noised sequences whose greedy continuation is exactly the clean (un-noised) next ${k} ` +
      `tokens: the model generalised instead of regurgitating.`,
  forget: 'Sequences counted as memorized: the forget set that unlearning methods remove.',
  evaluated: (w: readonly [number, number] | null) =>
    w ? `Sequences whose artifact changes tokens ${w[0]}–${w[1] - 1}; the others are left out of every percentage.`
    : 'Sequences evaluated (no filter).',
  backdoor: (k: number, w: readonly [number, number] | null) =>
    `Attack success: share of held-out triggered test sequences whose greedy continuation after the trigger is ` +
      `exactly the backdoor (up to ${k} tokens)` +
    (w ? `; rows whose backdoor leaves tokens ${w[0]}–${w[1] - 1} unchanged are left out, as in the paper.` : '.'),
  backdoorClean: 'Share of evaluated triggered test sequences whose continuation after the trigger is the clean one: ' +
    'the backdoor did not fire and the model answered correctly.',
  backdoorForget: 'Held-out triggered sequences on which the backdoor fires: the forget set (and evaluation set) of ' +
    'unlearning in backdoor runs.',
  accPaper: 'Teacher-forced next-token accuracy over all positions, padding included, averaged over the test sets: ' +
    'the paper\u2019s number (padding inflates it).',
  accNoPad: 'Teacher-forced next-token accuracy counting only positions whose target is not padding, averaged over ' +
    'the test sets.',
  accSetPaper: (s: string) => `Next-token accuracy on ${s}, padding included (paper).`,
  accSetNoPad: (s: string) => `Next-token accuracy on ${s}, padding excluded.`,
  pplPaper: (s: string, b: number) => `Perplexity of ${s} as the paper reports it: the mean over batches of ${b} ` +
    `sequences of exp(batch mean cross-entropy), padding included.`,
  pplExp: (s: string) => `Perplexity of ${s}: exp of the mean next-token cross-entropy over all tokens, padding ` +
    `included.`,
};

const isBackdoorSet = (name: string) => name.startsWith('backdoor-');

/** Evaluates a model on a dataset or a user's sequence sets: every applicable metric of spec §3, with descriptions. */
export async function evaluate(
  rt: Runtime,
  c: ModelConfig,
  params: Params,
  ds: EvalDataset | SequenceSetData,
  o: EvaluateOptions = {},
): Promise<EvaluationResult> {
  if (ds.kind === 'sequences') return evaluateSequenceSets(rt, c, params, ds, o);
  const t0 = performance.now();
  if (c.vocab_size < ds.vocabSize) throw new RangeError(
    `the model's vocab_size ${c.vocab_size} is smaller than the dataset's vocabulary ${ds.vocabSize}`);
  const cols = ds.artifacts.tokens.cols;
  if (cols > dims(c).context) throw new RangeError(
    `the dataset's ${cols}-token sequences exceed the model's context ${contextField(c)}`);
  const artifact = ds.artifacts.kind;
  const want = (x: boolean | undefined) => x ?? true;
  const promptLength = o.promptLength ?? MEM_PROMPT_LENGTH;
  const k = o.k ?? MEM_K;
  const eos = o.unmatchableToken !== undefined ? o.unmatchableToken : ds.kind === 'math' ? MATH_EOS : GPT2_EOS;
  const progress = (stage: string) => (done: number, total: number) => o.onProgress?.({ stage, done, total });
  let provider = '';

  // Memorization or attack success.
  let measured: MeasuredMemorization | null = null;
  if (want(o.memorization)) {
    // Greedy decoding materialises [batch, prompt + k, vocab] logits: fewer prompts per call for large vocabularies.
    const batch = o.generationBatch
      ?? Math.max(1, Math.min(64, Math.floor(2 ** 27 / ((promptLength + k) * c.vocab_size))));
    const gen = { batch, generate: o.generate, signal: o.signal, unmatchableToken: eos, k };
    if (artifact === 'noise') {
      measured = await measureMemorization(rt, c, params, ds.artifacts,
        { ...gen, promptLength, onProgress: progress('memorization') });
    } else {
      if (!ds.backdoor) throw new Error(
        'a backdoor dataset must carry its held-out poisoned test set (dataset.backdoor)');
      measured = await measureBackdoor(rt, c, params, ds.backdoor,
        { ...gen, filterStart: promptLength, onProgress: progress('backdoor') });
    }
    provider = measured.provider || provider;
  }

  // Accuracy and perplexity from one teacher-forced pass per set.
  const doAcc = want(o.accuracy);
  const doPpl = want(o.perplexity);
  const accSets: NamedAccuracy[] = [];
  const pplSets: NamedPerplexity[] = [];
  const pplBatch = o.perplexityBatch ?? PAPER_PERPLEXITY_BATCH;
  if (doAcc || doPpl) {
    const forward = async (name: string, m: TokenMatrix) => {
      throwIfAborted(o.signal);
      const report = progress(`forward ${name}`);
      const r = await teacherForced(rt, c, params, m,
        { batch: o.evalBatch, signal: o.signal, onBatch: (d) => report(d, m.rows) });
      provider = r.provider || provider;
      return r;
    };
    for (const t of ds.tests) {
      if (t.tokens.rows === 0) continue;
      const r = await forward(t.name, t.tokens);
      if (doAcc) accSets.push(
        { set: t.name, ...accuracyFromPredictions(t.tokens, r.predictions, ds.padToken, o.accuracyBatch
        ?? PAPER_ACCURACY_BATCH) });
      if (doPpl) pplSets.push(
        { set: t.name, ...perplexityFromRowSums(rowLossSums(r.losses, t.tokens.rows, t.tokens.cols), t.tokens.cols - 1,
          pplBatch) });
    }
    if (doPpl && artifact === 'noise' && ds.artifacts.tokens.rows > 0) {
      const a = ds.artifacts;
      const classes = a.dupFactors.length;
      for (const [set, m] of [['artifacts-noised', a.tokens], ['artifacts-clean', a.clean]] as const) {
        const r = await forward(set, m);
        pplSets.push({ set, ...perplexityFromRowSums(rowLossSums(r.losses, m.rows, m.cols), m.cols - 1, pplBatch) });
        if (classes > 1) {
          for (let cls = 0; cls < classes; cls++) {
            const rows: number[] = [];
            a.dupClass.forEach((v, i) => v === cls && rows.push(i));
            if (rows.length) pplSets.push(
              { set, dupClass: cls, ...perplexityFromRowSums(rowLossSums(r.losses, m.rows, m.cols, rows), m.cols - 1,
                pplBatch) });
          }
        }
      }
    }
  }
  const averaged = accSets.map((s) => s.set).filter((s) => !isBackdoorSet(s));
  const accuracy = doAcc && accSets.length ? summarizeAccuracy(accSets, averaged, ds.padToken) : null;
  const perplexity: PerplexityResult | null = doPpl && pplSets.length ? { sets: pplSets } : null;
  const memorization = measured?.result ?? null;
  const heatmap =
    measured && want(o.heatmap)
      ? buildHeatmap(measured.input, measured,
      { tokenizer: ds.kind === 'math' ? 'math' : 'gpt2', maxRows: o.heatmapRows ?? HEATMAP_MAX_ROWS }) : null;

  return {
    dataset: ds.kind,
    artifact,
    provider,
    metrics: describe(ds.kind, memorization, accuracy, perplexity, pplBatch),
    memorization,
    accuracy,
    perplexity,
    heatmap,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The flat, described list of metrics users see; headline ones first. */
function describe(
  kind: 'math' | 'language',
  mem: MemorizationResult | null,
  acc: EvaluationResult['accuracy'],
  ppl: PerplexityResult | null,
  pplBatch: number,
): MetricValue[] {
  const head: MetricValue[] = [];
  const rest: MetricValue[] = [];
  const add = (headline: boolean, m: Omit<MetricValue, 'headline'>) =>
    (headline ? head : rest).push({ ...m, headline });
  if (mem) {
    const bd = mem.mode === 'backdoor';
    const main = bd ? D.backdoor(mem.k, mem.filterWindow) : D.memorization(mem.promptLength ?? 0, mem.k);
    add(true, { id: bd ? 'backdoorSuccess' : 'memorization', label: bd ? 'Backdoor success %' : 'Memorization %',
      value: mem.percentMemorized, unit: 'percent', description: main });
    add(true, { id: 'cleanContinuation', label: 'Clean continuation %', value: mem.percentCleanCorrect,
      unit: 'percent', description: bd ? D.backdoorClean : D.cleanCorrect(mem.k) });
    add(true, { id: 'forgetSet', label: 'Forget set', value: mem.forgetSet.length, unit: 'count', description: bd
      ? D.backdoorForget : D.forget });
    add(false, { id: 'evaluated', label: 'Evaluated sequences', value: mem.pooled.kept, unit: 'count',
      description: D.evaluated(mem.filterWindow) });
    if (mem.byClass.length > 1) {
      add(false, { id: 'memorization.pooled', label: 'Memorization % (pooled)', value: mem.pooled.percentMemorized,
        unit: 'percent', description: D.memorizationPooled });
      for (const c of mem.byClass) {
        add(false, { id: `memorization.class${c.dupClass}`, label: `Memorization % (×${c.factor})`,
          value: c.percentMemorized, unit: 'percent', description: D.memorizationClass(c.factor) });
      }
    }
  }
  if (acc) {
    const main = kind === 'math';
    const sets = acc.averagedSets.join(', ');
    add(main, { id: 'accuracy.paper', label: 'Accuracy % (paper, with padding)', value: acc.paper, unit: 'percent',
      description: `${D.accPaper} Sets: ${sets}.` });
    add(main, { id: 'accuracy.noPad', label: 'Accuracy % (without padding)', value: acc.noPad, unit: 'percent',
      description: `${D.accNoPad} Sets: ${sets}.` });
    if (acc.sets.length > 1) {
      for (const s of acc.sets) {
        add(false, { id: `accuracy.paper.${s.set}`, label: `Accuracy % ${s.set} (paper)`, value: s.paper,
          unit: 'percent', description: D.accSetPaper(s.set) });
        add(false, { id: `accuracy.noPad.${s.set}`, label: `Accuracy % ${s.set} (no padding)`, value: s.noPad,
          unit: 'percent', description: D.accSetNoPad(s.set) });
      }
    }
  }
  if (ppl) {
    for (const s of ppl.sets) {
      const name = s.dupClass === undefined ? s.set : `${s.set} class ${s.dupClass}`;
      const headline = kind === 'language' && s.set === 'test';
      const id = s.dupClass === undefined ? s.set : `${s.set}.class${s.dupClass}`;
      add(headline, { id: `perplexity.paper.${id}`, label: `Perplexity ${name} (paper)`, value: s.paper,
        unit: 'perplexity', description: D.pplPaper(name, pplBatch) });
      add(headline,
        { id: `perplexity.expMean.${id}`, label: `Perplexity ${name} (exp mean loss)`, value: s.expMeanLoss,
          unit: 'perplexity', description: D.pplExp(name) });
    }
  }
  return [...head, ...rest];
}
