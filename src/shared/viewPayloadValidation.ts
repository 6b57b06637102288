// Checks an untrusted view payload (from a notebook file or a message) before anything draws it. Each check names
// the field that failed ("heatmap payload: rows[3].flags[7] must be an integer in [0, 7], got 9"), so a broken
// notebook says where it is broken. Sizes are capped so a hostile file cannot stall the webview.
import {
  type ComparisonViewPayload,
  type CurvesViewPayload,
  type HeatmapData,
  type HeatmapPairViewPayload,
  type HeatmapViewPayload,
  type MasksViewPayload,
  type MetricsViewPayload,
  VIEW_LIMITS as L,
  VIEW_MIME,
  VIEW_PAYLOAD_VERSION,
  type ViewPayload,
  type ViewPayloadByMime,
} from './viewPayloads';

export class ViewPayloadError extends Error {
  override name = 'ViewPayloadError';
}

type Obj = Record<string, unknown>;

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
};

/** A cursor over one payload: `at` is the path printed in errors. */
class Check {
  constructor(readonly what: string) {}
  fail(at: string, msg: string): never {
    throw new ViewPayloadError(`${this.what} payload: ${at} ${msg}`);
  }
  obj(v: unknown, at: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(at, `must be an object, got ${show(v)}`);
    return v as Obj;
  }
  arr(v: unknown, at: string, max: number): unknown[] {
    if (!Array.isArray(v)) this.fail(at, `must be an array, got ${show(v)}`);
    if (v.length > max) this.fail(at, `has ${v.length} entries, more than the limit of ${max}`);
    return v;
  }
  str(v: unknown, at: string, max: number = L.string): string {
    if (typeof v !== 'string') this.fail(at, `must be a string, got ${show(v)}`);
    if (v.length > max) this.fail(at, `is ${v.length} characters long, more than the limit of ${max}`);
    return v;
  }
  bool(v: unknown, at: string): boolean {
    if (typeof v !== 'boolean') this.fail(at, `must be true or false, got ${show(v)}`);
    return v;
  }
  num(v: unknown, at: string, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(at, `must be a finite number, got ${show(v)}`);
    if (v < min || v > max) this.fail(at, `must lie in [${min}, ${max}], got ${v}`);
    return v;
  }
  int(v: unknown, at: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(at, `must be an integer in [${min}, ${max}], got ${show(v)}`);
    return v;
  }
  numOrNull(v: unknown, at: string): number | null {
    return v === null ? null : this.num(v, at);
  }
  oneOf<T extends string>(v: unknown, at: string, options: readonly T[]): T {
    if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) this.fail(at, `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${show(v)}`);
    return v as T;
  }
  ints(v: unknown, at: string, max: number, lo = 0, hi = Number.MAX_SAFE_INTEGER): number[] {
    const a = this.arr(v, at, max);
    a.forEach((x, i) => this.int(x, `${at}[${i}]`, lo, hi));
    return a as number[];
  }
  header(v: unknown): Obj {
    const o = this.obj(v, 'the payload');
    if (o.version !== VIEW_PAYLOAD_VERSION) this.fail('version', `must be ${VIEW_PAYLOAD_VERSION}, got ${show(o.version)} (written by a newer or older TinyMem?)`);
    this.str(o.title, 'title');
    return o;
  }
}

function heatmapData(c: Check, v: unknown, at: string): HeatmapData {
  const o = c.obj(v, at || 'the payload');
  const p = at ? `${at}.` : '';
  c.oneOf(o.mode, `${p}mode`, ['noise', 'backdoor', 'sequences'] as const);
  c.oneOf(o.tokenizer, `${p}tokenizer`, ['math', 'gpt2'] as const);
  const k = c.int(o.k, `${p}k`, 0, L.heatmapK);
  c.int(o.evaluatedRows, `${p}evaluatedRows`);
  c.bool(o.truncated, `${p}truncated`);
  c.arr(o.dupFactors, `${p}dupFactors`, 64).forEach((f, i) => c.num(f, `${p}dupFactors[${i}]`, 0));
  c.arr(o.tokenText, `${p}tokenText`, L.tokenTextEntries).forEach((e, i) => {
    const pair = c.arr(e, `${p}tokenText[${i}]`, 2);
    if (pair.length !== 2) c.fail(`${p}tokenText[${i}]`, 'must be an [id, text] pair');
    c.int(pair[0], `${p}tokenText[${i}][0]`);
    c.str(pair[1], `${p}tokenText[${i}][1]`, L.tokenText);
  });
  let cells = 0;
  c.arr(o.rows, `${p}rows`, L.heatmapRows).forEach((r, i) => {
    const q = `${p}rows[${i}]`;
    const row = c.obj(r, q);
    c.int(row.row, `${q}.row`);
    c.int(row.dupClass, `${q}.dupClass`, 0, 63);
    c.bool(row.memorized, `${q}.memorized`);
    c.bool(row.cleanCorrect, `${q}.cleanCorrect`);
    c.ints(row.prompt, `${q}.prompt`, L.heatmapK);
    const n = c.ints(row.flags, `${q}.flags`, k, 0, 7).length;
    for (const f of ['target', 'clean', 'generated'] as const) {
      if (c.ints(row[f], `${q}.${f}`, k).length !== n) c.fail(`${q}.${f}`, `must have as many entries as flags (${n})`);
    }
    cells += n;
    if (cells > L.heatmapCells) c.fail(`${p}rows`, `hold more than ${L.heatmapCells} cells`);
  });
  return o as unknown as HeatmapData;
}

