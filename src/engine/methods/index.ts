// Importing this module registers every mitigation method, in the paper's order (spec §4): regularizers, fine-tuning,
// then unlearning.
import './regularizers/index';
import './finetune/index';
import './neuron/index';
import './weight/index';
import './subnet/index';
import './baselines/index';

export { getAnyMethod, getFineTuneMethod, getMethod, getRegularizer, listMethods, methodInfos,
  resolveHyperParams } from './registry';
export type {
  FineTuneContext,
  FineTuneMethod,
  FineTuneResult,
  MitigationMethod,
  RegularizerContext,
  RegularizerMethod,
  TrainingRegularizer,
  UnlearnContext,
  UnlearnResult,
  UnlearningMethod,
} from './types';
