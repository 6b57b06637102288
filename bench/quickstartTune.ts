// Tunes a CPU preset: trains it through runTraining (in this thread, like the CLI) and reports wall time (data,
// training, evaluation), memorization % and accuracy, the quickstart's three numbers. Not a test.
//
//   node --import tsx bench/quickstartTune.ts [PRESET] [key=value ...] [--eval-every=E] [--threads=N] [--light]
//
// --eval-every=E  also evaluates after every E epochs (memorization and accuracy only) to show the curve; the run is
//                 then split into segments whose batch order differs from one uninterrupted run, and the timings
//                 include the intermediate evaluations, so use it to explore and the plain run for final numbers.
// --light         final evaluation without perplexity and heatmap (the default runs evaluate() with everything).
// Prints one JSON line (prefixed RESULT) at the end.
import { Runtime } from '../src/engine/runtime/session';
import { evaluate, noiseFilter } from '../src/engine/metrics/index';
import { QUICKSTART_PRESET, parseOverrides, presetDataset, presetModelConfig, presetToJob,
  resolvePreset } from '../src/engine/presets';
import { runTraining } from '../src/engine/train/trainLoop';
import type { TrainState } from '../src/shared/engineMessages';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}`))?.split('=')[1]
  ?? (args.includes(`--${name}`) ? '' : undefined);
const positional = args.filter((a) => !a.startsWith('--'));
const name = positional[0] && !positional[0].includes('=') ? positional[0] : QUICKSTART_PRESET;
const overrides = parseOverrides(positional.filter((a) => a.includes('=')));
const evalEvery = Number(flag('eval-every') ?? 0);
const threads = Number(flag('threads') ?? 2);
const light = flag('light') !== undefined;

const fmt = (x: number | null | undefined, d = 1) => (x == null ? 'n/a' : x.toFixed(d));

(async () => {
  const t0 = performance.now();
  const preset = resolvePreset(name, overrides);
  const config = presetModelConfig(preset);
  const rt = new Runtime({ threads });
  const ds = presetDataset(preset);
  const tData = performance.now();
  const m = ds.meta;
  console.log(`${preset.name} ${JSON.stringify(overrides)}`);
  console.log(
    `data: ${ds.train.size} rows/epoch (${ds.train.tokens.rows} distinct), ${ds.artifacts.tokens.rows} artifacts, ` +
      `tests ${JSON.stringify(m.counts.tests)}, ctx ${ds.maxCtx}` +
      ('longestSequence' in m ? `, longest ${m.longestSequence}` : '') +
      `; ${((tData - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`model: ${config.n_layer} layers, d ${config.n_embd}; train: ${preset.train.epochs} epochs, batch ` +
    `${preset.train.batchSize}, lr ${preset.train.lr}`);

  const evalOnce = async (state: TrainState, full: boolean) => {
    const params = new Map(Object.entries(state.params));
    return evaluate(rt, config, params, ds, full ? {} : { perplexity: false, heatmap: false });
  };

  let state: TrainState | undefined;
  let trainSecs = 0;
  let steps = 0;
  let lastLoss = NaN;
  const curve: { epoch: number; mem: number | null; acc: number | null; loss: number }[] = [];
  const segment = evalEvery > 0 ? evalEvery : preset.train.epochs;
  for (let done = 0, k = 0; done < preset.train.epochs; k++) {
    const epochs = Math.min(segment, preset.train.epochs - done);
    const seg = { ...presetToJob(preset, { runtime: { threads }, epochs, init: state, progressEvery: 50 }),
      seed: preset.seed + k };
    const ts = performance.now();
    const out = await runTraining(seg, {
      runtime: rt,
      onProgress: (p) => process.stdout.write(`\r  epoch ${(done + p.epoch).toFixed(1)} loss ${p.loss.toFixed(4)} ` +
        `${p.tokensPerSec.toFixed(0)} tok/s   `),
    });
    trainSecs += (performance.now() - ts) / 1000;
    state = out.result.state;
    steps += out.result.steps;
    lastLoss = out.result.losses.at(-1) ?? NaN;
    done += epochs;
    if (evalEvery > 0 && done < preset.train.epochs) {
      const r = await evalOnce(state, false);
      curve.push({ epoch: done, mem: r.memorization?.percentMemorized ?? null, acc: r.accuracy?.paper ?? null,
        loss: lastLoss });
      process.stdout.write('\n');
      const cls = r.memorization && r.memorization.byClass.length > 1
        ? ` [${r.memorization.byClass.map((c) => `×${c.factor} ${fmt(c.percentMemorized)}`).join(', ')}]` : '';
      console.log(`  epoch ${done}: loss ${lastLoss.toFixed(4)}, memorization ` +
        `${fmt(r.memorization?.percentMemorized)} %${cls}, accuracy ${fmt(r.accuracy?.paper)} % (no pad ${fmt(
          r.accuracy?.noPad)} %), eval ${r.seconds.toFixed(1)} s`);
    }
  }
  process.stdout.write('\n');
  const tTrain = performance.now();
  const r = await evalOnce(state!, !light);
  const tEval = performance.now();
  await rt.dispose();

  const mem = r.memorization;
  const acc = r.accuracy;
  const total = (tEval - t0) / 1000;
  console.log(`training: ${steps} steps in ${trainSecs.toFixed(1)} s, final loss ${lastLoss.toFixed(4)}`);
  console.log(`evaluation (${light ? 'light' : 'full'}): ${((tEval - tTrain) / 1000).toFixed(1)} s`);
  console.log(`memorization: ${fmt(mem?.percentMemorized)} % (${mem?.pooled.memorized}/${mem?.pooled.kept} kept of ` +
    `${mem?.pooled.rows}); clean continuation ${fmt(mem?.percentCleanCorrect)} %`);
  if (mem && mem.byClass.length > 1) console.log(
    `  by duplication class: ${mem.byClass.map((c) => `×${c.factor} ${fmt(c.percentMemorized)} % ` +
    `(${c.memorized}/${c.kept})`).join(', ')}`);
  const ppl = r.perplexity?.sets.find((s) => s.set === 'test');
  if (ppl) console.log(`  test perplexity ${fmt(ppl.paper)} (paper), ${fmt(ppl.expMeanLoss)} (exp mean loss)`);
  if (mem && ds.artifacts.kind === 'noise') {
    // Which memorization failures have noise inside the (clean) prompt, where training saw a different prefix.
    const a = ds.artifacts;
    const forget = new Set(mem.forgetSet);
    const keep = noiseFilter(a.tokens, a.clean, 50, 50);
    const split = { noisyPrompt: [0, 0], cleanPrompt: [0, 0] };
    for (let r = 0; r < a.tokens.rows; r++) {
      if (!keep[r]) continue;
      let noisy = false;
      for (let t = 0; t < 50;
        t++) if (a.tokens.data[r * a.tokens.cols + t] !== a.clean.data[r * a.clean.cols + t]) noisy = true;
      const g = noisy ? split.noisyPrompt : split.cleanPrompt;
      g[0]! += forget.has(r) ? 1 : 0;
      g[1]!++;
    }
    console.log(`  memorized with noise in the prompt ${split.noisyPrompt[0]}/${split.noisyPrompt[1]}, without ` +
      `${split.cleanPrompt[0]}/${split.cleanPrompt[1]}`);
  }
  console.log(`accuracy: ${fmt(acc?.paper)} % paper (with padding), ${fmt(acc?.noPad)} % without padding; per set ` +
    `${acc?.sets.map((s) => `${s.set} ${fmt(s.paper)}`).join(', ')}`);
  console.log(`total wall time: ${total.toFixed(1)} s (process ${(process.uptime()).toFixed(1)} s)`);
  console.log(
    'RESULT ' +
      JSON.stringify({
        preset: name,
        overrides,
        totalSeconds: +total.toFixed(1),
        dataSeconds: +((tData - t0) / 1000).toFixed(1),
        trainSeconds: +trainSecs.toFixed(1),
        evalSeconds: +((tEval - tTrain) / 1000).toFixed(1),
        steps,
        finalLoss: lastLoss,
        memorization: mem?.percentMemorized ?? null,
        memorized: mem?.pooled.memorized,
        kept: mem?.pooled.kept,
        accuracy: acc?.paper ?? null,
        accuracyNoPad: acc?.noPad ?? null,
        curve,
      }),
  );
})().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
