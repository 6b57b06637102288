// Gradient Ascent baseline: fine-tune every weight to RAISE the LM loss on the forget set (−L_forget), with AdamW,
// until the forget loss reaches a bound. Prior-work baseline; changes values, prunes nothing (no masks).
import { registerMethod } from '../registry';
import { COMMON_PARAMS, runBaseline } from './gradientBaseline';

registerMethod({
  id: 'gradient-ascent',
  name: 'Gradient Ascent',
  family: 'baseline',
  description: 'Fine-tunes all weights to raise the LM loss on the forget set (AdamW), until the forget loss reaches ' +
    'stop_loss.',
  edits: 'All weights (values change; nothing is pruned)',
  novel: false,
  usesRetain: false,
  hyperParams: COMMON_PARAMS,
  run: (ctx) => runBaseline(ctx, { id: 'gradient-ascent', objective: 'ascent', beta: 0, stage: 'gradient ascent on ' +
    'the forget set' }),
});
