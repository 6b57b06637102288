// Activation: the .tinymem serializer, the controller that runs cells in the engine process, editor help for step
// cells, and the commands. The engine process starts on the first run or cell check, not at activation.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { TinyMemController } from './controller';
import { EngineClient } from './engineClient';
import { STEP_SELECTOR, completionProvider, hoverProvider, registerDiagnostics } from './language';
import { NOTEBOOK_TYPE, TinyMemSerializer } from './serializer';
import { registerTerminal } from './terminal';

export function activate(ctx: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('TinyMem');
  const engine = new EngineClient(
    { modulePath: ctx.asAbsolutePath('dist/engineProcess.js'), log: (l) => log.appendLine(l) });
  ctx.subscriptions.push(
    log,
    { dispose: () => engine.dispose() },
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new TinyMemSerializer(), { transientOutputs: false }),
    new TinyMemController(engine, log),
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
