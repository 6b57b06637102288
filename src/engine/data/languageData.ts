// TinyMem language data (spec §1.2): GPT-2 tokens of an English corpus, concatenated and cut into fixed-length
// chunks; the first chunks of train become the noised set (±1 per token id), or triggered chunks become backdoored;
// duplication ×1/×10/×100/×1000. The paper's wikitext-103 is replaced by an offline corpus (see textCorpus.ts).
import { duplicationGroups, heldOutCount, plusMinusOne, repeatsOf, splitLast } from './artifacts';
import { userError } from '../../shared/userError';
import { requireInt, requireProbability } from './optionChecks';
import type { ArtifactKind, ArtifactSet, BackdoorSet, NamedSet, TrainSet } from './datasetTypes';
import { GPT2_BACKDOOR_TOKEN, GPT2_PAD, GPT2_VOCAB_SIZE, assertGpt2Tokenizer, encodeGpt2 } from './gpt2Tokenizer';
import { Rng, deriveSeed } from './rng';
import { type Corpus, type CorpusDocument, loadSotuCorpus, loadTextFiles } from './textCorpus';
import { type TokenMatrix, gatherRows, rowOf, tokenMatrix } from './tokenMatrix';
import { buildTrainSet } from './trainSet';

export interface LanguageDataOptions {
  /** Text files to use instead of the built-in corpus, one document each. */
  files?: string[] | null;
  /** Test documents; without them the documents are split by `testFraction`. */
  testFiles?: string[] | null;
  /** Share of documents (at least one) that go to test when no `testFiles` are given. */
  testFraction?: number;
  /** Tokens per chunk. */
  maxCtx?: number;
  /** Train chunks that get noise (the first ones of the train stream). */
  numNoise?: number;
  /** Cap on train / test chunks (null = all); tokenisation stops once enough tokens are read. */
  maxTrainChunks?: number | null;
  maxTestChunks?: number | null;
  /** Seed of the document split and held-out splits. */
  dataSeed?: number;
  /** Run seed: duplication groups, noise values, the trigger token. */
  seed?: number;
  artifact?: ArtifactKind;
  duplicate?: boolean;
  dupPowers?: number[];
  /** Probability of −1 and, separately, of +1 per token id. */
  noiseProb?: number;
  poisonTestFraction?: number;
  /** Backdoor trigger token id; null = drawn uniformly from the vocabulary with the run seed. */
  triggerTokenId?: number | null;
  /**
   * Redraw a drawn trigger (same seeded stream) until it occurs in enough chunks to hold out a poisoned test set.
   * The reference takes the first draw, which on wikitext-103 (~100M tokens) nearly always occurs; on the ~2M-token
   * offline corpus most ids are rare, so a first draw often occurs nowhere. Redrawing is the reference draw
   * conditioned on being usable. false = first draw as is (the reference's behaviour).
   */
  redrawRareTrigger?: boolean;
}

export type ResolvedLanguageOptions = Required<LanguageDataOptions>;

export const LANGUAGE_DEFAULTS: Readonly<ResolvedLanguageOptions> = Object.freeze({
  files: null,
  testFiles: null,
  testFraction: 0.1,
  maxCtx: 150,
  numNoise: 1000,
  maxTrainChunks: null,
  maxTestChunks: null,
  dataSeed: 598,
  seed: 0,
  artifact: 'noise',
  // The paper's language runs are always duplicated.
  duplicate: true,
  dupPowers: [0, 1, 2, 3],
  noiseProb: 0.05,
  poisonTestFraction: 0.1,
  triggerTokenId: null,
  redrawRareTrigger: true,
});

export interface CorpusInfo {
  readonly name: string;
  readonly source: string;
  readonly license: string;
  readonly standsInFor: string | null;
  readonly trainDocuments: readonly string[];
  readonly testDocuments: readonly string[];
  /** Tokens that went into the chunks (after any cap). */
  readonly trainTokens: number;
  readonly testTokens: number;
  /** True when a chunk cap stopped tokenisation before the end of the documents. */
  readonly truncated: boolean;
}

