// The one list of mitigation methods. The CLI, the notebook and the command palette read it; nothing lists methods
// twice. Method files register themselves on import (methods/index.ts imports them all).
import type { MethodInfo } from '../../shared/methodTypes';
import type { FineTuneMethod, MitigationMethod, RegularizerMethod, UnlearningMethod } from './types';

export { resolveHyperParams } from '../../shared/methodTypes';

const methods = new Map<string, MitigationMethod>();

export function registerMethod(m: MitigationMethod): void {
  if (methods.has(m.id)) throw new Error(`method "${m.id}" is registered twice`);
  methods.set(m.id, m);
}

/** Any registered method (unlearning, fine-tuning or regularizer); narrow by `family`. */
export function getAnyMethod(id: string): MitigationMethod {
  const m = methods.get(id);
  if (!m) throw new Error(`unknown method "${id}"; known methods: ${[...methods.keys()].join(', ')}`);
  return m;
}

const howToRun = (m: MitigationMethod): string =>
  m.family === 'regularizer'
    ? `"${m.id}" is a regularizer: it applies while training from scratch (tinymem train --preset NAME --regularizer ` +
      `${m.id})`
    : m.family === 'fine-tune'
      ? `"${m.id}" is a fine-tuning method: it continues training a checkpoint (tinymem mitigate DIR --method ${m.id})`
      : `"${m.id}" is an unlearning method`;

/** An unlearning method (neuron, weight or baseline family): the ones that take forget/retain sets. */
export function getMethod(id: string): UnlearningMethod {
  const m = getAnyMethod(id);
  if (m.family === 'regularizer' || m.family === 'fine-tune') throw new Error(
    `${howToRun(m)}, not an unlearning method`);
  return m;
}

export function getFineTuneMethod(id: string): FineTuneMethod {
  const m = getAnyMethod(id);
  if (m.family !== 'fine-tune') throw new Error(`${howToRun(m)}, not a fine-tuning method`);
  return m;
}

export function getRegularizer(id: string): RegularizerMethod {
  const m = getAnyMethod(id);
  if (m.family !== 'regularizer') {
    const ids = listMethods().filter((x) => x.family === 'regularizer').map((x) => x.id);
    throw new Error(`${howToRun(m)}, not a regularizer; regularizers: ${ids.join(', ')}`);
  }
  return m;
}

/** Every method, in registration order (regularizers, fine-tuning, then unlearning: see methods/index.ts). */
export function listMethods(): MitigationMethod[] {
  return [...methods.values()];
}

/** Plain-data descriptions (no functions), for the UI. */
export function methodInfos(): MethodInfo[] {
  return listMethods().map(({ id, name, family, description, edits, novel, hyperParams }) =>
    ({ id, name, family, description, edits, novel, hyperParams }));
}
