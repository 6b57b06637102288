// The `tinymem` command line: presets, train, eval, score. Errors are one line on stderr and a non-zero exit.
import { Command, InvalidArgumentError } from 'commander';
import { presetList } from '../engine/presets';
import { versions } from '../engine/runs/versions';
import { evalCommand } from './commands/evalCmd';
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
