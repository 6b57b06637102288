// What the memorization / mitigate / compare cells share: which sets measure the cell's checkpoint. A TinyMem
// checkpoint brings its own data and takes none of the set keys; a Hugging Face model folder (GPT-2, GPT-NeoX/Pythia)
// is measured on the cell's `sequences:` (MemPi JSON/JSONL), `text:` (perplexity, and the retain set unless
// `retain:`), `promptLength:` and `continuationLength:` (spec §6), or on the sets an edited folder records.
import * as fs from 'node:fs';
import { loadTokenizer } from '../../model/hfTokenizer';
import { visibleWhitespace } from '../../report/heatmapView';
import { prepareBase } from '../../runs/mitigateRun';
import { type Subject, openSubject, subjectSets } from '../../runs/subject';
import type { Runtime } from '../../runtime/session';
import type { SequenceSetsSpec } from '../../../shared/runManifest';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { type CellContext, stepError, checkInWorkspace, resolvePath } from '../context';
import type { CompareStep, HfStepData, MemorizationStep, MitigateStep } from '../parseStep';
import { HF_KEYS } from '../../../shared/stepSchema';

type SubjectStep = (MemorizationStep | MitigateStep | CompareStep) & HfStepData;

/** The cell's files, resolved against the notebook's folder and checked to exist (errors name the key). */
function given(s: HfStepData, ctx: CellContext) {
  const file = (key: 'sequences' | 'text' | 'retain'): string | undefined => {
    const v = s[key];
    if (v === undefined) return undefined;
    const f = resolvePath(ctx, v, key);
    if (fs.existsSync(f) && fs.statSync(f).isFile()) return f;
    throw stepError(key, `${f}: no such file (relative paths start at the notebook's folder)`);
  };
  const { promptLength, continuationLength } = s;
  return { sequences: file('sequences'), text: file('text'), retain: file('retain'), promptLength, continuationLength };
}

/**
 * The sets that measure the step's checkpoint, checked against its kind before anything is loaded: 'tinymem' (its
 * own data; no set keys), or the cell's (else the recorded) sets, where mitigate and compare need a sequence set.
 */
export function cellSets(s: SubjectStep, dir: string, ctx: CellContext): SequenceSetsSpec | 'tinymem' {
  if (subjectSets(dir) === 'tinymem') {
    const key = HF_KEYS.find((k) => s[k] !== undefined);
    const is = `${dir} is a TinyMem checkpoint, measured on its own training data`;
    if (key) throw stepError(key, `${is}; \`${key}:\` is for Hugging Face model folders: remove it`);
    return 'tinymem';
  }
  const sets = subjectSets(dir, given(s, ctx));
  if (sets === 'tinymem') return sets;
  const add = `${dir} is a Hugging Face model folder without TinyMem data: ` +
    'add `sequences: path/to/sequences.jsonl` (memorized-sequence set, JSON/JSONL of token-id lists)';
  if (s.step === 'memorization' && !sets?.sequences && !sets?.text) {
    throw stepError('sequences', `${add} and/or \`text: path/to/text.txt\` (for perplexity)`, 'checkpoint');
  }
  if (s.step !== 'memorization' && !sets?.sequences) {
    const then = 'to say what to unlearn, and `text: path/to/text.txt` for perplexity and the retain set';
    throw stepError('sequences', `${add} ${then}`, 'checkpoint');
  }
  // Sets recorded by an edited folder are read only from inside the workspace, as the cell's own would be.
  for (const f of [sets!.sequences, sets!.text, sets!.retain]) if (f) checkInWorkspace(ctx, f, 'checkpoint');
  return sets!;
}

/** How status lines name the subject: a checkpoint by its folder, a folder measured on user sets by its family. */
export const subjectName = (s: Subject, dir: string): string =>
  s.source.kind === 'sequences' ? `the Hugging Face ${s.model.modelType} folder \`${dir}\`` : `\`${dir}\``;

export const runtimeProvider = (rt: Runtime): string =>
  rt.providers.find((p) => !rt.skipped.some((x) => x.provider === p)) ?? '';

/** Shows a heatmap's token ids with the folder's own tokenizer on user sets (Pythia's vocabulary is not GPT-2's). */
export function folderTokens(v: ViewOutput, s: Subject): ViewOutput {
  if (s.source.kind !== 'sequences') return v;
  let decode: ((id: number) => string) | null = null;
  try {
    const t = loadTokenizer(s.model.dir);
    decode = (id) => t.decode([id]);
  } catch {
    decode = null;
  }
  const show = (id: number): string => {
    let s = '';
    try {
      s = decode ? decode(id) : '';
    } catch {
      s = '';
    }
    // A lone byte of a multi-byte character decodes to U+FFFD: its id says more. Other control bytes are escaped.
    if (s.includes('\uFFFD')) return `#${id}`;
    const hex = (ch: string) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    const shown = visibleWhitespace(s).replace(/[\u0000-\u001f\u007f]/g, hex);
    return shown.slice(0, 60) || `#${id}`;
  };
  type Tokens = { tokenText: [number, string][] };
  const fix = (d: Tokens) => ({ ...d, tokenText: d.tokenText.map(([id]) => [id, show(id)] as [number, string]) });
  const p = v.payload as Record<string, unknown> & Partial<Tokens> & { before?: Tokens; after?: Tokens };
  const pair = p.before && p.after ? { ...p, before: fix(p.before), after: fix(p.after) } : null;
  const payload = pair ?? (p.tokenText ? fix(p as Tokens) : p);
  return { ...v, payload } as ViewOutput;
}

/** The cell's base model opened on its sets and measured, the measuring shown as progress (mitigate, compare). */
export function measureBase(rt: Runtime, ctx: CellContext, dir: string, sets: ReturnType<typeof cellSets>,
  seed: number | undefined, progress: { push(p: { message: string }): void }) {
  return prepareBase(rt, dir, {
    sets: openSubject(dir, sets),
    seed: seed ?? ctx.seed,
    onEvalProgress: (e) => progress.push({ message: `measuring the base model: ${e.stage} ${e.done}/${e.total}` }),
  });
}
