// What shell completion offers, read from the commander program itself (so a new command or option completes without
// touching the scripts): every visible command with its subcommands and options, and what each value completes to.
import type { Command, Option } from 'commander';
import { CATALOG } from '../../shared/catalog';
import { quote } from './shellWords';

/** What a word completes to: fixed words, a file path, a folder path, or nothing to offer (a number, key=value). */
export type ValueKind = { words: string[] } | 'file' | 'dir' | 'none';

export interface OptionSpec {
  /** The option's names, e.g. ['-h', '--help']. */
  names: string[];
  description: string;
  /** null: a flag; else what its value completes to. */
  value: ValueKind | null;
}

export interface CommandSpec {
  /** Words after `tinymem` that select this command: '' for the program, 'sweep status' for a subcommand. */
  path: string;
  name: string;
  description: string;
  options: OptionSpec[];
  subcommands: CommandSpec[];
  /** What its positional arguments complete to; null when it takes none. */
  args: ValueKind | null;
}

const methodIds = () => CATALOG.methods.map((m) => m.id);

/** Options whose values are names from the catalog or a fixed list. */
const NAMED_VALUES: Record<string, () => string[]> = {
  '--preset': () => CATALOG.presets.map((p) => p.name),
  '--method': methodIds,
  '--methods': () => [...methodIds(), 'all'],
  '--regularizer': () => CATALOG.regularizers.map((m) => m.id),
  '--backend': () => ['local', 'slurm'],
  '--providers': () => ['cpu', 'cuda,cpu', 'webgpu,cpu'],
};

/** A placeholder such as <dir>, <file>, <notebook>, <spec> names a path; <n>, <list>, <key=value...> do not. */
function kindOfPlaceholder(placeholder: string): ValueKind {
  const p = placeholder.replace(/[<>[\].]/g, '');
  if (p === 'dir') return 'dir';
  if (['file', 'notebook', 'spec'].includes(p)) return 'file';
  return 'none';
}

function optionSpec(o: Option): OptionSpec {
  const names = [o.short, o.long].filter((n): n is string => !!n);
  const takesValue = o.required || o.optional;
  const named = o.long ? NAMED_VALUES[o.long] : undefined;
  const placeholder = /<[^>]+>|\[[^\]]+\]/.exec(o.flags)?.[0] ?? '';
  return {
    names,
    description: o.description,
    value: !takesValue ? null : named ? { words: named() } : kindOfPlaceholder(placeholder),
  };
}

function argsKind(c: Command): ValueKind | null {
  const first = c.registeredArguments[0];
  if (!first) return null;
  return first.argChoices ? { words: [...first.argChoices] } : kindOfPlaceholder(first.name());
}

/**
 * The program's visible commands and options, recursively (hidden ones such as `sweep job` are left out); `parent`
 * is the path of the command holding `c`, undefined for the program.
 */
export function completionModel(c: Command, parent?: string): CommandSpec {
  const help = c.createHelp();
  const path = parent === undefined ? '' : `${parent}${parent ? ' ' : ''}${c.name()}`;
  const subcommands = help.visibleCommands(c).map((s) => completionModel(s, path));
  const self: CommandSpec = {
    path,
    name: c.name(),
    description: c.description(),
    options: help.visibleOptions(c).map(optionSpec),
    subcommands,
    args: argsKind(c),
  };
  // `help [command]` completes to its siblings.
  const helpCmd = subcommands.find((s) => s.name === 'help');
  if (helpCmd) helpCmd.args = { words: subcommands.map((s) => s.name).filter((n) => n !== 'help') };
  // A default subcommand (`tinymem sweep SPEC`) lets its parent take that subcommand's arguments too.
  const dfltName = (c as unknown as { _defaultCommandName?: string })._defaultCommandName;
  const dflt = c.commands.find((s) => s.name() === dfltName);
  if (dflt) self.args = argsKind(dflt);
  return self;
}

/** Every command of the model, the program first. */
export const allSpecs = (s: CommandSpec): CommandSpec[] => [s, ...s.subcommands.flatMap(allSpecs)];

/** The case patterns `parent/word` (quoted) by which both scripts step from a command to its subcommand. */
export const selectPatterns = (specs: CommandSpec[]): string[] => specs.filter((s) => s.path !== '')
  .map((s) => quote(`${s.path.split(' ').slice(0, -1).join(' ')}/${s.name}`));
