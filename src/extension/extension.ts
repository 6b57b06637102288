// Activation: the .tinymem serializer, the controller that runs cells in the engine process, editor help for step
// cells, the engine's status bar item, and the commands. The engine process starts on the first run or cell check,
// not at activation; TinyMem: Restart Engine ends it and the next use starts a fresh one.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { TinyMemController } from './controller';
import { EngineClient } from './engineClient';
import { STEP_SELECTOR, completionProvider, hoverProvider, registerDiagnostics } from './language';
import { NOTEBOOK_TYPE, TinyMemSerializer } from './serializer';
import { EngineStatusBar } from './statusBar';
import { registerTerminal } from './terminal';

export const RESTART_ENGINE_COMMAND = 'tinymem.restartEngine';

/** Ends the engine process (its running cells end with a message saying so); the next use starts a fresh one. */
function restartEngine(engine: EngineClient): void {
  const running = engine.running;
  const was = engine.restart();
  const cells = running ? ` ${running} running cell${running > 1 ? 's were' : ' was'} stopped.` : '';
  void vscode.window.showInformationMessage(was
    ? `TinyMem: the engine process was ended.${cells} A fresh one starts when a cell runs.`
    : 'TinyMem: the engine was not running; a fresh one starts when a cell runs.');
}

export function activate(ctx: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('TinyMem');
  const engine = new EngineClient(
    { modulePath: ctx.asAbsolutePath('dist/engineProcess.js'), log: (l) => log.appendLine(l) });
  ctx.subscriptions.push(
    log,
    { dispose: () => engine.dispose() },
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new TinyMemSerializer(), { transientOutputs: false }),
    new TinyMemController(engine, log),
    new EngineStatusBar(engine, log),
    vscode.commands.registerCommand(RESTART_ENGINE_COMMAND, () => restartEngine(engine)),
    vscode.languages.registerCompletionItemProvider(STEP_SELECTOR, completionProvider, ':', ' ', '{', ',', '-'),
    vscode.languages.registerHoverProvider(STEP_SELECTOR, hoverProvider),
  );
  registerDiagnostics(ctx, engine);
  registerCommands(ctx, engine);
  registerTerminal(ctx, (l) => log.appendLine(l));
}

export function deactivate(): void {
  // The engine process is killed by the disposable above.
}
