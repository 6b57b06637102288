// tinymem score DIR --tokens FILE [--generate N] [--prompt-len P] [--json]: per-sequence next-token loss and greedy
// continuations of any checkpoint, in the same JSON shape as the PyTorch reference's `score`.
import { readTextLimited } from '../../shared/readLimited';
import { UserError } from '../../shared/userError';
import { dims } from '../../engine/model/architecture';
import { loadModel } from '../../engine/runs/subject';
import { greedyContinuation, sequenceLosses } from '../../engine/metrics/score';
import { type RuntimeFlags, commandRuntime } from '../runtime';
import { table } from '../format';
import { printJson } from '../json';
import { showValue } from '../../shared/showValue';

/** Reads a JSON list of token-id lists and checks every id and length against the model. */
export function readTokenFile(file: string, vocab: number, maxLen: number, minLen: number): number[][] {
  let raw: unknown;
  try {
    raw = JSON.parse(readTextLimited(file, 'tokens'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new Error(`${file}: ${e instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read'} ` +
      `(${(e as Error).message}); expected a JSON list of token-id lists`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(
    `${file}: expected a non-empty JSON list of token-id lists, e.g. [[10, 1, 2], [10, 3]]`);
  return raw.map((s, i) => {
    if (!Array.isArray(s)) throw new Error(`${file}: sequence ${i} is not a list of token ids`);
    if (s.length < minLen || s.length > maxLen) throw new Error(
      `${file}: sequence ${i} has ${s.length} tokens; this needs ${minLen} to ${maxLen} (the model's context)`);
    s.forEach((t, j) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new Error(
        `${file}: sequence ${i}, position ${j}: ${showValue(t)} is not a token id of this model (0 … ${vocab - 1})`);
    });
    return s as number[];
  });
}

/** Runs `f` on groups of equal-length items, keeping the original order of the results. */
async function byLength<T>(items: number[][], f: (group: number[][]) => Promise<T[]>): Promise<T[]> {
  const out = new Array<T>(items.length);
  const groups = new Map<number, number[]>();
  items.forEach((s, i) => groups.set(s.length, [...(groups.get(s.length) ?? []), i]));
  for (const idx of groups.values()) {
    const res = await f(idx.map((i) => items[i]!));
    idx.forEach((i, k) => (out[i] = res[k]!));
  }
  return out;
}

export async function scoreCommand(dir: string,
  f: RuntimeFlags & { tokens: string; generate?: number; promptLen: number; json?: boolean }): Promise<number> {
  // Any model folder: a TinyMem checkpoint or a Hugging Face GPT-2 / GPT-NeoX folder.
  const ckpt = loadModel(dir);
  const c = ckpt.config;
  const { context, vocab } = dims(c);
  const gen = f.generate ?? 0;
  if (gen > 0 && f.promptLen + gen > context) throw new Error(
    `--prompt-len ${f.promptLen} + --generate ${gen} exceeds the model's context of ${context} tokens`);
  const seqs = readTokenFile(f.tokens, vocab, context, gen > 0 ? Math.max(2, f.promptLen) : 2);
  const rt = await commandRuntime(f);
  try {
    const loss = await byLength(seqs, async (g) => (await sequenceLosses(rt, c, ckpt.params, g)).loss);
    const out: { loss: number[]; greedy?: number[][] } = { loss };
    if (gen > 0) out.greedy = (await greedyContinuation(rt, c, ckpt.params, seqs.map((s) => s.slice(0, f.promptLen)),
      gen)).tokens;
    if (f.json) printJson(out);
    else console.log(
      table([['sequence', 'tokens', 'loss', ...(gen > 0 ? ['greedy continuation'] : [])],
        ...seqs.map(
          (s, i) => [String(i), String(s.length), loss[i]!.toFixed(4),
            ...(out.greedy ? [out.greedy[i]!.join(' ')] : [])])]));
    return 0;
  } finally {
    await rt.dispose();
  }
}
