// The `tinymem` launchers the extension puts on the integrated terminal's PATH: a POSIX shell script (`tinymem`) and
// a Windows batch file (`tinymem.cmd`) that run the bundled CLI (dist/cli.js) with the editor's own executable. The
// editor ships no `node` a terminal could find, but its executable runs as plain Node when ELECTRON_RUN_AS_NODE=1
// (set inside the launcher only, so nothing else in the terminal changes); a plain Node (code-server, a remote
// extension host) ignores the variable. No vscode import: the tests write and run the launchers directly.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LauncherTarget {
  /** The executable that runs JavaScript: the extension host's process.execPath. */
  node: string;
  /** The CLI script it runs: <extension>/dist/cli.js. */
  cli: string;
}

/** One single-quoted word for /bin/sh, whatever the path holds. */
const shWord = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A double-quoted word for cmd.exe: Windows paths hold no double quotes; % would start a variable. */
const cmdWord = (s: string): string => `"${s.replace(/%/g, '%%')}"`;

export function posixLauncher(t: LauncherTarget): string {
  return `#!/bin/sh
# tinymem, written by the TinyMem VS Code extension: runs the extension's bundled CLI with the editor's executable.
ELECTRON_RUN_AS_NODE=1 exec ${shWord(t.node)} ${shWord(t.cli)} "$@"
`;
}

export function windowsLauncher(t: LauncherTarget): string {
  return [
    '@echo off',
    'rem tinymem, written by the TinyMem VS Code extension: runs the extension\'s bundled CLI with the editor\'s ' +
      'executable.',
    'setlocal',
    'set ELECTRON_RUN_AS_NODE=1',
    `${cmdWord(t.node)} ${cmdWord(t.cli)} %*`,
    'exit /b %ERRORLEVEL%',
    '',
  ].join('\r\n');
}

/**
 * Writes both launchers into `dir` (created if needed), replacing older ones, which may name an editor or extension
 * version that is gone. Returns the folder, for PATH.
 */
export function writeLaunchers(dir: string, t: LauncherTarget): string {
  fs.mkdirSync(dir, { recursive: true });
  const sh = path.join(dir, 'tinymem');
  fs.writeFileSync(sh, posixLauncher(t), { mode: 0o755 });
  fs.chmodSync(sh, 0o755);
  fs.writeFileSync(path.join(dir, 'tinymem.cmd'), windowsLauncher(t));
  return dir;
}
