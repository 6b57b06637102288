// tinymem eval DIR [--json]: measures a TinyMem checkpoint on its own data (rebuilt from its manifest, spec §3), or a
// Hugging Face folder (GPT-2 or GPT-NeoX, e.g. Pythia) on the sets the flags name or its tinymem.json records:
// --sequences (MemPi JSON/JSONL), --text / --retain (text through the folder's tokenizer.json, or a .json token file).
import { evaluateSubject, openSubject, type SequenceSetFiles } from '../../engine/runs/subject';
import { type RuntimeFlags, commandRuntime } from '../runtime';
import type { EvalProgress } from '../../engine/metrics/evaluate';
import { metricsTable } from '../format';
import { printJson } from '../json';
import { progress } from '../progress';

/** The flags naming a model's sequence sets (commander's camel-cased names). */
export interface SetFlags {
  sequences?: string;
  text?: string;
  retain?: string;
  promptLen?: number;
  continuationLen?: number;
}

export const setFiles = ({ sequences, text, retain, promptLen, continuationLen }: SetFlags): SequenceSetFiles =>
  ({ sequences, text, retain, promptLength: promptLen, continuationLength: continuationLen });

export async function evalCommand(dir: string, f: SetFlags & RuntimeFlags & { json?: boolean; all?: boolean }) {
  const s = openSubject(dir, setFiles(f));
  const m = s.model;
  const rt = await commandRuntime(f);
  try {
    const bar = progress('evaluate');
    const onProgress = f.json ? undefined : (e: EvalProgress) => bar.update(e.done, e.total, e.stage);
    const r = await evaluateSubject(rt, s, undefined, { onProgress });
    bar.stop();
    const seqs = r.dataset === 'sequences';
    // On sequence sets the perplexity is the text's (one set).
    const perplexity = r.perplexity?.sets[0] ?? null;
    if (f.json) printJson(seqs ? { model: m.dir, modelType: m.modelType, ...r, perplexity } : r);
    else {
      const notes = seqs && m.notes.length ? ` (${m.notes.join('; ')})` : '';
      const what = seqs ? m.modelType : `${r.dataset} ${r.artifact}`;
      console.log(`${dir}: ${what}, evaluated in ${r.seconds.toFixed(1)} s on ${r.provider}${notes}`);
      console.log(metricsTable(r.metrics, f.all));
    }
    return 0;
  } finally {
    await rt.dispose();
  }
}
