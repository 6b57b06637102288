// A spec expanded into jobs: a train job per (model, seed, regularizer setting or none) and an unlearn job per
// (unregularized train job, checkpoint, method, hyper-parameter point). A job's id is a hash of what determines its
// result, so the same work always lands in the same folder and a changed setting makes a new job.
import { createHash } from 'node:crypto';
import type { HyperValue } from '../../shared/methodTypes';
import type { SweepJob, SweepSpec, TrainKey, UnlearnKey } from '../../shared/sweepTypes';
import { getAnyMethod } from '../methods/registry';

/** JSON with object keys sorted, so that equal keys hash equally whatever order the spec wrote them in. */
export function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** Bumped when a job's meaning changes, so that old results are not taken for new ones. */
const JOB_FORMAT = 'tinymem-sweep-job-1';

export const jobId = (key: TrainKey | UnlearnKey): string =>
  createHash('sha256').update(`${JOB_FORMAT}\n${canonicalJson(key)}`).digest('hex').slice(0, 12);

const showHp = (hp: Record<string, HyperValue>) => Object.entries(hp).map(([k, v]) => `${k}=${v}`).join(' ');

export function planSweep(spec: SweepSpec): SweepJob[] {
  const jobs: SweepJob[] = [];
  const add = (key: TrainKey | UnlearnKey, after: string[], label: string) => {
    const job = { id: jobId(key), key, after, label };
    jobs.push(job);
    return job;
  };
  const regularizers = spec.methods.filter((m) => getAnyMethod(m.id).family === 'regularizer');
  const editors = spec.methods.filter((m) => getAnyMethod(m.id).family !== 'regularizer');
  for (const model of spec.models) {
    for (const seed of spec.seeds) {
      const train = (regularizer: TrainKey['regularizer']): SweepJob => add(
        { stage: 'train', preset: model.preset, set: model.set, seed, regularizer, checkpoints: model.checkpoints },
        [], `train ${model.preset} seed ${seed}${regularizer ? ` · ${regularizer.id} ${showHp(regularizer.hyperParams)}`
          : ''}`.trimEnd());
      const base = train(null);
      for (const r of regularizers) for (const hp of r.points) train({ id: r.id, hyperParams: hp });
      for (const checkpoint of model.checkpoints) {
        for (const m of editors) {
          for (const hp of m.points) {
            add({ stage: 'unlearn', train: base.id, checkpoint, method: m.id, hyperParams: hp, seed }, [base.id],
              `${model.preset} seed ${seed} · epoch ${checkpoint} · ${m.id} ${showHp(hp)}`.trimEnd());
          }
        }
      }
    }
  }
  // The same job twice (a repeated grid value) would run twice into one folder.
  const seen = new Set<string>();
  return jobs.filter((j) => !seen.has(j.id) && seen.add(j.id));
}
