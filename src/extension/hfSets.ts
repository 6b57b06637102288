// The sets a Hugging Face model folder is measured on, asked for when the folder records none: the memorized-sequence
// file (JSON/JSONL of token-id lists), a text file for perplexity and the retain set (optional), and, when the
// sequences are shorter than the paper's 32 + 40 tokens, the prompt and continuation lengths. The last choice per
// folder is offered first next time. The result is the step cell's keys (stepSchema.ts HF_KEYS).
import * as vscode from 'vscode';
import { type ModelFolder, firstSequenceLength } from '../shared/modelFolder';
import { NO_TEXT_LABEL, pickFile } from './checkpointPicker';

/** The paper's Pythia setting (spec §6), the engine's defaults when a cell leaves the lengths out. */
export const DEFAULT_PROMPT = 32;
export const DEFAULT_CONTINUATION = 40;

export interface HfSetKeys {
  sequences?: string;
  text?: string;
  promptLength?: number;
  continuationLength?: number;
}

const RECENT_KEY = 'tinymem.hfSets';

/** Prompt + continuation lengths for sequences of `length` tokens when the paper's do not fit; undefined: cancel. */
async function askLengths(title: string, length: number): Promise<{ promptLength: number;
  continuationLength: number; } | undefined> {
  const prompt = Math.max(1, Math.floor(length * 0.4));
  const parse = (s: string) => s.split(/[+,\s]+/).filter(Boolean).map(Number);
  const v = await vscode.window.showInputBox({
    title,
    prompt: `The sequences hold ${length} tokens, fewer than the paper's ${DEFAULT_PROMPT} prompt + ` +
      `${DEFAULT_CONTINUATION} compared. Prompt + continuation tokens:`,
    value: `${prompt} + ${length - prompt}`,
    ignoreFocusOut: true,
    validateInput: (s) => {
      const [p, c, extra] = parse(s);
      const ok = Number.isInteger(p) && Number.isInteger(c) && extra === undefined && p! > 0 && c! > 0;
      return ok && p! + c! <= length ? undefined : `Two positive whole numbers adding up to at most ${length}, e.g. ` +
        `${prompt} + ${length - prompt}`;
    },
  });
  if (v === undefined) return undefined;
  const [promptLength, continuationLength] = parse(v) as [number, number];
  return { promptLength, continuationLength };
}

/**
 * The set keys for `folder`'s step: {} for a TinyMem checkpoint or a folder that records its sets, `given` when a
 * caller named the sequences, else the user's answers. Undefined when cancelled.
 */
export async function askHfSets(ctx: vscode.ExtensionContext, folder: ModelFolder, title: string,
  given: HfSetKeys = {}): Promise<HfSetKeys | undefined> {
  if (folder.kind === 'tinymem' || folder.recordedSequences) return {};
  if (given.sequences) {
    const { sequences, text, promptLength, continuationLength } = given;
    return { sequences, ...(text ? { text } : {}), ...(promptLength ? { promptLength } : {}),
      ...(continuationLength ? { continuationLength } : {}) };
  }
  const recent = ctx.workspaceState.get<Record<string, HfSetKeys>>(RECENT_KEY, {});
  const last = recent[folder.dir] ?? {};
  const sequences = await pickFile({
    title: `${title}: memorized sequences`,
    placeHolder: 'The memorized-sequence set (JSON or JSONL of token-id lists; the model\'s reproductions become ' +
      'the forget set)',
    glob: '**/*.{jsonl,json}', filters: { 'Sequence sets': ['jsonl', 'json'] }, recent: last.sequences,
  });
  if (!sequences) return undefined;
  const text = await pickFile({
    title: `${title}: text`,
    placeHolder: 'Text for perplexity and the retain set (.txt, or .json token ids), or none',
    glob: '**/*.{txt,json}', filters: { Text: ['txt', 'json'] }, recent: last.text, none: NO_TEXT_LABEL,
  });
  if (text === undefined) return undefined;
  const keys: HfSetKeys = { sequences, ...(text ? { text } : {}) };
  const length = firstSequenceLength(sequences);
  if (length !== undefined && length < DEFAULT_PROMPT + DEFAULT_CONTINUATION) {
    const lengths = await askLengths(`${title}: lengths`, length);
    if (!lengths) return undefined;
    Object.assign(keys, lengths);
  }
  await ctx.workspaceState.update(RECENT_KEY, { ...recent, [folder.dir]: keys });
  return keys;
}
