// Parses and validates a step cell (YAML) into a typed Step. Every problem is reported with the line and column of
// the offending key or value and the field's name, so the editor can underline it and the CLI can name it.
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { listMethods, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import { PresetError, resolvePreset } from '../presets';
import type { HyperValue, MethodInfo } from '../../shared/methodTypes';
import { type KeySpec, STEP_KEY, STEP_KINDS, type StepKind, stepSpec } from './stepSchema';

export interface DataStep { step: 'data'; preset: string; set: Record<string, string>; title?: string }
export interface TrainStep { step: 'train'; preset: string; set: Record<string, string>; out?: string; force: boolean; evaluate: boolean; regularizer?: string; hp?: Record<string, HyperValue>; title?: string }
/** The sets a Hugging Face folder is measured on (paths as written in the cell; they resolve at run time). */
export interface HfStepData { sequences?: string; text?: string; retain?: string; promptLength?: number; continuationLength?: number }
export interface MemorizationStep extends HfStepData { step: 'memorization'; checkpoint?: string; title?: string }
export interface MitigateStep extends HfStepData { step: 'mitigate'; checkpoint?: string; method: string; hp: Record<string, HyperValue>; out?: string; force: boolean; seed?: number; title?: string }
export interface CompareStep extends HfStepData { step: 'compare'; checkpoint?: string; methods: string[]; grid: boolean; maxPoints?: number; seed?: number; title?: string }
export interface InspectStep { step: 'inspect'; checkpoint?: string; title?: string }
export type Step = DataStep | TrainStep | MemorizationStep | MitigateStep | CompareStep | InspectStep;

/** One problem in a cell; lines and columns are 1-based. */
export interface CellIssue {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** The key path, e.g. `hp.ratio`, `set.train.epochs`, `method`; '' for the cell as a whole. */
  field: string;
  message: string;
}

/** A cell that cannot run; the message names the line and the field. */
export class CellError extends Error {
  override readonly name = 'CellError';
  constructor(readonly issues: CellIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(i: CellIssue): string {
  return `line ${i.line}${i.field ? `, ${i.field}` : ''}: ${i.message}`;
}

export interface ParsedStep {
  step: Step | null;
  issues: CellIssue[];
}

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

class Checker {
  readonly issues: CellIssue[] = [];
  constructor(
    private readonly lc: LineCounter,
    private readonly source: string,
  ) {}

  at(node: Node | null | undefined, field: string, message: string): void {
    const [start, end] = node?.range ? [node.range[0], node.range[1]] : [0, Math.max(0, this.source.indexOf('\n') < 0 ? this.source.length : this.source.indexOf('\n'))];
    const a = this.lc.linePos(start);
    const b = this.lc.linePos(Math.max(start, end));
    this.issues.push({ line: a.line, column: a.col, endLine: b.line, endColumn: b.col, field, message });
  }
}

/** Flattens `{ train: { epochs: 20 } }` and `{ train.epochs: 20 }` alike into `train.epochs` → "20" (the preset's override strings). */
function overrides(c: Checker, node: Node, field: string): { set: Record<string, string>; nodes: Map<string, Node> } {
  const set: Record<string, string> = {};
  const nodes = new Map<string, Node>();
  const walk = (n: Node, prefix: string) => {
    if (!isMap(n)) {
      c.at(n, field, `expected a map of overrides such as { train.epochs: 20 }, got ${show((n as { toJSON?(): unknown }).toJSON?.())}`);
      return;
    }
    for (const p of n.items) {
      if (!isPair(p) || !isScalar(p.key)) continue;
      const key = prefix + String(p.key.value);
      const v = p.value as Node | null;
      if (isMap(v)) walk(v, `${key}.`);
      else {
        const js = v ? (v as { toJSON(): unknown }).toJSON() : null;
        set[key] = typeof js === 'string' ? js : JSON.stringify(js);
        nodes.set(key, p.key as Node);
      }
    }
  };
  walk(node, '');
  return { set, nodes };
}

function scalarOf(c: Checker, node: Node | null, field: string, want: 'string' | 'boolean' | 'integer'): unknown {
  const v = node && isScalar(node) ? node.value : undefined;
  const ok = want === 'string' ? typeof v === 'string' && v.trim() !== '' : want === 'boolean' ? typeof v === 'boolean' : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!ok) {
    const got = node ? show((node as { toJSON?(): unknown }).toJSON?.()) : 'nothing';
    c.at(node, field, `expected ${want === 'string' ? 'a non-empty text' : want === 'boolean' ? 'true or false' : 'a non-negative integer'}, got ${got}`);
    return undefined;
  }
  return v;
}

/** Methods that edit a trained checkpoint (regularizers apply while training from scratch instead). */
export function runnableMethods(): MethodInfo[] {
  return listMethods().filter((m) => (m.family as string) !== 'regularizer');
}

export function runnableMethodIds(): string[] {
  return runnableMethods().map((m) => m.id);
}

export function findMethod(id: string): MethodInfo | undefined {
  return runnableMethods().find((m) => m.id === id);
}

/** Regularizers: applied while training from scratch (`regularizer:` of a train step). */
export function regularizers(): MethodInfo[] {
  return listMethods().filter((m) => (m.family as string) === 'regularizer');
}

export function findRegularizer(id: string): MethodInfo | undefined {
  return regularizers().find((m) => m.id === id);
}

function checkMethod(c: Checker, node: Node | null, field: string, id: unknown): boolean {
  if (typeof id !== 'string') return false;
  if (findMethod(id)) return true;
  const reg = listMethods().find((m) => m.id === id);
  c.at(node, field, reg ? `"${id}" is a regularizer: it applies while training from scratch, not to a trained checkpoint` : `unknown method ${show(id)}; known methods: ${runnableMethodIds().join(', ')}`);
  return false;
}

/** Parses a step cell's YAML; `step` is null when there are issues. */
export function parseStep(source: string): ParsedStep {
  const lc = new LineCounter();
  const c = new Checker(lc, source);
  let doc: Document;
  try {
    doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    c.at(null, '', `not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
    return { step: null, issues: c.issues };
  }
  for (const e of doc.errors) {
    const a = lc.linePos(e.pos[0]);
    const b = lc.linePos(e.pos[1]);
    c.issues.push({ line: a.line, column: a.col, endLine: b.line, endColumn: b.col, field: '', message: `not valid YAML: ${e.message.split('\n')[0]}` });
  }
  if (c.issues.length) return { step: null, issues: c.issues };
  const root = doc.contents as Node | null;
  if (!root || !isMap(root)) {
    c.at(root, '', 'a step cell is a YAML map starting with `step: <kind>`, e.g. `step: train`');
    return { step: null, issues: c.issues };
  }
  const entries = new Map<string, { key: Node; value: Node | null }>();
  for (const p of root.items) {
    if (isPair(p) && isScalar(p.key)) entries.set(String(p.key.value), { key: p.key as Node, value: (p.value as Node | null) ?? null });
  }
  const stepEntry = entries.get('step');
  if (!stepEntry) {
    c.at(root, 'step', `missing; start the cell with \`step: <kind>\`, one of ${STEP_KINDS.join(', ')}`);
    return { step: null, issues: c.issues };
  }
  const kind = stepEntry.value && isScalar(stepEntry.value) ? stepEntry.value.value : undefined;
  const spec = typeof kind === 'string' ? stepSpec(kind) : undefined;
  if (!spec) {
    c.at(stepEntry.value ?? stepEntry.key, 'step', `unknown step ${show(kind)}; use one of ${STEP_KINDS.join(', ')}`);
    return { step: null, issues: c.issues };
  }
  const allowed = new Map<string, KeySpec>([[STEP_KEY.name, STEP_KEY], ...spec.keys.map((k) => [k.name, k] as const)]);
  for (const [name, e] of entries) {
    if (!allowed.has(name)) c.at(e.key, name, `unknown key for a ${spec.kind} step; it takes ${spec.keys.map((k) => k.name).join(', ')}`);
  }
  for (const k of spec.keys) {
    if (k.required && !entries.has(k.name)) c.at(stepEntry.key, k.name, `missing: a ${spec.kind} step needs \`${k.name}:\` (${k.description})`);
  }
  const out: Record<string, unknown> = { step: spec.kind };
  for (const k of spec.keys) {
    const e = entries.get(k.name);
    if (!e) continue;
    const v = e.value;
    switch (k.type) {
      case 'string':
      case 'path':
      case 'preset':
        out[k.name] = scalarOf(c, v, k.name, 'string');
        break;
      case 'boolean':
        out[k.name] = scalarOf(c, v, k.name, 'boolean');
        break;
      case 'integer':
        out[k.name] = scalarOf(c, v, k.name, 'integer');
        break;
      case 'method': {
        const id = scalarOf(c, v, k.name, 'string');
        if (checkMethod(c, v, k.name, id)) out[k.name] = id;
        break;
      }
      case 'regularizer': {
        const id = scalarOf(c, v, k.name, 'string');
        if (typeof id === 'string') {
          if (findRegularizer(id)) out[k.name] = id;
          else c.at(v, k.name, `unknown regularizer ${show(id)}; regularizers: ${regularizers().map((m) => m.id).join(', ') || 'none'}`);
        }
        break;
      }
      case 'methods': {
        if (v && isScalar(v) && v.value === 'all') out[k.name] = runnableMethodIds();
        else if (v && isSeq(v) && v.items.length > 0) {
          const ids: string[] = [];
          v.items.forEach((it, i) => {
            const id = scalarOf(c, it as Node, `${k.name}[${i}]`, 'string');
            if (checkMethod(c, it as Node, `${k.name}[${i}]`, id)) ids.push(id as string);
          });
          out[k.name] = ids;
        } else c.at(v ?? e.key, k.name, 'expected a list of method ids such as [balanced-subnet, greedy], or "all"');
        break;
      }
      case 'overrides':
        if (v) {
          const o = overrides(c, v, k.name);
          out[k.name] = o.set;
          out.__setNodes = o.nodes;
        }
        break;
      case 'hyperParams':
        if (v && !isMap(v)) c.at(v, k.name, 'expected a map of hyper-parameters such as { ratio: 0.05 }');
        else if (v && isMap(v)) {
          const hp: Record<string, HyperValue> = {};
          const nodes = new Map<string, Node>();
          for (const p of v.items) {
            if (!isPair(p) || !isScalar(p.key)) continue;
            const name = String(p.key.value);
            const val = p.value && isScalar(p.value) ? p.value.value : (p.value as { toJSON?(): unknown } | null)?.toJSON?.();
            if (typeof val !== 'number' && typeof val !== 'boolean' && typeof val !== 'string') {
              c.at((p.value as Node) ?? (p.key as Node), `hp.${name}`, `expected a number, true/false or a text, got ${show(val)}`);
              continue;
            }
            hp[name] = val;
            nodes.set(name, (p.value as Node) ?? (p.key as Node));
          }
          out[k.name] = hp;
          out.__hpNodes = nodes;
          out.__hpKeyNodes = new Map(v.items.filter(isPair).map((p) => [String((p.key as { value?: unknown }).value), p.key as Node]));
        }
        break;
      case 'step':
        break;
    }
  }
  // Cross-field checks with the engine's own validators: preset overrides and method hyper-parameters.
  if (typeof out.preset === 'string') {
    try {
      resolvePreset(out.preset, (out.set as Record<string, string>) ?? {});
    } catch (e) {
      if (!(e instanceof PresetError)) throw e;
      const setNodes = out.__setNodes as Map<string, Node> | undefined;
      const msg = e.message.slice(e.key.length + 2);
      if (e.key === 'preset') c.at(entries.get('preset')!.value, 'preset', msg);
      else c.at(setNodes?.get(e.key) ?? entries.get('set')?.key ?? entries.get('preset')!.key, `set.${e.key}`, msg);
    }
  }
  if (out.hp && spec.kind === 'train' && !entries.has('regularizer')) c.at(entries.get('hp')!.key, 'hp', 'hyper-parameters of what? add `regularizer: <id>` or remove `hp`');
  const hpOwner = typeof out.method === 'string' ? findMethod(out.method) : typeof out.regularizer === 'string' ? findRegularizer(out.regularizer) : undefined;
  if (hpOwner && out.hp) {
    const m = hpOwner;
    const nodes = out.__hpNodes as Map<string, Node>;
    const keyNodes = out.__hpKeyNodes as Map<string, Node>;
    for (const [name, value] of Object.entries(out.hp as Record<string, HyperValue>)) {
      try {
        resolveHyperParams(m, { [name]: value });
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).replace(`${m.id}: ${name}: `, '').replace(`${m.id}: `, '');
        const known = m.hyperParams.some((h) => h.name === name);
        c.at(known ? nodes.get(name) : keyNodes.get(name), `hp.${name}`, msg);
      }
    }
  }
  // Hugging Face keys: lengths of at least one token; the lengths and the retain set only mean something next to a
  // sequence set (a text alone is a valid memorization step: perplexity only).
  for (const k of ['promptLength', 'continuationLength'] as const) {
    if (out[k] === 0) c.at(entries.get(k)!.value, k, 'must be at least 1 token');
  }
  if (!entries.has('sequences')) {
    for (const k of ['promptLength', 'continuationLength', 'retain'] as const) {
      if (entries.has(k)) c.at(entries.get(k)!.key, k, `applies to the memorized-sequence set of a Hugging Face folder: add \`sequences: path/to/sequences.jsonl\` or remove \`${k}:\``);
    }
  }
  if (c.issues.length) return { step: null, issues: c.issues };
  delete out.__setNodes;
  delete out.__hpNodes;
  delete out.__hpKeyNodes;
  const kindName = spec.kind as StepKind;
  if (kindName === 'data' || kindName === 'train') out.set ??= {};
  // An existing output is replaced only when the cell says `force: true`.
  if (kindName === 'train') {
    out.force ??= false;
    out.evaluate ??= true;
  }
  if (kindName === 'mitigate') {
    out.hp ??= {};
    out.force ??= false;
  }
  if (kindName === 'compare') out.grid ??= false;
  return { step: out as unknown as Step, issues: [] };
}

/** The step of a cell, or a CellError naming the line and field of the first problems. */
export function stepOrThrow(source: string): Step {
  const r = parseStep(source);
  if (!r.step) throw new CellError(r.issues);
  return r.step;
}
