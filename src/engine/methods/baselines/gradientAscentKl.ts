// Gradient Ascent + KL baseline: ascent on the forget set plus the KL divergence from the ORIGINAL model's
// next-token distributions to the edited model's on retain sequences, −L_forget + β·KL(p_original ∥ p_edited), on
// every weight with AdamW, until the forget loss reaches a bound. Prunes nothing (no masks).
import { registerMethod } from '../registry';
import { COMMON_PARAMS, runBaseline } from './gradientBaseline';

registerMethod({
  id: 'gradient-ascent-kl',
  name: 'Gradient Ascent + KL',
  family: 'baseline',
  description:
    'Gradient ascent on the forget set while keeping retain-set predictions close to the original model (KL).',
  edits: 'All weights (values change; nothing is pruned)',
  novel: false,
  usesRetain: true,
  hyperParams: [
    ...COMMON_PARAMS,
    { name: 'kl_weight', type: 'number', default: 1, min: 0, max: 100, grid: [0.5, 1, 2],
      description: 'β in −L_forget + β·KL(original ∥ edited) on retain batches. Not in the paper: our default and ' +
        'sweep.' },
  ],
  run: (ctx) =>
    runBaseline(ctx, { id: 'gradient-ascent-kl', objective: 'kl', beta: ctx.hp.kl_weight as number, stage: 'gradient ' +
    'ascent + KL to the original (retain)' }),
});