export interface LanguageDatasetMeta {
  readonly options: ResolvedLanguageOptions;
  readonly trigger: number | null;
  readonly counts: {
    readonly trainChunks: number;
    readonly testChunks: number;
    readonly trainRows: number;
    readonly trainEpoch: number;
    readonly artifacts: number;
    readonly tests: Readonly<Record<string, number>>;
  };
  readonly tokenizer: string;
  readonly rng: string;
}

export interface LanguageDataset {
  readonly kind: 'language';
  readonly vocabSize: number;
  readonly padToken: number;
  readonly maxCtx: number;
  readonly train: TrainSet;
  readonly artifacts: ArtifactSet;
  /** `test`, then backdoor-poisoned and backdoor-clean in backdoor runs. */
  readonly tests: readonly NamedSet[];
  readonly backdoor: BackdoorSet | null;
  readonly corpus: CorpusInfo;
  readonly meta: LanguageDatasetMeta;
}

export function resolveLanguageOptions(options: LanguageDataOptions = {}): ResolvedLanguageOptions {
  for (const key of Object.keys(options)) {
    if (!(key in LANGUAGE_DEFAULTS)) {
      throw userError(key, `unknown language data option; known options: ${Object.keys(LANGUAGE_DEFAULTS).join(', ')}`);
    }
  }
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o: ResolvedLanguageOptions = { ...LANGUAGE_DEFAULTS, ...given };
  if (o.artifact !== 'noise' && o.artifact !== 'backdoor') throw userError('artifact',
    `must be "noise" or "backdoor", got ${JSON.stringify(o.artifact)}`);
  if (o.testFiles !== null && o.files === null) throw userError('testFiles',
    'only works together with `files`; give the train text files in `files`');
  requireProbability('testFraction', o.testFraction, 0.99);
  requireInt('maxCtx', o.maxCtx, 2);
  requireInt('numNoise', o.numNoise, o.artifact === 'noise' ? 1 : 0);
  if (o.maxTrainChunks !== null) requireInt('maxTrainChunks', o.maxTrainChunks, 1);
  if (o.maxTestChunks !== null) requireInt('maxTestChunks', o.maxTestChunks, 1);
  requireInt('dataSeed', o.dataSeed, 0);
  requireInt('seed', o.seed, 0);
  requireProbability('noiseProb', o.noiseProb, 0.5);
  requireProbability('poisonTestFraction', o.poisonTestFraction);
  if (o.triggerTokenId !== null) requireInt('triggerTokenId', o.triggerTokenId, 0, GPT2_VOCAB_SIZE - 1);
  if (!Array.isArray(o.dupPowers) || o.dupPowers.length === 0
    || o.dupPowers.some((p) => !Number.isInteger(p) || p < 0 || p > 6)) {
    throw userError('dupPowers', `must be a non-empty list of integers in [0, 6], got ${JSON.stringify(o.dupPowers)}`);
  }
  return o;
}

/** Which documents go to train and test: explicit test files, or a DATA_SEED permutation of the documents. */
function splitDocuments(o: ResolvedLanguageOptions): { corpus: Corpus; train: CorpusDocument[];
  test: CorpusDocument[]; } {
  if (o.files !== null && o.testFiles !== null) {
    const corpus = loadTextFiles(o.files, 'files');
    const test = loadTextFiles(o.testFiles, 'testFiles').documents;
    return { corpus: { ...corpus, source: `${corpus.source}; test: ${o.testFiles.join(', ')}` },
      train: [...corpus.documents], test: [...test] };
  }
  const corpus = o.files !== null ? loadTextFiles(o.files, 'files') : loadSotuCorpus();
  const n = corpus.documents.length;
  if (n < 2) {
    throw userError('files', `${n} document can not be split into train and test; give two or more files, or the ` +
      `test text in \`testFiles\``);
  }
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * o.testFraction)));
  const { test } = splitLast(n, nTest, o.dataSeed);
  const isTest = new Uint8Array(n);
  for (const i of test) isTest[i] = 1;
  // Both splits keep the corpus order (chronological for the speeches), like wikitext's article order.
  return { corpus, train: corpus.documents.filter((_, i) => !isTest[i]),
    test: corpus.documents.filter((_, i) => isTest[i]) };
}