function heatmap(v: unknown): HeatmapViewPayload {
  const c = new Check('heatmap');
  const o = c.header(v);
  heatmapData(c, o, '');
  return o as unknown as HeatmapViewPayload;
}

function heatmapPair(v: unknown): HeatmapPairViewPayload {
  const c = new Check('heatmap-pair');
  const o = c.header(v);
  c.str(o.beforeLabel, 'beforeLabel');
  c.str(o.afterLabel, 'afterLabel');
  heatmapData(c, o.before, 'before');
  heatmapData(c, o.after, 'after');
  return o as unknown as HeatmapPairViewPayload;
}

function curves(v: unknown): CurvesViewPayload {
  const c = new Check('curves');
  const o = c.header(v);
  c.arr(o.points, 'points', L.curvePoints).forEach((p, i) => {
    const pt = c.obj(p, `points[${i}]`);
    c.num(pt.epoch, `points[${i}].epoch`);
    for (const f of ['loss', 'accuracy', 'memorization', 'perplexity']) if (pt[f] !== undefined) c.numOrNull(pt[f], `points[${i}].${f}`);
  });
  return o as unknown as CurvesViewPayload;
}

function comparison(v: unknown): ComparisonViewPayload {
  const c = new Check('comparison');
  const o = c.header(v);
  c.oneOf(o.utility, 'utility', ['accuracy', 'perplexity'] as const);
  c.arr(o.rows, 'rows', L.comparisonRows).forEach((r, i) => {
    const q = `rows[${i}]`;
    const row = c.obj(r, q);
    for (const f of ['method', 'name', 'family', 'hyperParams']) c.str(row[f], `${q}.${f}`);
    c.num(row.seconds, `${q}.seconds`, 0);
    for (const f of ['memBefore', 'memAfter', 'utilityBefore', 'utilityAfter', 'memChangePct', 'utilityChangePct', 'score']) c.numOrNull(row[f], `${q}.${f}`);
    c.bool(row.selected, `${q}.selected`);
    if (row.error !== null) c.str(row.error, `${q}.error`);
  });
  return o as unknown as ComparisonViewPayload;
}

function masks(v: unknown): MasksViewPayload {
  const c = new Check('masks');
  const o = c.header(v);
  c.str(o.method, 'method');
  c.str(o.family, 'family');
  if (o.utility !== null) c.oneOf(o.utility, 'utility', ['accuracy', 'perplexity'] as const);
  for (const f of ['memBefore', 'memAfter', 'utilityBefore', 'utilityAfter']) c.numOrNull(o[f], f);
  const place = (x: Obj, q: string) => {
    c.str(x.name, `${q}.name`);
    if (x.layer !== null) c.int(x.layer, `${q}.layer`);
    c.str(x.matrix, `${q}.matrix`);
  };
  c.arr(o.tensors, 'tensors', L.maskTensors).forEach((t, i) => {
    const q = `tensors[${i}]`;
    const x = c.obj(t, q);
    place(x, q);
    c.ints(x.shape, `${q}.shape`, 8);
    const total = c.int(x.total, `${q}.total`);
    c.int(x.pruned, `${q}.pruned`, 0, total);
  });
  c.arr(o.matrices, 'matrices', L.maskMatrices).forEach((m, i) => {
    const q = `matrices[${i}]`;
    const x = c.obj(m, q);
    place(x, q);
    const rows = c.int(x.rows, `${q}.rows`, 1);
    const cols = c.int(x.cols, `${q}.cols`, 1);
    const edges = (f: 'rowEdges' | 'colEdges', n: number) => {
      const e = c.ints(x[f], `${q}.${f}`, L.maskBlocks + 1);
      if (e.length < 2 || e[0] !== 0 || e[e.length - 1] !== n) c.fail(`${q}.${f}`, `must run from 0 to ${n}`);
      for (let j = 1; j < e.length; j++) if (e[j]! <= e[j - 1]!) c.fail(`${q}.${f}`, 'must be strictly increasing');
      return e;
    };
    const re = edges('rowEdges', rows);
    const ce = edges('colEdges', cols);
    const p = c.ints(x.pruned, `${q}.pruned`, L.maskBlocks * L.maskBlocks);
    if (p.length !== (re.length - 1) * (ce.length - 1)) c.fail(`${q}.pruned`, `must hold ${(re.length - 1) * (ce.length - 1)} block counts, got ${p.length}`);
    p.forEach((n, j) => {
      const bi = Math.floor(j / (ce.length - 1));
      const bj = j % (ce.length - 1);
      const size = (re[bi + 1]! - re[bi]!) * (ce[bj + 1]! - ce[bj]!);
      if (n > size) c.fail(`${q}.pruned[${j}]`, `counts ${n} pruned entries in a block of ${size}`);
    });
  });
  c.arr(o.neurons, 'neurons', L.neuronLayers).forEach((s, i) => {
    const q = `neurons[${i}]`;
    const x = c.obj(s, q);
    c.int(x.layer, `${q}.layer`);
    const width = c.int(x.width, `${q}.width`, 1);
    c.int(x.ablated, `${q}.ablated`, 0, width);
    const bin = c.int(x.binSize, `${q}.binSize`, 1);
    const bins = c.ints(x.bins, `${q}.bins`, L.neuronBins, 0, bin);
    if (bins.length !== Math.ceil(width / bin)) c.fail(`${q}.bins`, `must hold ${Math.ceil(width / bin)} bins, got ${bins.length}`);
  });
  return o as unknown as MasksViewPayload;
}

