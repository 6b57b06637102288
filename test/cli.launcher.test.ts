// The `tinymem` launcher the extension puts on the integrated terminal's PATH (src/extension/launcher.ts): written to
// a folder whose path has a space and a quote, it runs the CLI with the given executable (here this test's Node,
// which ignores ELECTRON_RUN_AS_NODE as the editor's executable obeys it) and prints the CLI's version; found through
// PATH as a terminal finds it; a stand-in executable shows that it alone gets ELECTRON_RUN_AS_NODE=1 and every
// argument intact; the Windows batch file names the same executable and script, quoted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { windowsLauncher, writeLaunchers } from '../src/extension/launcher';

const ROOT = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-launcher-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// The built bundle when there is one (what the extension runs), else the development entry point.
const bundle = path.join(ROOT, 'dist', 'cli.js');
const cli = fs.existsSync(bundle) ? bundle : path.join(ROOT, 'bin', 'tinymem.js');

test('the POSIX launcher runs the CLI with the given executable: tinymem --version', { skip: process.platform ===
  'win32' && 'POSIX shell script', timeout: 60_000 }, () => {
  const dir = path.join(tmp, "global storage/it's", 'bin');
  assert.equal(writeLaunchers(dir, { node: process.execPath, cli }), dir);
  const sh = path.join(dir, 'tinymem');
  assert.ok(fs.statSync(sh).mode & 0o100, 'executable');
  const direct = spawnSync(sh, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(direct.status, 0, direct.stderr);
  assert.equal(direct.stdout.trim(), version);
  // As a terminal with the folder first on PATH runs it; arguments with spaces arrive intact.
  const env = { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}` };
  const viaPath = spawnSync('sh', ['-c', 'tinymem presets --json'], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(viaPath.status, 0, viaPath.stderr);
  assert.ok((JSON.parse(viaPath.stdout) as { name: string }[]).some((p) => p.name === 'cpu-math-noise'));
  const bad = spawnSync(sh, ['eval', path.join(tmp, 'no such folder'), '--json'], { encoding: 'utf8', env });
  assert.equal(bad.status, 1);
  assert.match(JSON.parse(bad.stdout).error.message, /no such folder: checkpoint folder not found/);
  // ELECTRON_RUN_AS_NODE=1 reaches the executable, and only it; every argument arrives as one word.
  const fake = path.join(tmp, 'fake editor');
  fs.writeFileSync(fake, '#!/bin/sh\necho "run-as-node=$ELECTRON_RUN_AS_NODE"\nfor a; do echo "[$a]"; done\n',
    { mode: 0o755 });
  writeLaunchers(dir, { node: fake, cli: "/ext/it's/dist/cli.js" });
  const args = spawnSync('sh', ['-c', 'tinymem "a b" "c\'d" ""; echo "after=$ELECTRON_RUN_AS_NODE"'],
    { encoding: 'utf8', env: { ...env, ELECTRON_RUN_AS_NODE: '' } });
  assert.equal(args.stdout, "run-as-node=1\n[/ext/it's/dist/cli.js]\n[a b]\n[c'd]\n[]\nafter=\n", args.stderr);
  // Written again (a new editor or extension version), it names the new executable.
  writeLaunchers(dir, { node: '/opt/other editor/code', cli });
  assert.match(fs.readFileSync(sh, 'utf8'), /exec '\/opt\/other editor\/code' /);
});

test('the Windows launcher: the executable and script quoted, ELECTRON_RUN_AS_NODE local, arguments passed on', () => {
  const text = windowsLauncher({ node: 'C:\\Program Files\\Microsoft VS Code\\Code.exe',
    cli: 'C:\\Users\\a%b\\.vscode\\extensions\\tinymem\\dist\\cli.js' });
  const lines = text.split('\r\n');
  assert.equal(lines[0], '@echo off');
  assert.ok(lines.indexOf('setlocal') < lines.indexOf('set ELECTRON_RUN_AS_NODE=1'));
  assert.ok(lines.includes('"C:\\Program Files\\Microsoft VS Code\\Code.exe" ' +
    '"C:\\Users\\a%%b\\.vscode\\extensions\\tinymem\\dist\\cli.js" %*'), text);
  assert.equal(lines.at(-2), 'exit /b %ERRORLEVEL%');
});