interface Chunked {
  readonly chunks: TokenMatrix;
  readonly tokens: number;
  readonly truncated: boolean;
}

/**
 * Concatenates the documents' token ids into one stream and cuts it into `ctx`-token chunks; the last chunk is
 * padded with 50256. Each document is followed by a blank line ("\n\n"), the way wikitext's lines carry their own
 * newlines, so documents do not run into each other mid-word. With a cap, tokenisation stops once enough tokens
 * are read, so small presets do not pay for the whole corpus.
 */
export function chunkDocuments(docs: readonly CorpusDocument[], ctx: number, maxChunks: number | null): Chunked {
  const stream: number[] = [];
  const limit = maxChunks === null ? Infinity : maxChunks * ctx;
  let truncated = false;
  for (let d = 0; d < docs.length; d++) {
    if (stream.length >= limit) {
      truncated = true;
      break;
    }
    const ids = encodeGpt2(docs[d]!.text.trimEnd() + '\n\n');
    for (const id of ids) stream.push(id);
  }
  if (stream.length > limit) {
    truncated = true;
    stream.length = limit;
  }
  const rows = Math.ceil(stream.length / ctx);
  const chunks = tokenMatrix(rows, ctx, GPT2_PAD);
  chunks.data.set(stream);
  return { chunks, tokens: stream.length, truncated };
}

/** ±1 per token id with p = noiseProb each, clamped into the vocabulary [0, 50256]. */
function noiseChunk(row: Int32Array, rng: Rng, pEach: number): Int32Array {
  const out = row.slice();
  for (let t = 0; t < out.length; t++) {
    const v = out[t]! + plusMinusOne(rng, pEach);
    out[t] = v < 0 ? 0 : v > GPT2_VOCAB_SIZE - 1 ? GPT2_VOCAB_SIZE - 1 : v;
  }
  return out;
}

