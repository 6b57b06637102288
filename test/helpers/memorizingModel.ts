// A small trained model that memorizes noised math sequences, for the method tests: trained once and cached in the
// temp folder, keyed by its settings and the engine's source (fixtureCache.ts), so every test file that needs it
// pays for training once and a changed engine never reuses an old model. TINYMEM_FIXTURE_SEED picks the run seed
// (default 0): the method tests' assertions are relative to the fixture's own figures and must hold for any seed.
import { type TokenMatrix, gatherRows } from '../../src/engine/data/index';
import { loadCheckpoint, makeCheckpointConfig, saveCheckpoint } from '../../src/engine/model/checkpoint';
import type { Gpt2Config } from '../../src/engine/model/gpt2';
import { evaluate, measureMemorization } from '../../src/engine/metrics/index';
import { presetModelConfig, presetToJob, resolvePreset } from '../../src/engine/presets';
import type { Runtime } from '../../src/engine/runtime/session';
import { getMethod, resolveHyperParams } from '../../src/engine/methods/index';
import type { UnlearnContext } from '../../src/engine/methods/types';
import type { HyperValue } from '../../src/shared/methodTypes';
import { runTraining } from '../../src/engine/train/trainLoop';
import { type TinyMemDataset, tinymemDataset } from '../../src/engine/train/tinymemData';
import { cachedFixture } from './fixtureCache';

/**
 * Settings under which a 2-layer model memorizes about half of its noised sequences in a minute or two on 2 cores.
 * Every value that matters is pinned here, so tuning the quickstart preset does not change the fixture.
 */
export const FIXTURE_OVERRIDES: Record<string, string> = {
  'data.family': 'increment',
  'data.seqLength': '20',
  'data.maxCtx': '150',
  'train.lr': '0.003',
  'data.numMain': '500',
  'data.numExtra': '60',
  'data.numTest': '50',
  'data.numNoise': '40',
  'model.n_embd': '64',
  'train.epochs': '80',
  'train.batchSize': '64',
};

/** The fixture's run seed: TINYMEM_FIXTURE_SEED, default 0. */
export function fixtureSeed(): number {
  const raw = process.env.TINYMEM_FIXTURE_SEED ?? '0';
  const seed = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(seed)) throw new Error(
    `TINYMEM_FIXTURE_SEED: expected a non-negative integer, got "${raw}"`);
  return seed;
}

export interface MemorizingModel {
  config: Gpt2Config;
  params: Map<string, Float32Array>;
  data: TinyMemDataset;
  /** The memorized noised sequences (the forget set) and clean training rows (the retain set). */
  forget: TokenMatrix;
  retain: TokenMatrix;
  /** Memorization % of the fixture before any edit (at least MIN_MEMORIZED). */
  memorized: number;
  /** The paper's math accuracy % of the fixture before any edit. */
  accuracy: number;
  seed: number;
}

/**
 * The least memorization a fixture must show. The method tests assert cuts relative to the fixture's own figure
 * (e.g. "at most a quarter of it is left"); on a fixture that memorized next to nothing those would pass for a
 * method that does nothing, so a seed whose model memorizes less is refused here.
 */
export const MIN_MEMORIZED = 20;

export async function memorizingModel(rt: Runtime): Promise<MemorizingModel> {
  const seed = fixtureSeed();
  const preset = resolvePreset('cpu-math-noise', { ...FIXTURE_OVERRIDES, seed: String(seed) });
  const job = presetToJob(preset, { runtime: { threads: 2 } });
  const config = presetModelConfig(preset);
  const dir = await cachedFixture(`memorizing-seed${seed}`, job, async (out) => {
    const trained = await runTraining(job, { runtime: rt });
    saveCheckpoint(out, makeCheckpointConfig(config), new Map(Object.entries(trained.result.state.params)),
      { fixture: FIXTURE_OVERRIDES, seed });
  });
  const { params } = loadCheckpoint(dir);
  const data = tinymemDataset(job.data);
  const mem = await measureMemorization(rt, config, params, data.artifacts);
  const memorized = mem.result.percentMemorized ?? 0;
  if (memorized < MIN_MEMORIZED) throw new Error(
    `the fixture of seed ${seed} memorizes ${memorized} % (< ${MIN_MEMORIZED} %): method tests on it could not fail; ` +
    `pick another TINYMEM_FIXTURE_SEED`);
  const accuracy = (
    await evaluate(rt, config, params, data,
      { memorization: false, perplexity: false, heatmap: false })).accuracy!.paper!;
  const forgetRows = mem.result.forgetSet;
  const cleanRows = Array.from({ length: data.train.tokens.rows - data.artifacts.tokens.rows }, (_, i) => i
    + data.artifacts.tokens.rows);
  return {
    config,
    params,
    data,
    forget: gatherRows(data.artifacts.tokens, forgetRows),
    retain: gatherRows(data.train.tokens, cleanRows),
    memorized,
    accuracy,
    seed,
  };
}

/** Memorization % of edited weights on the fixture's noised sequences. */
export async function memorizationOn(rt: Runtime, fx: MemorizingModel, params: Map<string,
  Float32Array>): Promise<number> {
  return (await measureMemorization(rt, fx.config, params, fx.data.artifacts)).result.percentMemorized ?? 0;
}

/** The paper's math accuracy % of edited weights on the fixture's test sets. */
export async function accuracyOn(rt: Runtime, fx: MemorizingModel, params: Map<string, Float32Array>): Promise<number> {
  return (await evaluate(rt, fx.config, params, fx.data,
    { memorization: false, perplexity: false, heatmap: false })).accuracy!.paper!;
}

/** A method's context on the fixture: its forget and retain sets, the given hyper-parameters over the defaults. */
export function methodContext(rt: Runtime, fx: MemorizingModel, id: string, hp: Record<string, HyperValue> = {},
  extra: Partial<UnlearnContext> = {}): UnlearnContext {
  return {
    runtime: rt,
    config: fx.config,
    params: fx.params,
    forget: fx.forget,
    retain: fx.retain,
    promptLength: 50,
    hp: resolveHyperParams(getMethod(id), hp),
    seed: 0,
    ...extra,
  };
}