function metrics(v: unknown): MetricsViewPayload {
  const c = new Check('metrics');
  const o = c.header(v);
  c.oneOf(o.dataset, 'dataset', ['math', 'language', 'sequences'] as const);
  if (o.artifact !== undefined) c.oneOf(o.artifact, 'artifact', ['noise', 'backdoor'] as const);
  c.str(o.provider, 'provider');
  c.num(o.seconds, 'seconds', 0);
  c.arr(o.metrics, 'metrics', L.metrics).forEach((m, i) => {
    const q = `metrics[${i}]`;
    const x = c.obj(m, q);
    for (const f of ['id', 'label', 'description']) c.str(x[f], `${q}.${f}`);
    c.numOrNull(x.value, `${q}.value`);
    c.oneOf(x.unit, `${q}.unit`, ['percent', 'perplexity', 'count'] as const);
    c.bool(x.headline, `${q}.headline`);
  });
  c.arr(o.byClass, 'byClass', 64).forEach((b, i) => {
    const q = `byClass[${i}]`;
    const x = c.obj(b, q);
    c.int(x.dupClass, `${q}.dupClass`);
    c.num(x.factor, `${q}.factor`, 0);
    c.int(x.kept, `${q}.kept`);
    c.int(x.memorized, `${q}.memorized`);
    c.numOrNull(x.percentMemorized, `${q}.percentMemorized`);
  });
  return o as unknown as MetricsViewPayload;
}

// A switch, not a table built at load time: viewPayloads.ts re-exports this module, so its constants may not be
// initialised yet while this module loads.
function validatorFor(mime: string): ((v: unknown) => ViewPayload) | undefined {
  switch (mime) {
    case VIEW_MIME.heatmap: return heatmap;
    case VIEW_MIME.heatmapPair: return heatmapPair;
    case VIEW_MIME.curves: return curves;
    case VIEW_MIME.comparison: return comparison;
    case VIEW_MIME.masks: return masks;
    case VIEW_MIME.metrics: return metrics;
    default: return undefined;
  }
}

/**
 * Returns `data` typed as the payload of `mime`, or throws a ViewPayloadError that names the bad field. Accepts the
 * parsed object or its JSON text (what a notebook output item holds as bytes).
 */
export function validateViewPayload<M extends keyof ViewPayloadByMime>(mime: M, data: unknown): ViewPayloadByMime[M];
export function validateViewPayload(mime: string, data: unknown): ViewPayload;
export function validateViewPayload(mime: string, data: unknown): ViewPayload {
  const check = typeof mime === 'string' ? validatorFor(mime) : undefined;
  if (!check) throw new ViewPayloadError(`unknown view type ${JSON.stringify(String(mime).slice(0, 80))}; expected one of ${Object.values(VIEW_MIME).join(', ')}`);
  let v = data;
  if (typeof v === 'string') {
    if (v.length > 20_000_000) throw new ViewPayloadError(`${mime} payload: ${v.length} characters of JSON is too large to draw`);
    try {
      v = JSON.parse(v);
    } catch (e) {
      throw new ViewPayloadError(`${mime} payload is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return check(v);
}