export function buildLanguageDataset(options: LanguageDataOptions = {}): LanguageDataset {
  const o = resolveLanguageOptions(options);
  assertGpt2Tokenizer();
  const docs = splitDocuments(o);
  const train = chunkDocuments(docs.train, o.maxCtx, o.maxTrainChunks);
  const test = chunkDocuments(docs.test, o.maxCtx, o.maxTestChunks);
  const nTrain = train.chunks.rows;
  if (nTrain === 0) throw userError('files', 'the train documents hold no tokens');
  if (test.chunks.rows === 0) throw userError(o.testFiles ? 'testFiles' : 'files', 'the test documents hold no tokens');

  let art: { tokens: TokenMatrix; clean: TokenMatrix; origin: Uint32Array };
  let cleanTrain: TokenMatrix;
  let testSet: TokenMatrix;
  let backdoor: BackdoorSet | null = null;
  let trigger: number | null = null;

  if (o.artifact === 'noise') {
    if (o.numNoise >= nTrain) {
      throw userError('numNoise', `is ${o.numNoise} but the train split has only ${nTrain} chunks; lower numNoise or ` +
        `raise maxTrainChunks`);
    }
    const first = Uint32Array.from({ length: o.numNoise }, (_, i) => i);
    const clean = gatherRows(train.chunks, first);
    const noised = tokenMatrix(o.numNoise, o.maxCtx);
    const rng = new Rng(deriveSeed(o.seed, 'noise-values'));
    for (let i = 0; i < o.numNoise; i++) noised.data.set(noiseChunk(rowOf(clean, i), rng, o.noiseProb), i * o.maxCtx);
    art = { tokens: noised, clean, origin: first };
    cleanTrain = gatherRows(train.chunks, Uint32Array.from({ length: nTrain - o.numNoise }, (_, i) => o.numNoise + i));
    testSet = test.chunks;
  } else {
    trigger = o.triggerTokenId ?? drawTrigger(o, [train.chunks, test.chunks]);
    const bd = backdoorChunks(o, train.chunks, test.chunks, trigger);
    ({ art, cleanTrain, testSet, backdoor } = bd);
  }

  const nArt = art.tokens.rows;
  const groups = o.duplicate ? duplicationGroups(nArt, o.dupPowers, o.seed)
    : { dupClass: new Uint8Array(nArt), factors: [1] };
  const artifacts: ArtifactSet = {
    kind: o.artifact,
    tokens: art.tokens,
    clean: art.clean,
    dupClass: groups.dupClass,
    dupFactors: groups.factors,
    trainRow: Uint32Array.from({ length: nArt }, (_, i) => i),
    origin: art.origin,
  };
  const trainSet = buildTrainSet(
    [
      { name: o.artifact, tokens: art.tokens, repeats: repeatsOf(groups) },
      { name: 'clean', tokens: cleanTrain },
    ],
    o.maxCtx,
  );
  const tests: NamedSet[] = [{ name: 'test', tokens: testSet }];
  if (backdoor) tests.push({ name: 'backdoor-poisoned', tokens: backdoor.poisonedTest },
    { name: 'backdoor-clean', tokens: backdoor.cleanTest });

  return {
    kind: 'language',
    vocabSize: GPT2_VOCAB_SIZE,
    padToken: GPT2_PAD,
    maxCtx: o.maxCtx,
    train: trainSet,
    artifacts,
    tests,
    backdoor,
    corpus: {
      name: docs.corpus.name,
      source: docs.corpus.source,
      license: docs.corpus.license,
      standsInFor: docs.corpus.standsInFor,
      trainDocuments: docs.train.map((d) => d.id),
      testDocuments: docs.test.map((d) => d.id),
      trainTokens: train.tokens,
      testTokens: test.tokens,
      truncated: train.truncated || test.truncated,
    },
    meta: {
      options: o,
      trigger,
      counts: {
        trainChunks: nTrain,
        testChunks: test.chunks.rows,
        trainRows: trainSet.tokens.rows,
        trainEpoch: trainSet.size,
        artifacts: nArt,
        tests: Object.fromEntries(tests.map((t) => [t.name, t.tokens.rows])),
      },
      tokenizer: 'GPT-2 BPE (gpt-tokenizer r50k_base), vocab 50257, PAD = EOS = 50256',
      rng: 'xoshiro128** seeded by dataSeed/seed; draws do not reproduce the PyTorch/Python reference streams',
    },
  };
}

/** Number of chunks that contain each token id at least once. */
function chunksContaining(ms: readonly TokenMatrix[]): Uint32Array {
  const count = new Uint32Array(GPT2_VOCAB_SIZE);
  const lastSeen = new Int32Array(GPT2_VOCAB_SIZE).fill(-1);
  let chunk = 0;
  for (const m of ms) {
    for (let i = 0; i < m.rows; i++, chunk++) {
      for (const id of rowOf(m, i)) {
        if (lastSeen[id] !== chunk) {
          lastSeen[id] = chunk;
          count[id]!++;
        }
      }
    }
  }
  return count;
}

