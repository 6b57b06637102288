// The command palette: New Notebook, Train Model…, Measure Memorization…, Unlearn Memorized Sequences…, Inspect
// Pruned Weights…, and the exports. Each command asks with QuickPicks and InputBoxes (deterministic prompts, defaults
// prefilled), runs the same step cells a notebook would in the engine process under a cancellable progress
// notification, and opens the result as a .tinymem notebook holding those cells and their outputs. The checkpoint
// commands work on TinyMem checkpoints and Hugging Face model folders alike, and take the folder as an argument (the
// Explorer's right-click passes its Uri; a test or keybinding may pass a path and an options object).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { stringify } from 'yaml';
import { CATALOG, findMethod } from '../shared/catalog';
import { errorOutput, viewToOutput } from '../shared/cellOutputs';
import type { NotebookStateData } from '../shared/engineProtocol';
import { type NotebookCell, parseNotebook, serializeNotebook } from '../shared/notebookFormat';
import { type HyperValue, resolveHyperParams } from '../shared/methodTypes';
import { writeFileAtomicSync } from '../shared/atomicWrite';
import type { ModelFolder } from '../shared/modelFolder';
import { type Want, checkedFolder, pickCheckpoint } from './checkpointPicker';
import { watchCheckpointFolders } from './checkpointContext';
import { exportNotebookCommand } from './exportCommands';
import { type HfSetKeys, askHfSets } from './hfSets';
import { runInEngine } from './controller';
import type { EngineClient } from './engineClient';
import { NOTEBOOK_TYPE, toNotebookData } from './serializer';
import { outputCapKB, workspaceDir } from './settings';

export const STARTER_CELLS: NotebookCell[] = [
  { kind: 'markdown', source: '# TinyMem notebook\nRun the cells in order: train a small GPT-2 that memorizes noised ' +
    'sequences, measure it, then unlearn the memorized sequences. Hover a key or value for help; Ctrl+Space lists ' +
    'keys, presets, methods and hyper-parameters.' },
  { kind: 'step', source: 'step: train\npreset: cpu-math-noise\nout: runs/quickstart\nset: { train.epochs: 20 }\n' },
  { kind: 'step', source: 'step: memorization\n' },
  { kind: 'step', source: 'step: mitigate\nmethod: balanced-subnet\n' },
  { kind: 'step', source: 'step: inspect\n' },
];

export const USE_DEFAULTS = "Use the paper's defaults";
export const EDIT_HPS = 'Edit hyper-parameters…';

/**
 * Writes the report notebook next to the checkpoint it is about (`<dir>-<kind>.tinymem`) and opens it. A saved file
 * rather than an untitled notebook: its outputs render reliably (untitled notebooks opened with outputs did not draw
 * them in code-server) and the report stays with the results.
 */
async function openReport(title: string, cells: NotebookCell[], file: string): Promise<void> {
  const text = serializeNotebook({ format: 'tinymem-notebook', version: 1, cells: [{ kind: 'markdown', source: `# ` +
    `${title}` }, ...cells] });
  writeFileAtomicSync(file, [Buffer.from(text)]);
  const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
  await vscode.window.showNotebookDocument(doc, { preview: false });
}

/** `runs/demo` → `runs/demo-<kind>.tinymem`. */
const reportFile = (dir: string, kind: string) =>
  `${path.resolve(workspaceDir(), dir).replace(/[\\/]+$/, '')}-${kind}.tinymem`;

/** Runs step sources in order under a cancellable notification; returns the cells with outputs and whether all ran. */
async function runSteps(title: string, sources: string[]): Promise<{ cells: NotebookCell[]; ok: boolean;
  stopped: boolean; }> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const cells: NotebookCell[] = [];
      let state: NotebookStateData = {};
      let done = 0;
      for (const [i, source] of sources.entries()) {
        if (token.isCancellationRequested) return { cells, ok: false, stopped: true };
        const outcome = await runInEngine(engine(), { source, baseDir: workspaceDir(), state }, {
          token,
          onLive: (_v, message, fraction) => {
            const overall = ((i + (fraction ?? 0)) / sources.length) * 100;
            progress.report({ message, increment: fraction !== undefined ? Math.max(0, overall - done) : undefined });
            if (fraction !== undefined) done = Math.max(done, overall);
          },
        });
        const label = `Step ${i + 1}`;
        if (outcome.kind === 'done') {
          state = outcome.state;
          cells.push({ kind: 'step', source, outputs: outcome.outputs.map((v) => viewToOutput(v, outputCapKB())) });
          if (outcome.stopped) return { cells, ok: false, stopped: true };
        } else {
          cells.push({ kind: 'step', source, outputs: [errorOutput(label, outcome.message)] });
          const stopped = outcome.kind === 'error' && outcome.stopped;
          if (!stopped) void vscode.window.showErrorMessage(`${title}: ${outcome.message.split('\n')[0]}`);
          return { cells, ok: false, stopped };
        }
      }
      return { cells, ok: true, stopped: false };
    });
}

// Set by registerCommands; the commands share the controller's engine process.
let engineRef: EngineClient | undefined;
let ctxRef: vscode.ExtensionContext | undefined;
const engine = (): EngineClient => engineRef!;

