// Extra fine-tuning (spec §4.B): continue training on all clean training data (the training set minus the planted
// sequences).
import { registerMethod } from '../registry';
import { FINE_TUNE_PARAMS, runFineTune } from './shared';

registerMethod({
  id: 'ft-extra',
  name: 'Extra fine-tuning',
  family: 'fine-tune',
  description: 'Continues training on the clean training data (everything but the planted sequences), with the ' +
    'training optimiser, ~5 epochs.',
  edits: 'All weights (values change; nothing is pruned)',
  novel: false,
  hyperParams: FINE_TUNE_PARAMS,
  run: (ctx) => runFineTune(ctx, 'extra'),
});
