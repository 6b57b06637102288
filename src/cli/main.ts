// The `tinymem` command line: presets, train, eval, score, methods, mitigate, compare, run, sweep, completion. Errors
// are one line on stderr and a non-zero exit; with --json, stdout holds one JSON document (json.ts, docs/cli.md).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { checkThreads } from '../engine/io/machine';
import { checkProviders } from '../engine/runtime/providers';
import { presetList } from '../engine/presets';
import { versions } from '../engine/runs/versions';
import { listMethods, methodInfos } from '../engine/methods/index';
import { compareCommand } from './commands/compare';
import { evalCommand } from './commands/evalCmd';
import { registerExport } from './commands/export';
import { mitigateCommand } from './commands/mitigate';
import { runCommand } from './commands/run';
import { scoreCommand } from './commands/score';
import { cancelCommand, jobCommand, reportCommand, retryCommand, statusCommand, sweepCommand,
} from './commands/sweep';
import { trainCommand } from './commands/train';
import { completionCommand } from './completion/command';
import { table } from './format';
import { errorDocument, keepStdoutForJson, printJson, wantsJson } from './json';

/** --threads, the same default as the extension's tinymem.threads. */
const THREADS = 'ONNX Runtime intra-op threads; 0 (the default) lets ONNX Runtime choose (all cores)';
const JSON_HELP = 'print the result as one JSON document on stdout (progress on stderr; errors as {"error": ...})';

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer, got "${v}"`);
  return n;
};

/** --threads: 0 (ONNX Runtime chooses) or a positive integer, at most the machine's cores (checked before any work). */
const threadsOption = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(
    `--threads must be a positive integer or 0 (ONNX Runtime chooses), got "${v}"`);
  try {
    return checkThreads(n)!;
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const PROVIDERS = 'ONNX Runtime execution providers in order of preference, e.g. cuda,cpu or webgpu,cpu (default ' +
  'cpu); one that cannot start is skipped with the reason, once per run';
const STEPS_PER_RUN = 'training steps per ONNX Runtime run (default 1): K > 1 runs K steps inside one graph, so the ' +
  'weights cross between host and device once per K steps (for cuda)';

/** --providers: checked against the providers onnxruntime-node has on this platform before any work. */
const providersOption = (v: string): string[] => {
  try {
    return checkProviders(v, '--providers');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** --threads and --providers, the runtime options of every command that runs a model; --steps-per-run too where it
 *  trains. */
function runtimeOptions(c: Command, trains = false): Command {
  c.option('--threads <n>', THREADS, threadsOption).option('--providers <list>', PROVIDERS, providersOption);
  if (trains) c.option('--steps-per-run <k>', STEPS_PER_RUN, positiveInt('--steps-per-run'));
  return c;
}

/** The options naming a Hugging Face model's data sets (eval, mitigate, compare on a folder without TinyMem data). */
function hfDataOptions(c: Command, prompt = true): Command {
  c.option('--sequences <file>', 'Hugging Face models: memorized-sequence set, JSON or JSONL of token-id lists ' +
    '(MemPi: 80 tokens)')
    .option('--text <file>', 'Hugging Face models: text (tokenized with the folder\'s tokenizer.json) or a .json ' +
      'token file, for perplexity and the retain set')
    .option('--retain <file>', 'Hugging Face models: text or .json tokens for the retain set (default: --text)')
    .option('--continuation-len <n>', 'Hugging Face models: tokens that must match after the prompt (default 40)',
      positiveInt('--continuation-len'));
  if (prompt) c.option('--prompt-len <n>', 'Hugging Face models: prompt length of the memorization check (default 32)',
    positiveInt('--prompt-len'));
  return c;
}

export function program(): Command {
  const p = new Command('tinymem')
    .description('Train small GPT-2 models that memorize planted artifacts, measure the memorization, and remove it.')
    .version(versions().tinymem)
    .showHelpAfterError('(run with --help for usage)');
  p.command('presets')
    .description('list the training presets (the paper\'s configurations and CPU-sized ones)')
    .option('--json', JSON_HELP)
    .action((f: { json?: boolean }) => {
      if (f.json) printJson(presetList());
      else console.log(table([['preset', 'description'], ...presetList().map((x) => [x.name, x.description])]));
    });
  runtimeOptions(p.command('train'), true)
    .description('train a preset; writes a Hugging Face checkpoint folder with a tinymem.json manifest')
    .requiredOption('--preset <name>', 'a preset from `tinymem presets`')
    .option('--set <key=value...>', 'override preset values, e.g. model.n_layer=2 train.epochs=10 data.numNoise=200')
    .option('--regularizer <id>', 'train with a regularizer from `tinymem methods` (spectral-norm, loss-truncation, ' +
      'example-tied-dropout)')
    .option('--reg-set <hp=value...>', 'the regularizer\'s hyper-parameters, e.g. lam=0.1 (defaults: tinymem methods)')
    .requiredOption('--out <dir>', 'checkpoint folder to create')
    .option('--force', 'replace an earlier TinyMem checkpoint in --out')
    .option('--no-eval', 'skip the evaluation after training')
    .option('--json', JSON_HELP)
    .action(async (f) => {
      process.exitCode = await trainCommand(f);
    });
  hfDataOptions(runtimeOptions(p.command('eval <dir>')))
    .description('measure memorization, accuracy or perplexity of a TinyMem checkpoint on its own data, or of a ' +
      'Hugging Face folder on --sequences/--text')
    .option('--json', 'print the full result as one JSON document on stdout')
    .option('--all', 'print every metric, not only the headline ones')
    .action(async (dir, f) => {
      process.exitCode = await evalCommand(dir, f);
    });
  runtimeOptions(p.command('score <dir>'))
    .description('per-sequence loss and greedy continuation of token sequences (a JSON list of token-id lists); any ' +
      'TinyMem or Hugging Face GPT-2/GPT-NeoX folder')
    .requiredOption('--tokens <file>', 'JSON file: [[id, id, ...], ...]')
    .option('--generate <n>', 'greedy tokens to generate after each prompt', positiveInt('--generate'))
    .option('--prompt-len <n>', 'prompt length for --generate', positiveInt('--prompt-len'), 50)
    .option('--json', 'print one JSON document on stdout ({"loss": [...], "greedy": [...]})')
    .action(async (dir, f) => {
      process.exitCode = await scoreCommand(dir, f);
    });
  p.command('methods')
    .description('list the mitigation methods with their hyper-parameters, our defaults and the paper\'s values')
    .option('--json', JSON_HELP)
    .action((f: { json?: boolean }) => {
      if (f.json) return printJson(methodInfos());
      for (const m of listMethods()) {
        console.log(`${m.id} — ${m.name} (${m.family}${m.novel ? ', new in the paper' : ''}): ${m.description}`);
        for (const h of m.hyperParams) {
          const paper = [h.paper !== undefined ? `paper: ${h.paper}` : '',
            h.grid ? `paper's sweep: ${h.grid.join(', ')}` : ''].filter(Boolean).join('; ');
          console.log(`    ${h.name} = ${h.default}  ${h.description}${paper ? ` (${paper})` : ''}`);
        }
      }
    });
  hfDataOptions(runtimeOptions(p.command('mitigate <dir>')))
    .description('unlearn the memorized sequences of a TinyMem checkpoint (or a Hugging Face folder with ' +
      '--sequences) with one method; writes the edited checkpoint')
    .requiredOption('--method <name>', 'a method from `tinymem methods`')
    .option('--set <hp=value...>', 'hyper-parameters, e.g. ratio=0.05 epochs=10 (defaults: `tinymem methods`)')
    .requiredOption('--out <dir>', 'folder for the edited checkpoint')
    .option('--force', 'replace an earlier TinyMem checkpoint in --out')
    .option('--json', JSON_HELP)
    .option('--seed <n>', 'seed of the method\'s randomness', (v) => Number(v), 0)
    .action(async (dir, f) => {
      process.exitCode = await mitigateCommand(dir, f);
    });
  hfDataOptions(runtimeOptions(p.command('compare <dir>')))
    .description('run several methods on the same checkpoint (or Hugging Face folder with --sequences) and write a ' +
      'comparison table, CSV and JSON')
    .requiredOption('--methods <list>', 'comma-separated method ids, or "all"')
    .option('--grid', 'sweep a small grid of the paper\'s values and select with the paper\'s rule')
    .option('--out <dir>', 'folder for compare.csv and compare.json (default: DIR-compare)')
    .option('--force', 'replace compare.csv and compare.json of an earlier comparison in --out')
    .option('--json', JSON_HELP)
    .option('--seed <n>', 'seed of the methods\' randomness', (v) => Number(v), 0)
    .action(async (dir, f) => {
      process.exitCode = await compareCommand(dir, f);
    });
  registerExport(p);
  runtimeOptions(p.command('run <notebook>'), true)
    .description(
      'run every step cell of a .tinymem notebook (as VS Code would) and write the outputs and an HTML report')
    .option('--out <file>', 'write the executed notebook (with outputs) here')
    .option('--html <file>', 'write a self-contained HTML report here')
    .option('--seed <n>', 'default seed of the methods\' randomness', (v) => Number(v), 0)
    .option('--output-cap <kb>', 'drop a chart whose data is over this many KB (its text stays)',
      positiveInt('--output-cap'))
    .option('--json', JSON_HELP)
    .option('--allow-outside', 'let cells read and write paths outside the notebook\'s folder (as the setting ' +
      'tinymem.allowPathsOutsideWorkspace)')
    .action(async (nb, f) => {
      process.exitCode = await runCommand(nb, f);
    });
  const sweep = p.command('sweep')
    .description('run a grid of training and unlearning jobs from a spec file, locally or on a Slurm cluster');
  sweep.command('run <spec>', { isDefault: true })
    .description('plan SPEC.yaml and run (local) or submit (slurm) the jobs that are not done')
    .option('--out <dir>', 'the sweep\'s folder (default: sweeps/NAME)')
    .option('--backend <name>', 'local or slurm (default: the spec\'s)', (v) => {
      if (v !== 'local' && v !== 'slurm') throw new InvalidArgumentError('--backend must be local or slurm');
      return v;
    })
    .option('--dry-run', 'print the jobs the spec expands into, by stage and method, and write nothing')
    .option('--json', JSON_HELP)
    .action(async (spec, f) => {
      process.exitCode = await sweepCommand(spec, f);
    });
  sweep.command('status <dir>').description('count the jobs by state and list the failed ones')
    .option('--json', JSON_HELP)
    .action(async (dir, f) => {
      process.exitCode = await statusCommand(dir, f);
    });
  sweep.command('cancel <dir>').description('cancel the queued and running jobs').option('--json', JSON_HELP)
    .action(async (dir, f) => {
      process.exitCode = await cancelCommand(dir, f);
    });
  sweep.command('retry <dir>').description('re-run the failed and cancelled jobs').option('--json', JSON_HELP)
    .action(async (dir, f) => {
      process.exitCode = await retryCommand(dir, f);
    });
  sweep.command('report <dir>').description('gather results.csv, results.jsonl and report.html again')
    .option('--json', JSON_HELP)
    .action(async (dir, f) => {
      process.exitCode = await reportCommand(dir, f);
    });
  sweep.command('job <dir> [id]', { hidden: true }).description('run one job of a sweep (what the backends start)')
    .option('--list <file>', 'a file of job ids, one per line (a Slurm array)')
    .option('--index <n>', 'the line of --list to run ($SLURM_ARRAY_TASK_ID)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (the backends pass the spec\'s threads; default 1)',
      threadsOption)
    .option('--json', JSON_HELP)
    .option('--providers <list>', 'execution providers in order of preference', providersOption)
    .option('--steps-per-run <k>', STEPS_PER_RUN, positiveInt('--steps-per-run'))
    .action(async (dir, id, f) => {
      process.exitCode = await jobCommand(dir, id, f);
    });
  completionCommand(p);
  p.addHelpText('after', `
With --json, stdout holds exactly one JSON document: the command's result, or {"error": {"message": ...}} when it
fails. The exit code is 0 on success, 1 on an error or a result with failures, 130/143 when stopped by
Ctrl-C/SIGTERM. Progress and notes go to stderr.`);
  return p;
}

/** Every command of the program, the program first. */
export const allCommands = (c: Command): Command[] => [c, ...c.commands.flatMap(allCommands)];

/** Runs the command line; errors become one stderr line, or the JSON error document with --json. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const json = wantsJson(argv);
  const p = program();
  if (json) {
    keepStdoutForJson();
    // Commander's own mistakes (a missing option, an unknown command) throw instead of printing and exiting.
    for (const c of allCommands(p)) c.exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
  }
  try {
    await p.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      if (e.exitCode === 0) return;
    } else process.exitCode = 1;
    if (json) printJson(errorDocument(e));
    else if (!(e instanceof CommanderError)) {
      process.stderr.write(`tinymem: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
}

if (require.main === module) void main();
