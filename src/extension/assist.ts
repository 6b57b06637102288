// Editor help for step cells, as plain data (no vscode): completions and hovers for step kinds, keys, presets,
// preset overrides, method ids and hyper-parameters with the paper's defaults. The extension wraps these in
// CompletionItem/Hover; tests call them directly. Cells are a few lines of YAML, so a line-based reading of the
// context (which key the cursor is under) is enough and keeps working while the cell is half typed.
import { CATALOG, findMethod, findRegularizer } from '../shared/catalog';
import { STEP_KEY, STEP_KINDS, STEPS, stepSpec } from '../shared/stepSchema';
import type { HyperParamSpec, MethodInfo } from '../shared/methodTypes';

export type CompletionKind = 'step' | 'key' | 'preset' | 'method' | 'hyperParam' | 'override' | 'value';

export interface CompletionData {
  label: string;
  kind: CompletionKind;
  /** Short text shown next to the label (e.g. the default). */
  detail?: string;
  /** Markdown shown in the details pane. */
  documentation?: string;
  /** Text inserted instead of the label. */
  insertText?: string;
}

export interface HoverData {
  markdown: string;
  /** 0-based line and columns of the hovered word. */
  line: number;
  start: number;
  end: number;
}

const lines = (source: string) => source.split(/\r?\n/);

/** The top-level key whose block holds `line` (0-based), and the line's own top-level key when it has one. */
function blockKey(ls: string[], line: number): string | null {
  for (let i = line; i >= 0; i--) {
    const m = /^([A-Za-z_][\w.-]*)\s*:/.exec(ls[i]!);
    if (m) return m[1]!;
  }
  return null;
}

