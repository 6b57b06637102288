// Clean fine-tuning (spec §4.B): continue training on the clean twins of the planted sequences only, each once.
//
// What it costs on math data is a property of that data, not of the code: the twins all belong to the main family
// (x + 7 on the CPU presets), so a few epochs on them alone teach the model to forget the extra families (x + 2 … 5),
// which make up four of the five sets the accuracy averages. On cpu-math-backdoor (153 twins, batch 32, 25 AdamW
// steps) accuracy falls 94.87 → 78.03 %: main-7 96.9 → 90.7, the extra sets ~94 → 73–77. Fine-tuning instead on 153
// random clean main-family rows costs the extra sets as much (→ 76–85) but not main-7 (96.9): the rest of main-7's
// loss comes from the twins' narrow range (every backdoor twin holds the numbers around 1000). One epoch still costs
// 11 points; lr 1e-4 costs 2 and still removes the backdoor. Both fine-tuning keeps every family and gains.
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
