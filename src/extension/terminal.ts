// `tinymem` in the integrated terminal: at activation the extension writes its launchers (launcher.ts) to its global
// storage and prepends that folder to PATH in every new integrated terminal (an environment variable collection,
// which VS Code keeps for later sessions); "TinyMem: Open Terminal with tinymem" writes them again and opens such a
// terminal with `tinymem --help` run in it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeLaunchers } from './launcher';

export function registerTerminal(ctx: vscode.ExtensionContext, log: (line: string) => void): void {
  const dir = path.join(ctx.globalStorageUri.fsPath, 'bin');
  const write = () => writeLaunchers(dir, { node: process.execPath, cli: ctx.asAbsolutePath('dist/cli.js') });
  try {
    write();
    ctx.environmentVariableCollection.description = 'Puts the `tinymem` command line on PATH.';
    ctx.environmentVariableCollection.prepend('PATH', dir + path.delimiter);
  } catch (e) {
    log(`tinymem launcher not written to ${dir}: ${(e as Error).message}`);
  }
  ctx.subscriptions.push(vscode.commands.registerCommand('tinymem.openTerminal', () => {
    try {
      write();
    } catch (e) {
      void vscode.window.showErrorMessage(`TinyMem: cannot write the tinymem launcher to ${dir}: ` +
        `${(e as Error).message}`);
      return;
    }
    const terminal = vscode.window.createTerminal({
      name: 'tinymem',
      iconPath: new vscode.ThemeIcon('terminal'),
    });
    terminal.show();
    terminal.sendText('tinymem --help', true);
  }));
}