const rel = (p: string) => {
  const r = path.relative(workspaceDir(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};

/** Opens examples/quickstart.tinymem as an untitled copy, so its runs go to the workspace, not the extension's
 * folder. */
async function openExample(ctx: vscode.ExtensionContext): Promise<void> {
  const file = ctx.asAbsolutePath(path.join('examples', 'quickstart.tinymem'));
  const nb = parseNotebook(fs.readFileSync(file), file);
  const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, toNotebookData(nb.cells, nb.metadata));
  await vscode.window.showNotebookDocument(doc);
}

async function newNotebook(): Promise<void> {
  const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, toNotebookData(STARTER_CELLS));
  await vscode.window.showNotebookDocument(doc);
}

/**
 * A command's output folder that already holds something: the user says whether to replace it (the step then gets
 * `force: true`; the engine still refuses anything that is not an earlier TinyMem checkpoint). Undefined: cancelled.
 */
async function confirmReplace(abs: string, shown: string): Promise<boolean | undefined> {
  if (!fs.existsSync(abs) || (fs.statSync(abs).isDirectory() && fs.readdirSync(abs).length === 0)) return false;
  const choice = await vscode.window.showWarningMessage(`${shown} already exists. Replace the checkpoint in it?`,
    { modal: true }, 'Replace');
  return choice === 'Replace' ? true : undefined;
}

async function train(): Promise<void> {
  const preset = await vscode.window.showQuickPick(
    CATALOG.presets.map((p) => ({ label: p.name, detail: p.description })),
    { title: 'TinyMem: Train Model (1/2)', placeHolder: 'Pick a training preset', matchOnDetail: true,
      ignoreFocusOut: true },
  );
  if (!preset) return;
  const out = await vscode.window.showInputBox({
    title: 'TinyMem: Train Model (2/2)',
    prompt: `Checkpoint folder to write, relative to ${workspaceDir()}`,
    value: `runs/${preset.label}`,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Enter a folder name, e.g. runs/demo'),
  });
  if (!out) return;
  const force = await confirmReplace(path.resolve(workspaceDir(), out.trim()), out.trim());
  if (force === undefined) return;
  const source = stringify({ step: 'train', preset: preset.label, out: out.trim(), ...(force ? { force } : {}) });
  const r = await runSteps(`Training ${preset.label}`, [source]);
  if (r.ok) void vscode.window.showInformationMessage(`Trained ${preset.label} into ${out.trim()}.`);
  await openReport(`Training ${preset.label}`, r.cells, reportFile(out.trim(), 'train'));
}

/** The folder a command runs on: its argument (a Uri or path, checked), else the user's pick. */
async function folderFor(arg: unknown, title: string, want: Want): Promise<ModelFolder | undefined> {
  if (arg instanceof vscode.Uri) return checkedFolder(arg.fsPath, want);
  if (typeof arg === 'string') return checkedFolder(path.resolve(workspaceDir(), arg), want);
  return pickCheckpoint(title, want);
}

/** Options a caller may pass after the folder; the Explorer passes the selected Uris there, which mean nothing here. */
const optionsOf = <T extends object>(arg: unknown): Partial<T> =>
  (arg && typeof arg === 'object' && !Array.isArray(arg) && !(arg instanceof vscode.Uri) ? arg : {}) as Partial<T>;

async function measure(target?: unknown, options?: unknown): Promise<void> {
  const title = 'TinyMem: Measure Memorization';
  const folder = await folderFor(target, title, 'any');
  if (!folder) return;
  const sets = await askHfSets(ctxRef!, folder, title, optionsOf<HfSetKeys>(options));
  if (!sets) return;
  const dir = folder.dir;
  const r = await runSteps(`Measuring ${rel(dir)}`, [stringify({ step: 'memorization', checkpoint: dir, ...sets })]);
  await openReport(`Memorization of ${rel(dir)}`, r.cells, reportFile(dir, 'memorization'));
}

async function askHyperParams(methodId: string): Promise<Record<string, HyperValue> | undefined> {
  const m = findMethod(methodId)!;
  if (m.hyperParams.length === 0) return {};
  const defaults = m.hyperParams.map((h) => `${h.name}=${h.default}`).join(', ');
  const choice = await vscode.window.showQuickPick(
    [{ label: USE_DEFAULTS, description: defaults },
      { label: EDIT_HPS, description: 'one box per hyper-parameter, prefilled with the default' }], {
      title: `TinyMem: ${m.name} hyper-parameters`,
      placeHolder: `Paper defaults: ${defaults}`,
      ignoreFocusOut: true,
    });
  if (!choice) return undefined;
  if (choice.label === USE_DEFAULTS) return {};
  const hp: Record<string, HyperValue> = {};
  for (const [i, h] of m.hyperParams.entries()) {
    const v = await vscode.window.showInputBox({
      title: `TinyMem: ${m.name} hyper-parameter ${i + 1}/${m.hyperParams.length}: ${h.name}`,
      prompt: `${h.description} (paper default ${h.default}${h.min !== undefined || h.max !== undefined
        ? `, range [${h.min ?? '-∞'}, ${h.max ?? '∞'}]` : ''}${h.choices ? `, one of ${h.choices.join(', ')}` : ''})`,
      value: String(h.default),
      ignoreFocusOut: true,
      validateInput: (s) => {
        try {
          resolveHyperParams(m, { [h.name]: s.trim() });
          return undefined;
        } catch (e) {
          return (e instanceof Error ? e.message : String(e)).replace(`${m.id}: `, '');
        }
      },
    });
    if (v === undefined) return undefined;
    const value = resolveHyperParams(m, { [h.name]: v.trim() })[h.name]!;
    if (value !== h.default) hp[h.name] = value;
  }
  return hp;
}

