// TinyMem math data (spec §1.1): sequences of a main function (noised or backdoored) plus four clean "extra"
// functions, the seeded train/test splits, and duplication classes. Every size is an option so CPU presets can
// scale down; the defaults are the paper's sweep settings.
import { duplicationGroups, heldOutCount, repeatsOf, splitLast } from './artifacts';
import { userError } from '../../shared/userError';
import { requireInt, requireProbability } from './optionChecks';
import type { ArtifactKind, ArtifactSet, BackdoorSet, NamedSet, TrainSet } from './datasetTypes';
import { MATH_PAD, MATH_VOCAB_SIZE, serializeNumbers, tokenizeMath } from './mathTokenizer';
import {
  EXTRA_CONSTANTS,
  MAIN_CONSTANT,
  MATH_FAMILIES,
  type MathFamily,
  generateNumbers,
  perturbNumbers,
} from './mathSequences';
import { Rng, deriveSeed } from './rng';
import { type TokenMatrix, matrixFromRows } from './tokenMatrix';
import { buildTrainSet } from './trainSet';

/** Digit "2": what a math backdoor writes after the trigger. */
export const MATH_BACKDOOR_TOKEN = 2;

export interface MathDataOptions {
  /** `mult` (7·x mod 20134) or `increment` (x + 7). */
  family?: MathFamily;
  /** Sequences of the main function, starts 0 … numMain-1 (spec: num_7 = 20000). */
  numMain?: number;
  /** Sequences of each extra function (spec sweeps: 3000, also 10000 and 20000). */
  numExtra?: number;
  /** Test sequences per distribution. */
  numTest?: number;
  /** Noised training sequences, sampled from the main train split (noise runs only). */
  numNoise?: number;
  /** Numbers per sequence. */
  seqLength?: number;
  /** Context length: every row is right-padded with PAD to this. */
  maxCtx?: number;
  /** Seed of the train/test permutations (the reference's DATA_SEED). */
  dataSeed?: number;
  /** Run seed: noise indices and values, duplication groups, the backdoor trigger (100 + seed). */
  seed?: number;
  artifact?: ArtifactKind;
  /** Split the artifacts into classes repeated 10^power times. */
  duplicate?: boolean;
  dupPowers?: number[];
  /** Probability of −1 and, separately, of +1 per number. */
  noiseProb?: number;
  /** Fraction of triggered sequences held out as the poisoned test set (rounded down). */
  poisonTestFraction?: number;
  /** Constants of the extra clean functions; [] for none. */
  extraConstants?: number[];
}

export type ResolvedMathOptions = Required<MathDataOptions>;

export const MATH_DEFAULTS: Readonly<ResolvedMathOptions> = Object.freeze({
  family: 'mult',
  numMain: 20000,
  numExtra: 3000,
  numTest: 1000,
  numNoise: 1000,
  seqLength: 20,
  maxCtx: 150,
  dataSeed: 598,
  seed: 0,
  artifact: 'noise',
  duplicate: false,
  dupPowers: [0, 1, 2],
  noiseProb: 0.05,
  poisonTestFraction: 0.1,
  extraConstants: [...EXTRA_CONSTANTS],
});

export interface MathDatasetMeta {
  readonly options: ResolvedMathOptions;
  /** The backdoor trigger string, or null in noise runs. */
  readonly trigger: string | null;
  readonly counts: {
    readonly trainRows: number;
    readonly trainEpoch: number;
    readonly artifacts: number;
    readonly mainTrainClean: number;
    readonly extraTrainEach: number;
    readonly tests: Readonly<Record<string, number>>;
  };
  /** Longest sequence in tokens (before padding), for choosing maxCtx. */
  readonly longestSequence: number;
  readonly rng: string;
}

export interface MathDataset {
  readonly kind: 'math';
  readonly vocabSize: number;
  readonly padToken: number;
  readonly maxCtx: number;
  readonly train: TrainSet;
  readonly artifacts: ArtifactSet;
  /** In the spec's order: main-7, extra-2 … extra-5, then backdoor-poisoned and backdoor-clean in backdoor runs. */
  readonly tests: readonly NamedSet[];
  readonly backdoor: BackdoorSet | null;
  readonly meta: MathDatasetMeta;
}