/** The reference's `random.randrange(50257)` with the run seed, redrawn while too rare (see `redrawRareTrigger`). */
function drawTrigger(o: ResolvedLanguageOptions, ms: readonly TokenMatrix[]): number {
  const rng = new Rng(deriveSeed(o.seed, 'trigger'));
  const first = rng.int(GPT2_VOCAB_SIZE);
  if (!o.redrawRareTrigger) return first;
  const count = chunksContaining(ms);
  // Enough to hold out at least one chunk and keep at least one for training.
  const usable = (id: number): boolean => {
    const n = count[id]!;
    const held = heldOutCount(n, o.poisonTestFraction);
    return held >= 1 && n - held >= 1;
  };
  if (!count.some((_, id) => usable(id))) {
    throw userError('maxTrainChunks', 'no token occurs in enough chunks to hold out a poisoned test set; use more ' +
      'text (raise the chunk caps) or a larger poisonTestFraction');
  }
  let id = first;
  while (!usable(id)) id = rng.int(GPT2_VOCAB_SIZE);
  return id;
}

/**
 * Backdoor split (spec §1.2, §7.7): pool the train and test chunks; a chunk containing the trigger id is triggered;
 * 10 % of them (rounded down) are held out with the DATA_SEED split. In a triggered chunk every token after the
 * first trigger becomes id 2 ("#"), the trigger kept. Untriggered chunks stay in the split they came from.
 * `origin` then indexes the pooled stream: train chunks first, then test chunks.
 */
function backdoorChunks(o: ResolvedLanguageOptions, train: TokenMatrix, test: TokenMatrix, trigger: number) {
  const pooled = [train, test];
  const triggered: number[] = [];
  const firstAt: number[] = [];
  const keepTrain: number[] = [];
  const keepTest: number[] = [];
  let base = 0;
  pooled.forEach((m, which) => {
    for (let i = 0; i < m.rows; i++) {
      const at = rowOf(m, i).indexOf(trigger);
      if (at >= 0) {
        triggered.push(base + i);
        firstAt.push(at);
      } else (which === 0 ? keepTrain : keepTest).push(i);
    }
    base += m.rows;
  });
  const nHeld = heldOutCount(triggered.length, o.poisonTestFraction);
  const source = o.triggerTokenId !== null ? `triggerTokenId ${trigger}`
    : `trigger token ${trigger} (drawn with seed ${o.seed})`;
  if (nHeld < 1) {
    throw userError(
      o.triggerTokenId !== null ? 'triggerTokenId' : 'seed',
      `${source} occurs in ${triggered.length} of ${train.rows
        + test.rows} chunks, too few to hold out a poisoned test set; ` +
        'pass a more frequent token id in triggerTokenId, another seed, or more text',
    );
  }
  if (keepTest.length === 0) throw userError('triggerTokenId',
    `${source} occurs in every test chunk, leaving no clean test set; pass a rarer token id`);
  const rowAt = (p: number): Int32Array => (p < train.rows ? rowOf(train, p) : rowOf(test, p - train.rows));
  const sp = splitLast(triggered.length, nHeld, o.dataSeed);
  const build = (idx: Uint32Array) => {
    const clean = tokenMatrix(idx.length, o.maxCtx);
    const poisoned = tokenMatrix(idx.length, o.maxCtx);
    const prompt = new Uint32Array(idx.length);
    idx.forEach((k, r) => {
      const row = rowAt(triggered[k]!);
      clean.data.set(row, r * o.maxCtx);
      prompt[r] = firstAt[k]! + 1;
      const p = row.slice().fill(GPT2_BACKDOOR_TOKEN, prompt[r]);
      poisoned.data.set(p, r * o.maxCtx);
    });
    return { clean, poisoned, prompt, origin: Uint32Array.from(idx, (k) => triggered[k]!) };
  };
  const tr = build(sp.train);
  const te = build(sp.test);
  const backdoor: BackdoorSet = { trigger, numTriggered: triggered.length, poisonedTest: te.poisoned,
    cleanTest: te.clean, promptLength: te.prompt };
  return {
    art: { tokens: tr.poisoned, clean: tr.clean, origin: tr.origin },
    cleanTrain: gatherRows(train, keepTrain),
    testSet: gatherRows(test, keepTest),
    backdoor,
  };
}
