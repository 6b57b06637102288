// What the editor lists and explains (completion, hover, the command palette's pickers) besides the step table
// (stepSchema.ts): the presets with their settings, the methods with their hyper-parameters. Plain data, so the
// extension host never loads the engine; catalog.json is written from the engine's tables (src/engine/catalog.ts, run
// by `npm run build`).
import type { MethodInfo } from './methodTypes';
import data from './catalog.json';

export interface PresetEntry {
  name: string;
  description: string;
  /** Every override key (seed, model.*, train.*, data.*) with the preset's value, as `set:` in a cell writes it. */
  set: Record<string, string>;
}

export interface Catalog {
  /** CPU-sized presets first, then the paper's. */
  presets: PresetEntry[];
  /** Methods that edit a trained checkpoint (`method:` of a mitigate step). */
  methods: MethodInfo[];
  /** Methods applied while training from scratch (`regularizer:` of a train step). */
  regularizers: MethodInfo[];
  /** The paper's Pythia sequence lengths, offered for `promptLength:` and `continuationLength:`. */
  hfLengths: Record<string, number>;
}

export const CATALOG: Catalog = data;
export const findMethod = (id: string) => CATALOG.methods.find((m) => m.id === id);
export const findRegularizer = (id: string) => CATALOG.regularizers.find((m) => m.id === id);