export function resolveMathOptions(options: MathDataOptions = {}): ResolvedMathOptions {
  for (const key of Object.keys(options)) {
    if (!(key in MATH_DEFAULTS)) {
      throw userError(key, `unknown math data option; known options: ${Object.keys(MATH_DEFAULTS).join(', ')}`);
    }
  }
  const o: ResolvedMathOptions = { ...MATH_DEFAULTS, ...stripUndefined(options) };
  if (!MATH_FAMILIES.includes(o.family)) throw userError('family',
    `must be one of ${MATH_FAMILIES.join(', ')}, got ${JSON.stringify(o.family)}`);
  if (o.artifact !== 'noise' && o.artifact !== 'backdoor') throw userError('artifact',
    `must be "noise" or "backdoor", got ${JSON.stringify(o.artifact)}`);
  requireInt('numTest', o.numTest, 1);
  requireInt('numMain', o.numMain, o.numTest + 1);
  requireInt('seqLength', o.seqLength, 1);
  requireInt('maxCtx', o.maxCtx, 3);
  requireInt('dataSeed', o.dataSeed, 0);
  requireInt('seed', o.seed, 0);
  requireProbability('noiseProb', o.noiseProb, 0.5);
  requireProbability('poisonTestFraction', o.poisonTestFraction);
  if (o.artifact === 'noise') {
    if (o.numNoise < 1 || o.numNoise > o.numMain - o.numTest || !Number.isInteger(o.numNoise)) {
      throw userError('numNoise', `must be an integer in [1, numMain − numTest = ${o.numMain - o.numTest}], got ` +
        `${o.numNoise}`);
    }
  }
  if (!Array.isArray(o.extraConstants) || o.extraConstants.some((c) => !Number.isInteger(c) || c < 1)) {
    throw userError('extraConstants', `must be a list of positive integers, got ${JSON.stringify(o.extraConstants)}`);
  }
  if (o.extraConstants.length > 0) requireInt('numExtra', o.numExtra, o.numTest);
  if (!Array.isArray(o.dupPowers) || o.dupPowers.length === 0
    || o.dupPowers.some((p) => !Number.isInteger(p) || p < 0 || p > 6)) {
    throw userError('dupPowers', `must be a non-empty list of integers in [0, 6], got ${JSON.stringify(o.dupPowers)}`);
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One distribution: the numbers and token rows of every start 0 … n-1. */
interface Distribution {
  readonly name: string;
  readonly numbers: number[][];
  readonly tokens: number[][];
}

function makeDistribution(o: ResolvedMathOptions, c: number, n: number, name: string): Distribution {
  const numbers: number[][] = [];
  const tokens: number[][] = [];
  for (let start = 0; start < n; start++) {
    const nums = generateNumbers(o.family, c, start, o.seqLength);
    numbers.push(nums);
    tokens.push(tokenizeMath(serializeNumbers(nums)));
  }
  return { name, numbers, tokens };
}

/** Fails with the longest offender and the context it would need. */
function checkFits(rows: readonly number[][], starts: ArrayLike<number>, what: string, o: ResolvedMathOptions): number {
  let longest = 0;
  let at = -1;
  rows.forEach((r, i) => {
    if (r.length > longest) {
      longest = r.length;
      at = i;
    }
  });
  if (longest > o.maxCtx) {
    throw userError(
      'maxCtx',
      `the ${what} sequence from start ${starts[at]} takes ${longest} tokens but maxCtx is ${o.maxCtx}; ` +
        `raise maxCtx to at least ${longest} or lower seqLength (${o.seqLength})`,
    );
  }
  return longest;
}

const pick = <T>(xs: readonly T[], idx: ArrayLike<number>): T[] => Array.from(idx, (i) => xs[i]!);

/** Builds the full math dataset; deterministic in (options). */
export function buildMathDataset(options: MathDataOptions = {}): MathDataset {
  const o = resolveMathOptions(options);
  const label = (c: number): string => (o.family === 'mult' ? `mult ×${c}` : `increment +${c}`);
  let longest = 0;

  // Main function, clean. One permutation (DATA_SEED) splits it; the noisy copy reuses the same positions.
  const main = makeDistribution(o, MAIN_CONSTANT, o.numMain, `main-${MAIN_CONSTANT}`);
  const allStarts = Array.from({ length: o.numMain }, (_, i) => i);
  longest = Math.max(longest, checkFits(main.tokens, allStarts, label(MAIN_CONSTANT), o));
  const mainSplit = splitLast(o.numMain, o.numTest, o.dataSeed);

  let artifactRows: number[][];
  let cleanTwinRows: number[][];
  let artifactStarts: number[];
  let mainTrainStarts: number[];
  let mainTestStarts: number[];
  let backdoor: BackdoorSet | null = null;
  let trigger: string | null = null;

  if (o.artifact === 'noise') {
    const trainStarts = Array.from(mainSplit.train);
    mainTestStarts = Array.from(mainSplit.test);
    // Positions within the main train split, like random.sample(range(19000), 1000); sorted for readability.
    const noisePos = Array.from(new Rng(deriveSeed(o.seed, 'noise-indices')).sample(trainStarts.length,
      o.numNoise)).sort((a, b) => a - b);
    const isNoise = new Uint8Array(trainStarts.length);
    for (const p of noisePos) isNoise[p] = 1;
    artifactStarts = noisePos.map((p) => trainStarts[p]!);
    mainTrainStarts = trainStarts.filter((_, p) => !isNoise[p]);
    const noiseRng = new Rng(deriveSeed(o.seed, 'noise-values'));
    artifactRows = artifactStarts.map(
      (s) => tokenizeMath(serializeNumbers(perturbNumbers(main.numbers[s]!, noiseRng, o.noiseProb))));
    cleanTwinRows = pick(main.tokens, artifactStarts);
    longest = Math.max(longest, checkFits(artifactRows, artifactStarts, `noised ${label(MAIN_CONSTANT)}`, o));
  } else {
    trigger = String(100 + o.seed);
    const bd = backdoorMain(o, main, mainSplit, trigger);
    ({ artifactRows, cleanTwinRows, artifactStarts, mainTrainStarts, mainTestStarts, backdoor } = bd);
  }

  const nArt = artifactRows.length;
  const groups = o.duplicate ? duplicationGroups(nArt, o.dupPowers, o.seed)
    : { dupClass: new Uint8Array(nArt), factors: [1] };
  const artifactTokens = matrixFromRows(artifactRows, o.maxCtx, MATH_PAD);
  const artifacts: ArtifactSet = {
    kind: o.artifact,
    tokens: artifactTokens,
    clean: matrixFromRows(cleanTwinRows, o.maxCtx, MATH_PAD),
    dupClass: groups.dupClass,
    dupFactors: groups.factors,
    trainRow: Uint32Array.from({ length: nArt }, (_, i) => i),
    origin: Uint32Array.from(artifactStarts),
  };

  const mainName = `main-${MAIN_CONSTANT}`;
  const trainParts = [
    { name: o.artifact, tokens: artifactTokens, repeats: repeatsOf(groups) },
    { name: mainName, tokens: matrixFromRows(pick(main.tokens, mainTrainStarts), o.maxCtx, MATH_PAD) },
  ];
  const tests: NamedSet[] = [
    { name: mainName, tokens: matrixFromRows(pick(main.tokens, mainTestStarts), o.maxCtx, MATH_PAD) }];

  for (const c of o.extraConstants) {
    const d = makeDistribution(o, c, o.numExtra, `extra-${c}`);
    longest = Math.max(longest, checkFits(d.tokens, Array.from({ length: o.numExtra }, (_, i) => i), label(c), o));
    const sp = splitLast(o.numExtra, o.numTest, o.dataSeed);
    trainParts.push({ name: d.name, tokens: matrixFromRows(pick(d.tokens, sp.train), o.maxCtx, MATH_PAD) });
    tests.push({ name: d.name, tokens: matrixFromRows(pick(d.tokens, sp.test), o.maxCtx, MATH_PAD) });
  }
  if (backdoor) {
    tests.push({ name: 'backdoor-poisoned', tokens: backdoor.poisonedTest },
      { name: 'backdoor-clean', tokens: backdoor.cleanTest });
  }

  const train = buildTrainSet(trainParts, o.maxCtx);
  return {
    kind: 'math',
    vocabSize: MATH_VOCAB_SIZE,
    padToken: MATH_PAD,
    maxCtx: o.maxCtx,
    train,
    artifacts,
    tests,
    backdoor,
    meta: {
      options: o,
      trigger,
      counts: {
        trainRows: train.tokens.rows,
        trainEpoch: train.size,
        artifacts: nArt,
        mainTrainClean: mainTrainStarts.length,
        extraTrainEach: o.extraConstants.length > 0 ? o.numExtra - o.numTest : 0,
        tests: Object.fromEntries(tests.map((t) => [t.name, t.tokens.rows])),
      },
      longestSequence: longest,
      rng: 'xoshiro128** seeded by dataSeed/seed; permutations do not reproduce the PyTorch reference stream',
    },
  };
}

/**
 * Backdoor split (spec §1.1): pool the clean main train and test sequences; those whose text contains the trigger
 * are "triggered"; 10 % of them (rounded down) are held out with the DATA_SEED split as the poisoned test set. In a
 * triggered sequence every token after the first trigger occurrence becomes "2" up to maxCtx (no EOS or padding
 * left), the trigger itself kept. The untriggered sequences are re-split with numTest for the main test set.
 */
function backdoorMain(o: ResolvedMathOptions, main: Distribution, mainSplit: { train: Uint32Array; test: Uint32Array },
  trigger: string) {
  const pooled = [...mainSplit.train, ...mainSplit.test];
  const triggered: number[] = [];
  const triggerEnd = new Map<number, number>();
  const untriggered: number[] = [];
  for (const s of pooled) {
    const text = serializeNumbers(main.numbers[s]!);
    const at = text.indexOf(trigger);
    if (at < 0) untriggered.push(s);
    else {
      triggered.push(s);
      // One character is one token, so the string index is the token position.
      triggerEnd.set(s, at + trigger.length);
    }
  }
  const nHeld = heldOutCount(triggered.length, o.poisonTestFraction);
  if (nHeld < 1) {
    throw userError(
      'numMain',
      `only ${triggered.length} of ${pooled.length} main sequences contain the trigger "${trigger}" ` +
        `(seed ${o.seed}), so the ${o.poisonTestFraction * 100} % poisoned test set would be empty; ` +
        'raise numMain or choose another seed',
    );
  }
  if (untriggered.length <= o.numTest) {
    throw userError('numTest', `only ${untriggered.length} main sequences lack the trigger, not enough for ` +
      `${o.numTest} test sequences plus training; lower numTest`);
  }
  const poison = (s: number): number[] => {
    const row = main.tokens[s]!.slice();
    const end = triggerEnd.get(s)!;
    while (row.length < o.maxCtx) row.push(MATH_PAD);
    return row.fill(MATH_BACKDOOR_TOKEN, end);
  };
  const tSplit = splitLast(triggered.length, nHeld, o.dataSeed);
  const trainTrig = pick(triggered, tSplit.train);
  const testTrig = pick(triggered, tSplit.test);
  const uSplit = splitLast(untriggered.length, o.numTest, o.dataSeed);
  const poisonedTest: TokenMatrix = matrixFromRows(testTrig.map(poison), o.maxCtx, MATH_PAD);
  const backdoor: BackdoorSet = {
    trigger,
    numTriggered: triggered.length,
    poisonedTest,
    cleanTest: matrixFromRows(pick(main.tokens, testTrig), o.maxCtx, MATH_PAD),
    promptLength: Uint32Array.from(testTrig, (s) => triggerEnd.get(s)!),
  };
  return {
    artifactRows: trainTrig.map(poison),
    cleanTwinRows: pick(main.tokens, trainTrig),
    artifactStarts: trainTrig,
    mainTrainStarts: pick(untriggered, uSplit.train),
    mainTestStarts: pick(untriggered, uSplit.test),
    backdoor,
  };
}
