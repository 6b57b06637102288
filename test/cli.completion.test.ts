// Shell completion as a shell runs it: `tinymem completion bash` is sourced in a real bash and its function asked
// for candidates (COMP_WORDS / COMP_CWORD, as bash's completion sets them); the zsh script likewise in a real zsh.
// The expected words come from elsewhere: commands and options from the CLI's --help text, presets and methods from
// `tinymem presets --json` / `tinymem methods --json`, paths from the folder the shell runs in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-completion-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tinymem = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

/** The names listed under `heading:` in `tinymem ARGS --help` (commands, or option names). */
function helpSection(args: string[], heading: 'Commands' | 'Options'): string[] {
  const lines = tinymem([...args, '--help']).split('\n');
  const start = lines.indexOf(`${heading}:`);
  assert.ok(start >= 0, `${args.join(' ')} --help has ${heading}`);
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    const m = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line);
    if (!m) continue;
    if (heading === 'Commands') names.push(m[1]!.split(' ')[0]!);
    else names.push(...m[1]!.split(/[ ,]+/).filter((w) => w.startsWith('-')));
  }
  return names;
}

const sorted = (xs: string[]) => [...new Set(xs)].sort();
const fixture = path.join(tmp, 'cwd');
fs.mkdirSync(path.join(fixture, 'ckpt-a'), { recursive: true });
fs.writeFileSync(path.join(fixture, 'ck-tokens.json'), '[]');
fs.writeFileSync(path.join(fixture, 'other.txt'), '');
const bashScript = path.join(tmp, 'tinymem.bash');
fs.writeFileSync(bashScript, tinymem(['completion', 'bash']));
const zshScript = path.join(tmp, '_tinymem');
fs.writeFileSync(zshScript, tinymem(['completion', 'zsh']));

/** The candidates bash's completion function offers for the words typed (the last one being completed). */
function bash(words: string[]): string[] {
  const r = spawnSync('bash', ['-c', `source "$0"; COMP_WORDS=(tinymem "$@"); COMP_CWORD=$#; _tinymem;
    printf '%s\\n' "\${COMPREPLY[@]}"`, bashScript, ...words], { encoding: 'utf8', cwd: fixture });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return sorted(r.stdout.split('\n').filter(Boolean));
}

const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;

/** What the zsh script offers at the last word: the words (all of them; zsh matches the prefix) and path kinds. */
function zsh(words: string[]): { words: string[]; kind: string; paths: string } {
  const r = spawnSync('zsh', ['-f', '-c', `source "$0"; words=(tinymem "$@"); CURRENT=\${#words}; _tinymem_candidates;
    print -r -- "$_tinymem_kind"; print -r -- "$_tinymem_paths"; print -rl -- "\${_tinymem_words[@]%%:*}"`, zshScript,
  ...words], { encoding: 'utf8', cwd: fixture });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const [kind, paths, ...rest] = r.stdout.split('\n');
  return { kind: kind!, paths: paths!, words: sorted(rest.filter(Boolean)) };
}

const top = helpSection([], 'Commands');
const sweepCommands = helpSection(['sweep'], 'Commands');
const presets = (JSON.parse(tinymem(['presets', '--json'])) as { name: string }[]).map((p) => p.name);
const unlearning = (JSON.parse(tinymem(['methods', '--json'])) as { id: string; family: string }[])
  .filter((m) => m.family !== 'regularizer').map((m) => m.id);

test('bash: commands, subcommands and options as --help lists them', { timeout: 120_000 }, () => {
  assert.ok(top.includes('mitigate') && top.includes('completion') && !top.includes('job'), top.join(' '));
  assert.deepEqual(bash(['']), sorted(top));
  assert.deepEqual(bash(['mi']), sorted(top.filter((c) => c.startsWith('mi'))));
  assert.deepEqual(bash(['mi']), ['mitigate']);
  assert.deepEqual(bash(['m']), ['methods', 'mitigate']);
  assert.deepEqual(bash(['sweep', 'st']), ['status']);
  // `tinymem sweep SPEC` runs the default subcommand, so spec files are offered next to the subcommands.
  assert.deepEqual(bash(['sweep', '']), sorted([...sweepCommands, 'ck-tokens.json', 'ckpt-a', 'other.txt']));
  for (const cmd of [['train'], ['mitigate'], ['compare'], ['run'], ['sweep', 'status'], ['completion']]) {
    assert.deepEqual(bash([...cmd, '-']), sorted(helpSection(cmd, 'Options')), cmd.join(' '));
  }
  assert.deepEqual(bash(['train', '--out', 'x', '--pr']), ['--preset', '--providers']);
});

test('bash: presets, methods, shells and paths for option values and arguments', { timeout: 120_000 }, () => {
  assert.deepEqual(bash(['train', '--preset', '']), sorted(presets));
  assert.deepEqual(bash(['train', '--preset', 'cpu-']), sorted(presets.filter((p) => p.startsWith('cpu-'))));
  assert.deepEqual(bash(['mitigate', 'ckpt-a', '--method', '']), sorted(unlearning));
  assert.deepEqual(bash(['compare', 'ckpt-a', '--methods', 'a']), sorted([...unlearning, 'all']
    .filter((m) => m.startsWith('a'))));
  assert.deepEqual(bash(['completion', '']), ['bash', 'zsh']);
  // A checkpoint argument and --out complete to folders; --tokens to any path; a number to nothing.
  assert.deepEqual(bash(['eval', 'c']), ['ckpt-a']);
  assert.deepEqual(bash(['train', '--out', '']), ['ckpt-a']);
  assert.deepEqual(bash(['score', 'ckpt-a', '--tokens', 'ck']), ['ck-tokens.json', 'ckpt-a']);
  assert.deepEqual(bash(['score', 'ckpt-a', '--threads', '']), []);
});

test('zsh: the same candidates, with descriptions', { skip: !hasZsh && !process.env.CI && 'zsh is not installed',
  timeout: 120_000 }, () => {
  assert.ok(hasZsh, 'zsh is installed (CI installs it in test/setup.sh)');
  assert.deepEqual(zsh(['mi']), { kind: 'words', paths: '', words: sorted(top) });
  assert.deepEqual(zsh(['sweep', 'st']).words, sorted([...sweepCommands]));
  assert.equal(zsh(['sweep', '']).paths, 'file');
  for (const cmd of [['train'], ['mitigate'], ['sweep', 'run']]) {
    assert.deepEqual(zsh([...cmd, '--']).words, sorted(helpSection(cmd, 'Options')), cmd.join(' '));
  }
  assert.deepEqual(zsh(['train', '--preset', '']).words, sorted(presets));
  assert.deepEqual(zsh(['mitigate', 'x', '--method', 'b']).words, sorted(unlearning));
  assert.equal(zsh(['eval', '']).paths, 'dir');
  assert.equal(zsh(['train', '--out', '']).kind, 'dir');
  assert.equal(zsh(['score', 'x', '--tokens', '']).kind, 'file');
  assert.equal(zsh(['score', 'x', '--threads', '']).kind, 'none');
  // Loaded the way a user loads it (compinit, then source), it registers itself for tinymem.
  const r = spawnSync('zsh', ['-f', '-c', 'autoload -U compinit && compinit -u -D; source "$0"; print -r -- ' +
    '"${_comps[tinymem]}"', zshScript], { encoding: 'utf8', cwd: tmp });
  assert.equal(r.stdout.trim(), '_tinymem', r.stderr);
});
