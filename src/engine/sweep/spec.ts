// The sweep spec file (YAML): models (presets with overrides and the checkpoints to unlearn), seeds, methods with
// their hyper-parameter points, and how the jobs run. Every problem names the file, the line and the field, and is
// found before any job starts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { HyperValue } from '../../shared/methodTypes';
import type { SweepModel, SweepSpec } from '../../shared/sweepTypes';
import { UserError, userError } from '../../shared/userError';
import { isObject } from '../../shared/schemaParts';
import { showValue } from '../../shared/showValue';
import { machineCores } from '../io/machine';
import { getAnyMethod, listMethods, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import { resolvePreset } from '../presets';
import { gridPoints } from '../runs/compareRun';

const KEYS = ['name', 'backend', 'parallel', 'threads', 'providers', 'stepsPerRun', 'models', 'seeds', 'grid',
  'maxPoints', 'methods', 'slurm'];
const SLURM_KEYS = ['partition', 'account', 'qos', 'cpus', 'mem', 'time', 'gpus', 'maxParallel', 'extra'];

/** Reads and checks a spec file; errors read `FILE: line N, field: what is wrong`. */
export function loadSweepSpec(file: string): SweepSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw userError(file, `cannot read the sweep spec (${(e as NodeJS.ErrnoException).code ?? e}); check the path`,
      'file');
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw userError(file, `line ${e.linePos?.[0].line ?? '?'}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  try {
    return parseSweepSpec(doc.toJS(), path.basename(file).replace(/\.ya?ml$/i, ''));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const keys = e.path.split(/\.|\[|\]/).filter(Boolean).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    // The deepest node the path reaches gives the line.
    let line: number | undefined;
    for (let n = keys.length; n > 0 && line === undefined; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number] } | undefined;
      if (node?.range) line = lines.linePos(node.range[0]).line;
    }
    throw userError(`${file}: ${line ? `line ${line}, ` : ''}${e.path}`, e.problems[0]!.message);
  }
}

const posInt = (x: unknown, field: string, min = 1): number => {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
    throw userError(field, `expected an integer ≥ ${min}, got ${showValue(x)}`);
  }
  return x;
};

const list = <T>(x: unknown, field: string, each: (v: unknown, f: string) => T): T[] => {
  const xs = Array.isArray(x) ? x : [x];
  if (!xs.length) throw userError(field, 'is empty; give at least one value');
  return xs.map((v, i) => each(v, Array.isArray(x) ? `${field}[${i}]` : field));
};

const onlyKeys = (o: Record<string, unknown>, known: string[], where: string) => {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw userError(where + k, `unknown key; known: ${known.join(', ')}`);
  }
};

/** The spec's object (already parsed from YAML) checked, with defaults filled in. */
export function parseSweepSpec(raw: unknown, defaultName: string): SweepSpec {
  if (!isObject(raw)) throw userError('', 'a sweep spec is a YAML map with models:, seeds: and methods:');
  onlyKeys(raw, KEYS, '');
  const name = raw.name ?? defaultName;
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) {
    throw userError('name', `expected letters, digits, '.', '_' or '-', got ${showValue(name)}`);
  }
  const backend = raw.backend ?? 'local';
  if (backend !== 'local' && backend !== 'slurm') throw userError('backend', 'expected local or slurm');
  const threads = posInt(raw.threads ?? 1, 'threads');
  const providers = list(raw.providers ?? ['cpu'], 'providers', (v, f) => {
    if (typeof v !== 'string' || !v) throw userError(f, 'expected a provider name such as cpu, cuda or webgpu');
    return v;
  });
  const stepsPerRun = posInt(raw.stepsPerRun ?? 1, 'stepsPerRun');
  if (raw.models === undefined) throw userError('models', 'is missing: list the presets to train (- preset: NAME)');
  const models = list(raw.models, 'models', parseModel);
  const seeds = list(raw.seeds ?? [0], 'seeds', (v, f) => posInt(v, f, 0));
  const methods = parseMethods(raw.methods, raw.grid ?? 'default', raw.maxPoints);
  const parallel = posInt(raw.parallel ?? Math.max(1, Math.floor(machineCores() / threads)), 'parallel');
  const slurm = parseSlurm(raw.slurm, threads);
  return { name, backend, models, seeds, methods, threads, providers, stepsPerRun, parallel, slurm };
}

function parseModel(x: unknown, field: string): SweepModel {
  if (!isObject(x)) throw userError(field, 'expected a map such as { preset: cpu-math-noise, set: {...} }');
  onlyKeys(x, ['preset', 'set', 'checkpoints'], `${field}.`);
  if (typeof x.preset !== 'string') throw userError(`${field}.preset`, 'is missing: name one from tinymem presets');
  const set = x.set ?? {};
  if (!isObject(set)) throw userError(`${field}.set`, 'expected a map of overrides such as { train.epochs: 20 }');
  let preset;
  try {
    preset = resolvePreset(x.preset, overrideWords(set));
  } catch (e) {
    if (e instanceof UserError) throw userError(`${field}.${e.path === 'preset' ? 'preset' : `set.${e.path}`}`,
      e.problems[0]!.message);
    throw e;
  }
  if ('seed' in set) throw userError(`${field}.set.seed`, 'give seeds in the spec\'s seeds: list');
  const epochs = preset.train.epochs;
  const checkpoints = x.checkpoints === undefined ? [epochs] : list(x.checkpoints, `${field}.checkpoints`, (v, f) => {
    const n = posInt(v, f);
    if (n > epochs) throw userError(f, `epoch ${n} is after the last (${epochs}); set train.epochs or drop it`);
    return n;
  });
  return { preset: x.preset, set, checkpoints: [...new Set(checkpoints)].sort((a, b) => a - b) };
}

/** A model's overrides as the `key=value` strings resolvePreset reads. */
export function overrideWords(set: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(set).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function parseMethods(raw: unknown, grid: unknown, maxPoints: unknown): SweepSpec['methods'] {
  if (grid !== 'paper' && grid !== 'default') throw userError('grid', 'expected paper or default');
  const max = maxPoints === undefined ? Infinity : posInt(maxPoints, 'maxPoints');
  if (raw === undefined) throw userError('methods', 'is missing: list method ids, or all (see tinymem methods)');
  const entries: [string, unknown][] = raw === 'all' ? listMethods().map((m) => [m.id, grid])
    : Array.isArray(raw) ? raw.map((id) => [String(id), grid])
      : isObject(raw) ? Object.entries(raw) : [];
  if (!entries.length) throw userError('methods', 'expected all, a list of method ids or a map id → grid');
  return entries.map(([id, g]) => {
    const field = `methods.${id}`;
    let method;
    try {
      method = getAnyMethod(id);
    } catch (e) {
      throw userError(field, e instanceof Error ? e.message : String(e));
    }
    let points: Record<string, HyperValue>[];
    if (g === 'paper' || g === 'default' || g === null) {
      points = gridPoints(id, g === 'paper', max);
    } else if (isObject(g)) {
      points = [{}];
      for (const [hp, vs] of Object.entries(g)) {
        const values = list(vs, `${field}.${hp}`, (v, f) => {
          if (!['number', 'boolean', 'string'].includes(typeof v)) throw userError(f, 'expected a number or a word');
          return v as HyperValue;
        });
        points = points.flatMap((p) => values.map((v) => ({ ...p, [hp]: v })));
      }
    } else throw userError(field, 'expected paper, default, or a map hyper-parameter → list of values');
    // Points stay as given (defaults are filled in by the job, as `tinymem mitigate` does), checked here.
    for (const p of points) {
      try {
        resolveHyperParams(method, p);
      } catch (e) {
        if (e instanceof UserError) throw userError(`${field}.${e.path.replace(/^.*: /, '')}`, e.problems[0]!.message);
        throw e;
      }
    }
    return { id, points };
  });
}

function parseSlurm(raw: unknown, threads: number): SweepSpec['slurm'] {
  const s = raw ?? {};
  if (!isObject(s)) throw userError('slurm', 'expected a map such as { partition: gpu, mem: 8G, time: "02:00:00" }');
  onlyKeys(s, SLURM_KEYS, 'slurm.');
  const word = (k: string, re: RegExp, what: string): string | undefined => {
    if (s[k] === undefined) return undefined;
    if (typeof s[k] !== 'string' || !re.test(s[k])) throw userError(`slurm.${k}`, `expected ${what}`);
    return s[k];
  };
  const extra = s.extra === undefined ? [] : list(s.extra, 'slurm.extra', (v, f) => {
    if (typeof v !== 'string' || !v.startsWith('--')) {
      throw userError(f, 'expected an sbatch option such as --exclusive');
    }
    return v;
  });
  return {
    partition: word('partition', /^[\w.,-]+$/, 'a partition name'),
    account: word('account', /^[\w.-]+$/, 'an account name'),
    qos: word('qos', /^[\w.-]+$/, 'a QOS name'),
    cpus: posInt(s.cpus ?? threads, 'slurm.cpus'),
    mem: word('mem', /^\d+[KMGT]?$/, 'memory in Slurm\'s units, such as 4G') ?? '4G',
    time: word('time', /^(\d+-)?\d+(:\d\d){0,2}$/, 'a time limit such as 01:30:00 or 2-00:00:00') ?? '02:00:00',
    gpus: posInt(s.gpus ?? 0, 'slurm.gpus', 0),
    maxParallel: s.maxParallel === undefined ? undefined : posInt(s.maxParallel, 'slurm.maxParallel'),
    extra,
  };
}
