// The `tinymem` command line: presets, train, eval, score. Errors are one line on stderr and a non-zero exit.
import { Command, InvalidArgumentError } from 'commander';
import { presetList } from '../engine/presets';
import { versions } from '../engine/runs/versions';
import { listMethods } from '../engine/methods/index';
import { compareCommand } from './commands/compare';
import { evalCommand } from './commands/evalCmd';
import { mitigateCommand } from './commands/mitigate';
import { scoreCommand } from './commands/score';
import { trainCommand } from './commands/train';
import { table } from './format';

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer, got "${v}"`);
  return n;
};

export function program(): Command {
  const p = new Command('tinymem')
    .description('Train small GPT-2 models that memorize planted artifacts, measure the memorization, and remove it.')
    .version(versions().tinymem)
    .showHelpAfterError('(run with --help for usage)');
  p.command('presets')
    .description('list the training presets (the paper\'s configurations and CPU-sized ones)')
    .action(() => console.log(table([['preset', 'description'], ...presetList().map((x) => [x.name, x.description])])));
  p.command('train')
    .description('train a preset; writes a Hugging Face checkpoint folder with a tinymem.json manifest')
    .requiredOption('--preset <name>', 'a preset from `tinymem presets`')
    .option('--set <key=value...>', 'override preset values, e.g. model.n_layer=2 train.epochs=10 data.numNoise=200')
    .requiredOption('--out <dir>', 'checkpoint folder to create')
    .option('--force', 'replace an earlier TinyMem checkpoint in --out')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', positiveInt('--threads'))
    .option('--providers <list>', 'execution providers in order of preference, e.g. cuda,cpu')
    .option('--no-eval', 'skip the evaluation after training')
    .action(async (f) => {
      process.exitCode = await trainCommand(f);
    });
  p.command('eval <dir>')
    .description('measure memorization, accuracy or perplexity of a TinyMem checkpoint on its own data')
    .option('--json', 'print the full result as JSON')
    .option('--all', 'print every metric, not only the headline ones')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', positiveInt('--threads'))
    .action(async (dir, f) => {
      process.exitCode = await evalCommand(dir, f);
    });
  p.command('score <dir>')
    .description('per-sequence loss and greedy continuation of token sequences (a JSON list of token-id lists)')
    .requiredOption('--tokens <file>', 'JSON file: [[id, id, ...], ...]')
    .option('--generate <n>', 'greedy tokens to generate after each prompt', positiveInt('--generate'))
    .option('--prompt-len <n>', 'prompt length for --generate', positiveInt('--prompt-len'), 50)
    .option('--json', 'print JSON ({"loss": [...], "greedy": [...]})')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', positiveInt('--threads'))
    .action(async (dir, f) => {
      process.exitCode = await scoreCommand(dir, f);
    });
  p.command('methods')
    .description('list the mitigation methods with their hyper-parameters and the paper\'s defaults')
    .action(() => {
      for (const m of listMethods()) {
        console.log(`${m.id} — ${m.name} (${m.family}${m.novel ? ', new in the paper' : ''}): ${m.description}`);
        for (const h of m.hyperParams) console.log(`    ${h.name} = ${h.default}  ${h.description}${h.grid ? ` (paper's sweep: ${h.grid.join(', ')})` : ''}`);
      }
    });
  p.command('mitigate <dir>')
    .description('unlearn the memorized sequences of a TinyMem checkpoint with one method; writes the edited checkpoint')
    .requiredOption('--method <name>', 'a method from `tinymem methods`')
    .option('--set <hp=value...>', 'hyper-parameters, e.g. ratio=0.05 epochs=10 (defaults: the paper\'s)')
    .requiredOption('--out <dir>', 'folder for the edited checkpoint')
    .option('--force', 'replace an earlier TinyMem checkpoint in --out')
    .option('--seed <n>', 'seed of the method\'s randomness', (v) => Number(v), 0)
    .option('--threads <n>', 'ONNX Runtime intra-op threads', positiveInt('--threads'))
    .action(async (dir, f) => {
      process.exitCode = await mitigateCommand(dir, f);
    });
  p.command('compare <dir>')
    .description('run several methods on the same checkpoint and write a comparison table, CSV and JSON')
    .requiredOption('--methods <list>', 'comma-separated method ids, or "all"')
    .option('--grid', 'sweep a small grid of the paper\'s values and select with the paper\'s rule')
    .option('--out <dir>', 'folder for compare.csv and compare.json (default: DIR-compare)')
    .option('--seed <n>', 'seed of the methods\' randomness', (v) => Number(v), 0)
    .option('--threads <n>', 'ONNX Runtime intra-op threads', positiveInt('--threads'))
    .action(async (dir, f) => {
      process.exitCode = await compareCommand(dir, f);
    });
  return p;
}

if (require.main === module) {
  program()
    .parseAsync()
    .catch((e: unknown) => {
      process.stderr.write(`tinymem: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    });
}
