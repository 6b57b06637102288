// Parses and validates a step cell (YAML) into a typed Step with the schemas of src/shared/stepSchema.ts, then checks
// what only the engine knows (presets, methods, hyper-parameters). Every problem is reported with the line and column
// of the offending key or value and the field's name, so the editor can underline it and the CLI can name it.
import * as v from 'valibot';
import { type Document, isCollection, isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { listMethods, resolveHyperParams } from '../methods/registry';
import '../methods/index';
import { resolvePreset } from '../presets';
import type { MethodInfo } from '../../shared/methodTypes';
import { STEP_KEY, STEP_KINDS, STEP_SCHEMAS, type Step, stepSpec } from '../../shared/stepSchema';
import { type CellIssue, UserError } from '../../shared/userError';

export type {
  CompareStep,
  DataStep,
  HfStepData,
  InspectStep,
  MemorizationStep,
  MitigateStep,
  Step,
  SweepStep,
  TrainStep,
} from '../../shared/stepSchema';

export type { CellIssue };

export interface ParsedStep {
  step: Step | null;
  issues: CellIssue[];
}

const show = (x: unknown) => JSON.stringify(x) ?? String(x);

class Checker {
  readonly issues: CellIssue[] = [];
  constructor(
    private readonly lc: LineCounter,
    private readonly source: string,
  ) {}

  at(node: Node | null | undefined, field: string, message: string): void {
    const [start, end] = node?.range ? [node.range[0], node.range[1]]
      : [0, Math.max(0, this.source.indexOf('\n') < 0 ? this.source.length : this.source.indexOf('\n'))];
    const a = this.lc.linePos(start);
    const b = this.lc.linePos(Math.max(start, end));
    this.issues.push({ line: a.line, column: a.col, endLine: b.line, endColumn: b.col, field, message });
  }
}

/** The node at `path` below `node` (map keys, list indices). */
function nodeAt(node: Node | null | undefined, path: readonly unknown[]): Node | undefined {
  return path.reduce<Node | undefined>(
    (n, k) => (isCollection(n) ? (n.get(k, true) as Node | undefined) : undefined),
    node ?? undefined,
  );
}

/** The key and value nodes of `name` in a YAML map. */
function pairOf(map: unknown, name: string): { key: Node; value: Node | null } | undefined {
  if (!isMap(map)) return undefined;
  const p = map.items.find((q) => isPair(q) && isScalar(q.key) && String(q.key.value) === name);
  return p ? { key: p.key as Node, value: (p.value as Node | null) ?? null } : undefined;
}

/** The key node of a flattened override (`train.epochs`), written flat or nested. */
function overrideKeyNode(map: unknown, want: string, prefix = ''): Node | undefined {
  if (!isMap(map)) return undefined;
  for (const p of map.items) {
    const k = prefix + String(isScalar(p.key) ? p.key.value : '');
    const found = isMap(p.value) ? overrideKeyNode(p.value, want, `${k}.`) : k === want ? (p.key as Node) : undefined;
    if (found) return found;
  }
  return undefined;
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

function checkMethod(c: Checker, node: Node | null | undefined, field: string, id: string): void {
  if (findMethod(id)) return;
  const reg = listMethods().find((m) => m.id === id);
  c.at(node, field, reg
    ? `"${id}" is a regularizer: it applies while training from scratch, not to a trained checkpoint`
    : `unknown method ${show(id)}; known methods: ${runnableMethodIds().join(', ')}`);
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
    c.issues.push({ line: a.line, column: a.col, endLine: b.line, endColumn: b.col, field: '',
      message: `not valid YAML: ${e.message.split('\n')[0]}` });
  }
  if (c.issues.length) return { step: null, issues: c.issues };
  const root = doc.contents as Node | null;
  if (!root || !isMap(root)) {
    c.at(root, '', 'a step cell is a YAML map starting with `step: <kind>`, e.g. `step: train`');
    return { step: null, issues: c.issues };
  }
  // `sweep: spec.yaml` alone is short for a sweep step.
  if (!root.has('step') && root.has('sweep')) root.items.unshift(doc.createPair('step', 'sweep'));
  const entries = new Map<string, { key: Node; value: Node | null }>();
  for (const p of root.items) {
    if (isPair(p) && isScalar(p.key)) entries.set(String(p.key.value),
      { key: p.key as Node, value: (p.value as Node | null) ?? null });
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
  for (const [name, e] of entries) {
    if (name !== STEP_KEY.name && !spec.keys.some((k) => k.name === name)) {
      c.at(e.key, name, `unknown key for a ${spec.kind} step; it takes ${spec.keys.map((k) => k.name).join(', ')}`);
    }
  }
  for (const k of spec.keys) {
    if (!k.required || entries.has(k.name)) continue;
    c.at(stepEntry.key, k.name, `missing: a ${spec.kind} step needs \`${k.name}:\` (${k.description})`);
  }
  // Each key's value against its schema on its own, so that one bad value hides none of the others' problems.
  const raw: Record<string, unknown> = root.toJS(doc);
  if (raw.methods === 'all') raw.methods = runnableMethodIds();
  const schema = STEP_SCHEMAS[spec.kind];
  const keySchemas: v.ObjectEntries = schema.entries;
  for (const k of spec.keys) {
    const e = entries.get(k.name);
    if (!e) continue;
    const r = v.safeParse(keySchemas[k.name]!, raw[k.name]);
    for (const issue of r.issues ?? []) {
      const path = (issue.path ?? []).map((p) => p.key);
      const field = k.name + path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${String(x)}`)).join('');
      c.at(nodeAt(e.value, path) ?? e.value ?? e.key, field, issue.message);
    }
    // Method and regularizer ids against the registry (the ids of a list that is otherwise broken too).
    const x = raw[k.name];
    if (k.type === 'method' && r.success && typeof x === 'string') checkMethod(c, e.value, k.name, x);
    if (k.type === 'methods' && Array.isArray(x)) {
      x.forEach((id, i) => {
        if (typeof id === 'string' && id.trim()) checkMethod(c, nodeAt(e.value, [i]), `${k.name}[${i}]`, id);
      });
    }
    if (k.type === 'regularizer' && r.success && typeof x === 'string' && !findRegularizer(x)) {
      const known = regularizers().map((m) => m.id).join(', ') || 'none';
      c.at(e.value, k.name, `unknown regularizer ${show(x)}; regularizers: ${known}`);
    }
    if (!r.success) delete raw[k.name];
  }
  const typed = v.safeParse(schema, raw);
  if (typed.success) engineChecks(c, typed.output, entries);
  // Hugging Face keys: lengths of at least one token; the lengths and the retain set only mean something next to a
  // sequence set (a text alone is a valid memorization step: perplexity only).
  for (const k of ['promptLength', 'continuationLength'] as const) {
    if (raw[k] === 0) c.at(entries.get(k)!.value, k, 'must be at least 1 token');
  }
  if (!entries.has('sequences')) {
    for (const k of ['promptLength', 'continuationLength', 'retain'] as const) {
      const fix = `add \`sequences: path/to/sequences.jsonl\` or remove \`${k}:\``;
      const what = 'applies to the memorized-sequence set of a Hugging Face folder';
      if (entries.has(k)) c.at(entries.get(k)!.key, k, `${what}: ${fix}`);
    }
  }
  return c.issues.length || !typed.success ? { step: null, issues: c.issues } : { step: typed.output, issues: [] };
}

/** What only the engine knows: presets and their overrides, methods' and regularizers' hyper-parameters. */
function engineChecks(c: Checker, s: Step, entries: Map<string, { key: Node; value: Node | null }>): void {
  const value = (k: string) => entries.get(k)?.value;
  const keyNode = (k: string) => entries.get(k)?.key;
  if ('preset' in s) {
    try {
      resolvePreset(s.preset, s.set);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      const msg = e.problems[0]!.message;
      if (e.path === 'preset') c.at(value('preset'), 'preset', msg);
      else c.at(overrideKeyNode(value('set'), e.path) ?? keyNode('set') ?? keyNode('preset'), `set.${e.path}`, msg);
    }
  }
  if (s.step === 'train' && s.hp && s.regularizer === undefined) {
    c.at(keyNode('hp'), 'hp', 'hyper-parameters of what? add `regularizer: <id>` or remove `hp`');
  }
  const hpOwner =
    s.step === 'mitigate' ? findMethod(s.method)
  : s.step === 'train' && s.regularizer ? findRegularizer(s.regularizer)
    : undefined;
  if (hpOwner && 'hp' in s && s.hp) {
    for (const [name, hv] of Object.entries(s.hp)) {
      try {
        resolveHyperParams(hpOwner, { [name]: hv });
      } catch (e) {
        const msg = e instanceof UserError ? e.problems[0]!.message : String(e);
        const p = pairOf(value('hp'), name);
        c.at(hpOwner.hyperParams.some((h) => h.name === name) ? (p?.value ?? p?.key) : p?.key, `hp.${name}`, msg);
      }
    }
  }
}

/** The step of a cell, or a UserError (kind 'cell') naming the line and field of each problem. */
export function stepOrThrow(source: string): Step {
  const r = parseStep(source);
  if (!r.step) throw new UserError(r.issues.map(({ field, message, ...at }) => ({ path: field, message, at })), 'cell');
  return r.step;
}
