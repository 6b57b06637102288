// Runs step cells: each cell goes to the engine process (never computed on the extension host), its progress (a
// progress view: bar, step, time elapsed and left, provider) and partial outputs (the live training curve) replace
// the cell's output at most every 500 ms (LiveThrottle), Stop is forwarded as a cancel message, and failures become
// a markdown error output that says what to do next. Each notebook keeps the checkpoints its cells produced, so later
// cells default to them: in memory while it is open and in the notebook's metadata (notebookState.ts), from which it
// is restored after a reload without the user doing anything.
import * as vscode from 'vscode';
import { errorMarkdown, viewToOutput } from '../shared/cellOutputs';
import type { NotebookStateData } from '../shared/engineProtocol';
import { metadataWithState, sameState, stateFromMetadata } from '../shared/notebookState';
import { PROGRESS_MIME, type ProgressPayload, makeProgressPayload, progressText,
  stepOfSource } from '../shared/progressPayload';
import { TimeLeft } from '../shared/timeLeft';
import type { ViewOutput } from '../shared/viewPayloads';
import type { EngineClient, RunOutcome } from './engineClient';
import { LIVE_UPDATE_MS, LiveThrottle } from './liveThrottle';
import { NOTEBOOK_TYPE, STEP_LANGUAGE, itemToVscode } from './serializer';
import { baseDirOf, engineSettings, outputCapKB, workspaceDirOf } from './settings';

export const CONTROLLER_ID = 'tinymem-controller';

export function toCellOutputs(views: readonly ViewOutput[], capKB: number): vscode.NotebookCellOutput[] {
  return views.map((v) => {
    const o = viewToOutput(v, capKB);
    return new vscode.NotebookCellOutput(o.items.map(itemToVscode), o.metadata);
  });
}

export function errorCellOutput(label: string, message: string): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput(
    [vscode.NotebookCellOutputItem.text(errorMarkdown(label, message), 'text/markdown')], { error: true });
}

/** The progress view, with a plain-text fallback; `progress: true` marks it as transient (never saved). */
function progressOutput(p: ProgressPayload): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.json(p, PROGRESS_MIME),
    vscode.NotebookCellOutputItem.text(progressText(p), 'text/plain')], { progress: true });
}

/** Runs one cell source in the engine with live updates; shared by the controller and the commands. */
export async function runInEngine(
  engine: EngineClient,
  req: { label?: string; source: string; baseDir: string; workspaceDir?: string; state: NotebookStateData },
  o: { token?: vscode.CancellationToken;
    onLive?(views: ViewOutput[], message: string, fraction?: number, provider?: string): void; },
): Promise<RunOutcome> {
  const handle = engine.run({ ...req, settings: engineSettings() },
    (p) => o.onLive?.(p.outputs ?? [], p.message, p.fraction, p.provider));
  const sub = o.token?.onCancellationRequested(() => handle.cancel());
  if (o.token?.isCancellationRequested) handle.cancel();
  try {
    return await handle.outcome;
  } finally {
    sub?.dispose();
  }
}

export class TinyMemController implements vscode.Disposable {
  private readonly controller: vscode.NotebookController;
  private order = 0;
  /** Per notebook (by URI): the checkpoints its cells produced. */
  readonly states = new Map<string, NotebookStateData>();

  constructor(
    private readonly engine: EngineClient,
    private readonly log: vscode.OutputChannel,
  ) {
    this.controller = vscode.notebooks.createNotebookController(CONTROLLER_ID, NOTEBOOK_TYPE, 'TinyMem');
    this.controller.supportedLanguages = [STEP_LANGUAGE];
    this.controller.supportsExecutionOrder = true;
    this.controller.description = 'Runs step cells in the TinyMem engine process';
    this.controller.executeHandler = (cells, notebook) => this.execute(cells, notebook);
    this.closeSub = vscode.workspace.onDidCloseNotebookDocument((nb) => this.states.delete(nb.uri.toString()));
  }

  private readonly closeSub: vscode.Disposable;

  /** The notebook's state: this session's, else the one its metadata recorded (a reloaded or reopened notebook). */
  private stateOf(notebook: vscode.NotebookDocument): NotebookStateData {
    return this.states.get(notebook.uri.toString()) ?? stateFromMetadata(notebook.metadata, baseDirOf(notebook.uri));
  }

