// The status bar item that says what the TinyMem engine is doing: "TinyMem: idle", or the running step, where it
// runs and how far it is ("TinyMem: train · cell 2 · 34 %"; with more runs at once, the latest and how many). It
// follows the engine client's activity, updates at most twice a second, shows the TinyMem output channel when
// clicked, and appears once a .tinymem notebook has been opened (or a palette command runs).
import * as vscode from 'vscode';
import { progressHeading, stepOfSource } from '../shared/progressPayload';
import type { EngineActivity, EngineClient } from './engineClient';
import { LIVE_UPDATE_MS, LiveThrottle } from './liveThrottle';
import { NOTEBOOK_TYPE } from './serializer';

export const SHOW_OUTPUT_COMMAND = 'tinymem.showOutput';

interface Run {
  step: string;
  label?: string;
  fraction?: number;
  message?: string;
}

export class EngineStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tinymem.engine', vscode.StatusBarAlignment.Left, 10);
  private readonly runs = new Map<string, Run>();
  private readonly subs: vscode.Disposable[] = [];
  private readonly throttle = new LiveThrottle<void>(LIVE_UPDATE_MS, () => this.render());
  private seen = false;

  constructor(engine: EngineClient, log: vscode.OutputChannel) {
    this.item.name = 'TinyMem engine';
    this.item.command = SHOW_OUTPUT_COMMAND;
    const unsubscribe = engine.onActivity((a) => this.onActivity(a));
    this.subs.push(
      { dispose: unsubscribe },
      vscode.commands.registerCommand(SHOW_OUTPUT_COMMAND, () => log.show(true)),
      vscode.workspace.onDidOpenNotebookDocument((nb) => this.noticed(nb)),
    );
    for (const nb of vscode.workspace.notebookDocuments) this.noticed(nb);
    this.render();
  }

  private noticed(nb: vscode.NotebookDocument): void {
    if (nb.notebookType !== NOTEBOOK_TYPE || this.seen) return;
    this.seen = true;
    this.render();
  }

  private onActivity(a: EngineActivity): void {
    if (a.kind === 'start') {
      this.seen = true;
      this.runs.set(a.id, { step: stepOfSource(a.source), label: a.label });
      // A run starting or ending shows at once; progress in between waits for the throttle.
      this.throttle.cancel();
      this.render();
    } else if (a.kind === 'end') {
      this.runs.delete(a.id);
      this.throttle.cancel();
      this.render();
    } else {
      const r = this.runs.get(a.id);
      if (!r) return;
      r.fraction = a.progress.fraction ?? r.fraction;
      r.message = a.progress.message;
      this.throttle.push();
    }
  }

  private render(): void {
    const latest = [...this.runs.values()].at(-1);
    if (!latest) {
      this.item.text = 'TinyMem: idle';
      this.item.tooltip = 'The TinyMem engine runs no cell. Click to show the TinyMem output.';
    } else {
      const more = this.runs.size > 1 ? ` (+${this.runs.size - 1} more)` : '';
      this.item.text = `$(sync~spin) TinyMem: ${progressHeading({ step: latest.step, cell: latest.label,
        fraction: latest.fraction })}${more}`;
      this.item.tooltip = `${latest.message ?? 'starting'}\nClick to show the TinyMem output.`;
    }
    if (this.seen) this.item.show();
    else this.item.hide();
  }

  dispose(): void {
    this.throttle.cancel();
    for (const s of this.subs) s.dispose();
    this.item.dispose();
  }
}
