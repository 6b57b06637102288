// Gradient Difference baseline: ascent on the forget set and descent on the retain set, −L_forget + β·L_retain, on
// every weight with AdamW (one forget batch and one retain batch per step), until the forget loss reaches a bound.
// Prunes nothing (no masks).
import { registerMethod } from '../registry';
import { COMMON_PARAMS, runBaseline } from './gradientBaseline';

registerMethod({
  id: 'gradient-difference',
  name: 'Gradient Difference',
  family: 'baseline',
  description: 'Fine-tunes all weights to raise the forget-set LM loss while lowering the retain-set LM loss (AdamW).',
  edits: 'All weights (values change; nothing is pruned)',
  novel: false,
  usesRetain: true,
  hyperParams: [
    ...COMMON_PARAMS,
    { name: 'retain_weight', type: 'number', default: 1, min: 0, max: 100, grid: [0.5, 1, 2],
      description: 'β in −L_forget + β·L_retain. Not in the paper: our default and sweep.' },
  ],
  run: (ctx) =>
    runBaseline(ctx, { id: 'gradient-difference', objective: 'difference', beta: ctx.hp.retain_weight as number,
      stage: 'gradient difference (forget ↑, retain ↓)' }),
});