  /**
   * Keeps the state in memory and records it in the notebook's metadata (saved with the file; relative paths, or
   * absolute for an untitled notebook, which has no folder yet). An unchanged state writes no edit.
   */
  private async setState(notebook: vscode.NotebookDocument, state: NotebookStateData): Promise<void> {
    this.states.set(notebook.uri.toString(), state);
    if (sameState(stateFromMetadata(notebook.metadata, baseDirOf(notebook.uri)), state)) return;
    const dir = notebook.uri.scheme === 'file' ? baseDirOf(notebook.uri) : undefined;
    const edit = new vscode.WorkspaceEdit();
    edit.set(notebook.uri, [vscode.NotebookEdit.updateNotebookMetadata(metadataWithState(notebook.metadata, state,
      dir))]);
    if (!await vscode.workspace.applyEdit(edit)) {
      this.log.appendLine(`Could not record the notebook's checkpoints in ${notebook.uri.toString()}'s metadata`);
    }
  }

  private async execute(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): Promise<void> {
    // One at a time and in order: later cells use the checkpoints of earlier ones.
    for (const cell of cells) {
      const ok = await this.runCell(cell, notebook);
      if (!ok) break;
    }
  }

  private async runCell(cell: vscode.NotebookCell, notebook: vscode.NotebookDocument): Promise<boolean> {
    const exec = this.controller.createNotebookCellExecution(cell);
    exec.executionOrder = ++this.order;
    exec.start(Date.now());
    const label = `Cell ${cell.index + 1}`;
    if (exec.token.isCancellationRequested) {
      exec.end(false, Date.now());
      return false;
    }
    await exec.clearOutput();
    const source = cell.document.getText();
    const where = `cell ${cell.index + 1}`;
    const started = Date.now();
    const timeLeft = new TimeLeft();
    let provider: string | undefined;
    let latestViews: ViewOutput[] = [];
    // Builds the outputs only when they are sent: progress can arrive far more often than 2 Hz.
    const throttle = new LiveThrottle<() => vscode.NotebookCellOutput[]>(LIVE_UPDATE_MS,
      (outputs) => void exec.replaceOutput(outputs()));
    const live = (views: ViewOutput[], message: string, fraction?: number, from?: string) => {
      if (views.length) latestViews = views;
      provider = from ?? provider;
      const now = Date.now();
      const payload = makeProgressPayload({ step: stepOfSource(source), cell: where, message, fraction,
        elapsedSeconds: (now - started) / 1000, leftSeconds: timeLeft.observe(now, fraction), provider });
      const shown = latestViews;
      throttle.push(() => [progressOutput(payload), ...toCellOutputs(shown, outputCapKB())]);
    };
    // The view shows at once (its elapsed time ticks in the renderer) even before the engine's first report.
    live([], 'starting');
    let outcome: RunOutcome;
    try {
      outcome = await runInEngine(this.engine,
        { label: where, source, baseDir: baseDirOf(notebook.uri),
          workspaceDir: workspaceDirOf(notebook.uri), state: this.stateOf(notebook) },
        { token: exec.token, onLive: live });
    } catch (e) {
      outcome = { kind: 'crashed', message: `Could not start the TinyMem engine process: ` +
        `${e instanceof Error ? e.message : String(e)}` };
    }
    throttle.cancel();
    if (outcome.kind === 'done') {
      await this.setState(notebook, outcome.state);
      await exec.replaceOutput(toCellOutputs(outcome.outputs, outputCapKB()));
      exec.end(true, Date.now());
      return !outcome.stopped;
    }
    if (outcome.kind === 'error') await this.setState(notebook, outcome.state);
    if (outcome.kind === 'crashed') this.log.appendLine(`${label}: ${outcome.message}`);
    await exec.replaceOutput([...toCellOutputs(latestViews, outputCapKB()), errorCellOutput(label, outcome.message)]);
    exec.end(false, Date.now());
    return false;
  }

  dispose(): void {
    this.closeSub.dispose();
    this.controller.dispose();
  }
}