function topValue(ls: string[], key: string): string | undefined {
  for (const l of ls) {
    const m = new RegExp(`^${key}\\s*:\\s*([^#{\\[\\s][^#]*?)\\s*(#.*)?$`).exec(l);
    if (m) return m[1]!.replace(/^["']|["']$/g, '');
  }
  return undefined;
}

export function hyperParamMarkdown(h: HyperParamSpec): string {
  const range = h.type === 'choice' ? `one of ${h.choices!.join(', ')}` : h.type === 'boolean' ? 'true or false'
    : `${h.type}${h.min !== undefined || h.max !== undefined ? ` in [${h.min ?? '-∞'}, ${h.max ?? '∞'}]` : ''}`;
  return `**${h.name}** = \`${h.default}\` (paper default), ${range}\n\n${h.description}${h.grid
    ? `\n\nPaper's sweep: ${h.grid.join(', ')}` : ''}`;
}

export function methodMarkdown(m: MethodInfo): string {
  const hps = m.hyperParams.map((h) => `| \`${h.name}\` | \`${h.default}\` | ${h.description} |`);
  return [
    `**${m.name}** (\`${m.id}\`, ${m.family}${m.novel ? ', new in the paper' : ''})`,
    '',
    m.description,
    '',
    `Edits: ${m.edits}`,
    ...(hps.length ? ['', '| hyper-parameter | paper default | meaning |', '|---|---|---|', ...hps] : []),
  ].join('\n');
}

/** Whose hyper-parameters `hp:` holds: the method of a mitigate step, or the regularizer of a train step. */
function hpOwnerOf(ls: string[]): MethodInfo | undefined {
  return findMethod(topValue(ls, 'method') ?? '') ?? findRegularizer(topValue(ls, 'regularizer') ?? '');
}

/** Override keys of a preset with their current values (seed, model.*, train.*, data.*). */
function overrideKeys(presetName: string | undefined): { key: string; value: string }[] {
  const p = CATALOG.presets.find((x) => x.name === presetName) ?? CATALOG.presets[0]!;
  return Object.entries(p.set).map(([key, value]) => ({ key, value }));
}

/** Completions at a 0-based line and character of a step cell. */
export function completionsAt(source: string, line: number, character: number): CompletionData[] {
  const ls = lines(source);
  const text = (ls[line] ?? '').slice(0, character);
  const kind = topValue(ls, 'step');
  const spec = kind ? stepSpec(kind) : undefined;
  const indented = /^\s/.test(text);
  const top = /^([A-Za-z_][\w.-]*)\s*:\s*(.*)$/.exec(text);
  const owner = indented ? blockKey(ls, line) : top?.[1];
  const inline = top?.[2] ?? '';

  // A new top-level key.
  if (!indented && !top) {
    const keys = spec ? spec.keys : [];
    const present = new Set(ls.map((l) => /^([A-Za-z_][\w.-]*)\s*:/.exec(l)?.[1]).filter(Boolean));
    const all = spec ? keys : [STEP_KEY];
    return all.filter((k) => !present.has(k.name)).map(
      (k) => ({ label: k.name, kind: 'key', detail: k.required ? 'required' : 'optional', documentation: k.description,
        insertText: `${k.name}: ` }));
  }
  if (owner === 'step' && !indented) {
    return STEPS.map((s) => ({ label: s.kind, kind: 'step', documentation: s.description }));
  }
  if (owner === 'preset' && !indented) {
    return CATALOG.presets.map((p, i) => {
      return { label: p.name, kind: 'preset', detail: i < 3 ? 'CPU-sized' : 'paper', documentation: p.description };
    });
  }
  const methods = (list: MethodInfo[], detail: (m: MethodInfo) => string): CompletionData[] =>
    list.map((m) => ({ label: m.id, kind: 'method', detail: detail(m), documentation: methodMarkdown(m) }));
  if (owner === 'method' && !indented) return methods(CATALOG.methods, (m) => `${m.name} (${m.family})`);
  if (owner === 'regularizer' && !indented) return methods(CATALOG.regularizers, (m) => m.name);
  if (owner === 'methods') {
    const documentation = 'Every method that edits a trained checkpoint.';
    const all: CompletionData = { label: 'all', kind: 'value', documentation };
    return [all, ...methods(CATALOG.methods, (m) => `${m.name} (${m.family})`)];
  }
  // Right after `hp: ` or `set: ` the entry comes wrapped in a flow map; inside a map or an indented block, bare.
  const wrap = (t: string) => (!indented && !inline.includes('{') ? `{ ${t} }` : t);
  if (owner === 'hp') {
    const m = hpOwnerOf(ls);
    if (!m) return [];
    return m.hyperParams.map(
      (h) => ({ label: h.name, kind: 'hyperParam', detail: `default ${h.default}`,
        documentation: hyperParamMarkdown(h), insertText: wrap(`${h.name}: ${h.default}`) }));
  }
  if (owner === 'set') {
    return overrideKeys(topValue(ls, 'preset')).map(
      (o) => ({ label: o.key, kind: 'override', detail: `preset value ${o.value}`,
        insertText: wrap(`${o.key}: ${o.value}`) }));
  }
  const key = spec?.keys.find((k) => k.name === owner);
  if (key?.type === 'boolean' && !indented) return ['true', 'false'].map((v) => ({ label: v, kind: 'value' }));
  // Hugging Face sequence lengths: offer the paper's Pythia setting (spec §6).
  const hfDefault = CATALOG.hfLengths[owner ?? ''];
  if (hfDefault !== undefined && !indented) return [
    { label: String(hfDefault), kind: 'value', detail: 'paper default (Pythia)', documentation: key?.description }];
  return [];
}

/** The word under a 0-based position: letters, digits and . _ - */
function wordAt(text: string, character: number): { word: string; start: number; end: number } | null {
  const re = /[\w.-]+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (character >= m.index && character <= m.index + m[0].length) return { word: m[0], start: m.index, end: m.index
      + m[0].length };
  }
  return null;
}

/** Hover text for the word at a 0-based position of a step cell. */
export function hoverAt(source: string, line: number, character: number): HoverData | null {
  const ls = lines(source);
  const text = ls[line] ?? '';
  const w = wordAt(text, character);
  if (!w) return null;
  const at = (markdown: string): HoverData => ({ markdown, line, start: w.start, end: w.end });
  const indented = /^\s/.test(text);
  const owner = blockKey(ls, line);
  const isKey = text.slice(w.end).trimStart().startsWith(':');
  const kind = topValue(ls, 'step');
  const spec = kind ? stepSpec(kind) : undefined;
  if (!indented && isKey && w.start === 0) {
    if (w.word === 'step') return at(`**step**: ${STEP_KEY.description}`);
    const k = spec?.keys.find((x) => x.name === w.word);
    return k ? at(`**${k.name}**${k.required ? ' (required)' : ''}: ${k.description}`) : null;
  }
  if (owner === 'step' && (STEP_KINDS as readonly string[]).includes(w.word)) {
    const s = stepSpec(w.word)!;
    const keys = s.keys.map((k) => `\`${k.name}\`${k.required ? ' (required)' : ''}`).join(', ');
    return at(`**${s.kind}** step: ${s.description}\n\nKeys: ${keys}`);
  }
  if (owner === 'preset') {
    const p = CATALOG.presets.find((x) => x.name === w.word);
    return p ? at(`**${p.name}**: ${p.description}`) : null;
  }
  if (owner === 'method' || owner === 'methods' || owner === 'regularizer') {
    const m = findMethod(w.word) ?? findRegularizer(w.word);
    return m ? at(methodMarkdown(m)) : null;
  }
  if (owner === 'hp' && isKey) {
    const m = hpOwnerOf(ls);
    const h = m?.hyperParams.find((x) => x.name === w.word);
    return h ? at(`${hyperParamMarkdown(h)}\n\n(${m!.name})`) : null;
  }
  if (owner === 'set' && isKey) {
    const o = overrideKeys(topValue(ls, 'preset')).find((x) => x.key === w.word);
    return o ? at(`**${o.key}**: the preset's value is \`${o.value}\``) : null;
  }
  return null;
}
