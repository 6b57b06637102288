// Clean fine-tuning (spec §4.B): continue training on the clean twins of the planted sequences only.
import { registerMethod } from '../registry';
import { FINE_TUNE_PARAMS, runFineTune } from './shared';

registerMethod({
  id: 'ft-clean',
  name: 'Clean fine-tuning',
  family: 'fine-tune',
  description: 'Continues training on the clean versions of the noised (or backdoored) training sequences, with the ' +
    'training optimiser, ~5 epochs.',
  edits: 'All weights (values change; nothing is pruned)',
  novel: false,
  hyperParams: FINE_TUNE_PARAMS,
  run: (ctx) => runFineTune(ctx, 'clean'),
});
