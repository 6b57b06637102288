// Importing this module registers every mitigation method.
import './neuron/index';
import './weight/index';
import './subnet/index';
import './baselines/index';

export { getMethod, listMethods, methodInfos, resolveHyperParams } from './registry';
export type { UnlearnContext, UnlearnResult, UnlearningMethod } from './types';
