// `step: train`: trains a preset into a checkpoint folder with a live loss curve (throttled), then the curve and the
// metrics. Stop ends after the current step and keeps the partial checkpoint and curve. A folder that already holds a
// finished run with the same settings is reused (its curve and metrics shown) unless the cell says `force: true`.
import * as path from 'node:path';
import { resolvePreset } from '../../presets';
import { type TrainRun, trainRun } from '../../runs/trainRun';
import { CELL_WORDING } from '../../io/outputDir';
import type { RunManifest } from '../../../shared/runManifest';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, type CellResult, asOutError, fmtPct, resolvePath, throttle } from '../context';
import type { TrainStep } from '../parseStep';
import { curvesView, metricsView } from '../views';
import { reusableRun } from './trainReuse';

/** Points drawn in the live curve at most: older steps are thinned, so updates stay small. */
const MAX_CURVE_POINTS = 300;
/** Live output updates at most this often. */
export const LIVE_UPDATE_MS = 500;

type Point = { epoch: number; loss: number };

export function thinPoints(points: readonly Point[], max = MAX_CURVE_POINTS): Point[] {
  if (points.length <= max) return [...points];
  const out: Point[] = [];
  const per = points.length / max;
  for (let i = 0; i < max; i++) {
    const chunk = points.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    out.push({ epoch: chunk[chunk.length - 1]!.epoch, loss: chunk.reduce((s, p) => s + p.loss, 0) / chunk.length });
  }
  return out;
}

/** `dir` as the cell would write it: relative to the notebook's folder when inside it. */
function shownPath(ctx: CellContext, dir: string): string {
  const rel = path.relative(ctx.baseDir, dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : dir;
}

/** The outputs of a reused run: its saved loss curve and metrics, and a line that says it was not trained again. */
function reusedResult(ctx: CellContext, dir: string, m: RunManifest, title: string, dataset: 'math' | 'language',
  evaluate: boolean): CellResult {
  ctx.state.lastCheckpoint = dir;
  const outputs: ViewOutput[] = [curvesView(Array.isArray(m.lossHistory) ? m.lossHistory : [], title)];
  const metrics = Array.isArray(m.metricHistory) ? m.metricHistory.at(-1)?.metrics : undefined;
  if (metrics) {
    outputs.push(metricsView({ dataset, provider: m.executionProvider, metrics, memorization: null, accuracy: null,
      perplexity: null, heatmap: null, seconds: 0 }, `Metrics of ${path.basename(dir)}`));
  }
  const mem = metrics?.find((x) => x.id === 'memorization')?.value;
  const status = `Reused \`${shownPath(ctx, dir)}\` (trained earlier with the same settings; \`force: true\` ` +
    `retrains): ${m.progress.epochs} epochs (${m.progress.steps} steps) in ${m.progress.seconds.toFixed(1)} s on ` +
    `**${m.executionProvider || 'no provider'}**${mem !== undefined ? `; memorization ${fmtPct(mem)}` : ''}.` +
    (!metrics && evaluate ? ' It was trained without evaluation; a `memorization` cell measures it.' : '');
  outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
  return { outputs, provider: '', stopped: false };
}

export async function runTrainStep(s: TrainStep, ctx: CellContext): Promise<CellResult> {
  const preset = resolvePreset(s.preset, s.set);
  const out = resolvePath(ctx, s.out ?? path.join('runs', s.preset), 'out');
  const title = s.title ?? `Training ${preset.name}`;
  const regularizer = s.regularizer ? { id: s.regularizer, hyperParams: s.hp ?? {} } : undefined;
  if (!s.force) {
    let reused: RunManifest | null;
    try {
      reused = reusableRun({ preset, out, regularizer, onNote: (message) => ctx.onProgress({ message }) });
    } catch (e) {
      throw asOutError(e);
    }
    if (reused) return reusedResult(ctx, out, reused, title, preset.data.dataset, s.evaluate);
  }
  const points: Point[] = [];
  let provider = '';
  let total: number | null = null;
  const live = throttle<void>(LIVE_UPDATE_MS, () => {
    const last = points[points.length - 1];
    ctx.onProgress({
      message: `epoch ${last?.epoch.toFixed(2) ?? 0}/${preset.train.epochs} loss ${last?.loss.toFixed(4)
        ?? '?'} on ${provider}`,
      fraction: total ? points.length / total : undefined,
      outputs: [curvesView(thinPoints(points), `${title} (running on ${provider})`)],
      provider: provider || undefined,
    });
  });
  let run: TrainRun;
  try {
    run = trainRun({
      preset,
      out,
      force: s.force,
      wording: CELL_WORDING,
      onNote: (message) => ctx.onProgress({ message }),
      runtime: ctx.runtime,
      evaluate: s.evaluate,
      ...(regularizer ? { regularizer } : {}),
      onProgress: (p) => {
        provider = p.provider;
        total = p.totalSteps;
        points.push({ epoch: p.epoch, loss: p.loss });
        live.push();
      },
      onEvalProgress: (e) => ctx.onProgress({ message: `evaluating: ${e.stage} ${e.done}/${e.total}`,
        provider: provider || undefined }),
    });
  } catch (e) {
    throw asOutError(e);
  }
  const onAbort = () => run.stop();
  if (ctx.signal.aborted) run.stop();
  ctx.signal.addEventListener('abort', onAbort);
  try {
    const r = await run.result;
    live.flush();
    ctx.state.lastCheckpoint = r.dir;
    provider = r.manifest.executionProvider || provider;
    const pg = r.manifest.progress;
    const curve = thinPoints(points);
    const curveTitle = r.stopped ? `${title} (stopped at epoch ${pg.epochs.toFixed(2)})` : title;
    const outputs: ViewOutput[] = [curvesView(curve, curveTitle)];
    if (r.evaluation) outputs.push(metricsView(r.evaluation, `Metrics of ${path.basename(r.dir)}`));
    const mem = r.evaluation?.memorization?.percentMemorized;
    const memorized = mem !== undefined ? `; memorization ${fmtPct(mem)}` : '';
    const status = r.stopped
      ? `Stopped after ${pg.steps} steps (${pg.epochs.toFixed(2)} epochs); the partial checkpoint in \`${r.dir}\` ` +
        `is valid (marked incomplete). Ran on **${provider || 'no provider'}**.`
      : `Trained ${pg.epochs} epochs (${pg.steps} steps) in ${pg.seconds.toFixed(1)} s on **${provider}**; ` +
        `checkpoint \`${r.dir}\`${memorized}.`;
    outputs.push({ mime: 'text/markdown', payload: status, markdown: status });
    return { outputs, provider, stopped: r.stopped };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