/** What a caller may fix in advance; each one given skips its question. */
export interface UnlearnOptions extends HfSetKeys {
  method?: string;
  hp?: Record<string, HyperValue>;
  out?: string;
}

async function unlearn(target?: unknown, options?: unknown): Promise<void> {
  const o = optionsOf<UnlearnOptions>(options);
  const title = 'TinyMem: Unlearn Memorized Sequences';
  const folder = await folderFor(target, `${title} (1/4)`, 'trained');
  if (!folder) return;
  const dir = folder.dir;
  const sets = await askHfSets(ctxRef!, folder, title, o);
  if (!sets) return;
  if (o.method && !findMethod(o.method)) throw new Error(`no method "${o.method}"; see the method list`);
  const method = o.method ? { label: o.method } : await vscode.window.showQuickPick(
    CATALOG.methods.map((m) => {
      const description = `${m.name} (${m.family})${m.novel ? ' · new in the paper' : ''}`;
      return { label: m.id, description, detail: m.description };
    }),
    { title: `${title} (2/4)`, placeHolder: 'Pick a mitigation method', matchOnDescription: true,
      ignoreFocusOut: true },
  );
  if (!method) return;
  const hp = o.hp ?? await askHyperParams(method.label);
  if (!hp) return;
  const out = o.out ?? await vscode.window.showInputBox({
    title: `${title} (4/4)`,
    prompt: 'Folder for the edited checkpoint (weights, masks.safetensors, tinymem.json)',
    value: `${rel(dir).replace(/[\\/]+$/, '')}-${method.label}`,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Enter a folder name'),
  });
  if (!out) return;
  const step: Record<string, unknown> = { step: 'mitigate', checkpoint: dir, method: method.label, ...sets };
  if (Object.keys(hp).length) step.hp = hp;
  step.out = path.resolve(workspaceDir(), out.trim());
  const force = await confirmReplace(String(step.out), out.trim());
  if (force === undefined) return;
  if (force) step.force = true;
  const r = await runSteps(`Unlearning with ${findMethod(method.label)!.name}`,
    [stringify(step), stringify({ step: 'inspect', checkpoint: step.out })]);
  if (r.ok) void vscode.window.showInformationMessage(`Edited checkpoint written to ${out.trim()}.`);
  await openReport(`${findMethod(method.label)!.name} on ${rel(dir)}`, r.cells, reportFile(String(step.out), 'report'));
}

async function inspect(target?: unknown): Promise<void> {
  const folder = await folderFor(target, 'TinyMem: Inspect Pruned Weights', 'edited');
  if (!folder) return;
  const dir = folder.dir;
  const r = await runSteps(`Inspecting ${rel(dir)}`, [stringify({ step: 'inspect', checkpoint: dir })]);
  await openReport(`Pruned weights of ${rel(dir)}`, r.cells, reportFile(dir, 'inspect'));
}

export function registerCommands(ctx: vscode.ExtensionContext, client: EngineClient): void {
  engineRef = client;
  ctxRef = ctx;
  // Commands return what they produced (an export's file), so a test or another extension can use it.
  const wrap = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) => async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      void vscode.window.showErrorMessage(`TinyMem: ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  };
  ctx.subscriptions.push(
    vscode.commands.registerCommand('tinymem.newNotebook', wrap('New Notebook', newNotebook)),
    vscode.commands.registerCommand('tinymem.train', wrap('Train Model', train)),
    vscode.commands.registerCommand('tinymem.measureMemorization', wrap('Measure Memorization', measure)),
    vscode.commands.registerCommand('tinymem.unlearn', wrap('Unlearn Memorized Sequences', unlearn)),
    vscode.commands.registerCommand('tinymem.inspectPrunedWeights', wrap('Inspect Pruned Weights', inspect)),
    vscode.commands.registerCommand('tinymem.openExample', wrap('Open Quickstart Example', () => openExample(ctx))),
    vscode.commands.registerCommand('tinymem.exportHtml', wrap('Export Report (HTML)',
      (nb?: unknown, target?: unknown) => exportNotebookCommand(engine(), 'html', nb, target))),
    vscode.commands.registerCommand('tinymem.exportIpynb', wrap('Export as Jupyter Notebook',
      (nb?: unknown, target?: unknown) => exportNotebookCommand(engine(), 'ipynb', nb, target))),
  );
  watchCheckpointFolders(ctx);
}
