// Writes src/shared/catalog.json, what the editor lists and explains, from the engine's own tables: the presets with
// every override key and value, the methods and regularizers with their hyper-parameters, the Hugging Face lengths.
// `npm run build` runs writeCatalog() first; test/extension.host.test.ts fails when the file no longer matches.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Catalog } from '../shared/catalog';
import { MEMPI_CONTINUATION_LENGTH, MEMPI_PROMPT_LENGTH } from './data/memorizedSequences';
import { methodInfos } from './methods/registry';
import { findMethod, findRegularizer } from './notebook/parseStep';
import { PRESETS, resolvePreset } from './presets';

export const CATALOG_FILE = path.join(__dirname, '..', 'shared', 'catalog.json');

export function engineCatalog(): Catalog {
  const presets = PRESETS.map(({ name, description }) => {
    const p = resolvePreset(name);
    const set: Record<string, string> = { seed: String(p.seed) };
    for (const [k, v] of Object.entries(p.model)) set[`model.${k}`] = JSON.stringify(v);
    for (const [k, v] of Object.entries(p.train)) set[`train.${k}`] = JSON.stringify(v);
    for (const [k, v] of Object.entries(p.data.options)) if (k !== 'seed') set[`data.${k}`] = JSON.stringify(v);
    return { name, description, set };
  });
  return {
    presets,
    methods: methodInfos().filter((m) => findMethod(m.id)),
    regularizers: methodInfos().filter((m) => findRegularizer(m.id)),
    hfLengths: { promptLength: MEMPI_PROMPT_LENGTH, continuationLength: MEMPI_CONTINUATION_LENGTH },
  };
}

export const catalogText = (): string => `${JSON.stringify(engineCatalog(), null, 2)}\n`;

/** Rewrites the catalog when the engine's tables changed. */
export function writeCatalog(): void {
  const text = catalogText();
  const old = fs.existsSync(CATALOG_FILE) ? fs.readFileSync(CATALOG_FILE, 'utf8') : '';
  if (old !== text) fs.writeFileSync(CATALOG_FILE, text);
}
