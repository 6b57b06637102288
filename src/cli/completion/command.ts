// `tinymem completion bash|zsh`: prints the shell's completion script, generated from the program it belongs to.
import { Argument, type Command } from 'commander';
import { bashScript } from './bash';
import { completionModel } from './model';
import { zshScript } from './zsh';

const SHELLS = { bash: bashScript, zsh: zshScript } as const;

export function completionCommand(p: Command): void {
  p.command('completion')
    .description('print a completion script for bash or zsh, e.g. source <(tinymem completion bash)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(Object.keys(SHELLS)))
    .action((shell: keyof typeof SHELLS) => {
      process.stdout.write(SHELLS[shell](completionModel(p)));
    });
}
