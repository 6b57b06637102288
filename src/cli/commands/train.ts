// tinymem train --preset NAME [--set key=value ...] [--regularizer ID [--reg-set hp=value ...]] --out DIR: trains with
// progress, periodic checkpoints, Ctrl-C
// stopping after the current step with a valid checkpoint, then evaluates and prints the headline metrics.
import { parseOverrides, resolvePreset } from '../../engine/presets';
import { trainRun } from '../../engine/runs/trainRun';
import { metricsTable } from '../format';
import { printJson } from '../json';
import { note, progress } from '../progress';
import { signalExitCode, stopOnSignals } from '../signals';
import { type RuntimeFlags, runtimeSettings } from '../runtime';

export interface TrainFlags extends RuntimeFlags {
  preset: string;
  set?: string[];
  /** A regularizer id and its hyper-parameters (`--reg-set lam=0.1`), kept apart from the preset overrides. */
  regularizer?: string;
  regSet?: string[];
  out: string;
  force?: boolean;
  eval: boolean;
  json?: boolean;
}

export async function trainCommand(f: TrainFlags): Promise<number> {
  const preset = resolvePreset(f.preset, parseOverrides(f.set ?? []));
  if (f.regSet?.length && !f.regularizer) throw new Error('--reg-set: name the regularizer with --regularizer ID');
  const regularizer = f.regularizer ? { id: f.regularizer, hyperParams: parseOverrides(f.regSet ?? []) } : undefined;
  const runtime = runtimeSettings(f);
  const bar = progress('train');
  const evalBar = progress('evaluate');
  const started = Date.now();
  console.error(`training preset ${preset.name} (${preset.description})${regularizer ? ` with regularizer ` +
    `${regularizer.id}` : ''} into ${f.out}`);
  const run = trainRun({
    preset,
    regularizer,
    out: f.out,
    force: f.force,
    onNote: note,
    runtime,
    evaluate: f.eval,
    onProgress: (p) => bar.update(p.step, p.totalSteps, `epoch ${p.epoch.toFixed(1)} loss ${p.loss.toFixed(4)} ` +
      `${Math.round(p.tokensPerSec)} tok/s ${p.provider}`),
    onCheckpoint: (c) => {
      if (!c.complete) process.stderr.write(`\ncheckpoint at epoch ${c.epoch} saved\n`);
    },
    onEvalProgress: (e) => evalBar.update(e.done, e.total, e.stage),
  });
  // SIGTERM (a service manager, `kill`, a job scheduler) stops like Ctrl-C: after the current step, with a checkpoint.
  const signals = stopOnSignals('after the current step', 'the last checkpoint stays valid', () => run.stop());
  try {
    const r = await run.result;
    bar.stop();
    evalBar.stop();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const m = r.manifest;
    if (f.json) {
      const ev = r.evaluation;
      printJson({ checkpoint: r.dir, stopped: r.stopped, preset: preset.name, regularizer: regularizer ?? null,
        epochs: m.progress.epochs, steps: m.progress.steps, seconds: (Date.now() - started) / 1000,
        provider: m.executionProvider,
        evaluation: ev && { seconds: ev.seconds, provider: ev.provider, metrics: ev.metrics } });
      return r.stopped ? signalExitCode(signals.by ?? 'SIGINT') : 0;
    }
    console.log(`${r.stopped ? 'stopped' : 'trained'}: ${m.progress.epochs.toFixed(2)} epochs, ${m.progress.steps} ` +
      `steps in ${secs} s on ${m.executionProvider || 'no provider'}; checkpoint ${r.dir}`);
    if (r.evaluation) {
      console.log(`evaluated in ${r.evaluation.seconds.toFixed(1)} s:`);
      console.log(metricsTable(r.evaluation.metrics));
    }
    return r.stopped ? signalExitCode(signals.by ?? 'SIGINT') : 0;
  } finally {
    bar.stop();
    evalBar.stop();
    signals.dispose();
  }
}
