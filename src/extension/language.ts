// Editor help in step cells: completion and hover, thin wrappers around the vscode-free helpers in assist.ts, and
// diagnostics from the engine process's validator (the one that runs the cell), answered off the extension host.
import * as vscode from 'vscode';
import { completionsAt, type CompletionKind, hoverAt } from './assist';
import type { EngineClient } from './engineClient';
import { NOTEBOOK_TYPE, STEP_LANGUAGE } from './serializer';

export const STEP_SELECTOR: vscode.DocumentSelector = { notebookType: NOTEBOOK_TYPE, language: STEP_LANGUAGE };

const KIND: Record<CompletionKind, vscode.CompletionItemKind> = {
  step: vscode.CompletionItemKind.Class,
  key: vscode.CompletionItemKind.Property,
  preset: vscode.CompletionItemKind.Constant,
  method: vscode.CompletionItemKind.Function,
  hyperParam: vscode.CompletionItemKind.Field,
  override: vscode.CompletionItemKind.Field,
  value: vscode.CompletionItemKind.Value,
};

export const completionProvider: vscode.CompletionItemProvider = {
  provideCompletionItems(doc, pos) {
    return completionsAt(doc.getText(), pos.line, pos.character).map((c, i) => {
      const item = new vscode.CompletionItem(c.label, KIND[c.kind]);
      if (c.detail) item.detail = c.detail;
      if (c.documentation) item.documentation = new vscode.MarkdownString(c.documentation);
      if (c.insertText) item.insertText = c.insertText;
      item.sortText = String(i).padStart(4, '0');
      return item;
    });
  },
};

export const hoverProvider: vscode.HoverProvider = {
  provideHover(doc, pos) {
    const h = hoverAt(doc.getText(), pos.line, pos.character);
    return h ? new vscode.Hover(new vscode.MarkdownString(h.markdown),
      new vscode.Range(h.line, h.start, h.line, h.end)) : undefined;
  },
};

function isStepCell(doc: vscode.TextDocument): boolean {
  if (doc.uri.scheme !== 'vscode-notebook-cell' || doc.languageId !== STEP_LANGUAGE) return false;
  return vscode.workspace.notebookDocuments.some((nb) => nb.notebookType === NOTEBOOK_TYPE
    && nb.getCells().some((c) => c.document === doc));
}

/** Underlines invalid keys and values in step cells as they are typed. */
export function registerDiagnostics(ctx: vscode.ExtensionContext, engine: EngineClient): void {
  const diags = vscode.languages.createDiagnosticCollection('tinymem');
  const check = async (doc: vscode.TextDocument) => {
    if (!isStepCell(doc)) return;
    const version = doc.version;
    const issues = await engine.check(doc.getText()).catch(() => undefined);
    // An answer for text that has changed since (or a process that went away) leaves the newer diagnostics alone.
    if (!issues || doc.isClosed || doc.version !== version) return;
    diags.set(doc.uri, issues.map((i) => {
      const range = new vscode.Range(i.line - 1, i.column - 1, i.endLine - 1, Math.max(i.endColumn - 1, i.column));
      const d = new vscode.Diagnostic(range, i.field ? `${i.field}: ${i.message}` : i.message,
        vscode.DiagnosticSeverity.Error);
      d.source = 'tinymem';
      return d;
    }));
  };
  const timers = new Map<string, NodeJS.Timeout>();
  const later = (doc: vscode.TextDocument) => {
    const k = doc.uri.toString();
    clearTimeout(timers.get(k));
    timers.set(k, setTimeout(() => check(doc), 300));
  };
  ctx.subscriptions.push(
    diags,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((e) => later(e.document)),
    vscode.workspace.onDidCloseTextDocument((d) => diags.delete(d.uri)),
    vscode.workspace.onDidOpenNotebookDocument((nb) => nb.getCells().forEach((c) => check(c.document))),
  );
  for (const nb of vscode.workspace.notebookDocuments) nb.getCells().forEach((c) => check(c.document));
}
