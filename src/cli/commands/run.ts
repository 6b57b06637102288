// tinymem run NOTEBOOK.tinymem [--out executed.tinymem] [--html report.html]: runs every step cell of a notebook with
// the same executors as the VS Code extension, shows progress per cell, writes the executed notebook and an HTML
// report atomically, and exits non-zero naming the cell and field of a failing cell.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readLimited } from '../../shared/readLimited';
import { runNotebook } from '../../engine/notebook/runNotebook';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { asWriteError } from '../../shared/writeError';
import { checkOutFile } from '../../engine/io/outputDir';
import { renderHtmlReport } from '../../engine/report/index';
import { DEFAULT_OUTPUT_CAP_KB } from '../../shared/cellOutputs';
import { parseNotebook, serializeNotebook } from '../../shared/notebookFormat';
import { printJson } from '../json';
import { progress } from '../progress';
import { signalExitCode, stopOnSignals } from '../signals';
import { type RuntimeFlags, runtimeSettings } from '../runtime';

export interface RunFlags extends RuntimeFlags {
  out?: string;
  html?: string;
  seed?: number;
  outputCap?: number;
  /** Let cells use paths outside the notebook's folder (the CLI's tinymem.allowPathsOutsideWorkspace). */
  allowOutside?: boolean;
  json?: boolean;
}

/** Writes one result file at the end; a failure names the user's path, not the temporary file beside it. */
function writeResult(target: string, shown: string, flag: string, text: string): void {
  try {
    writeFileAtomicSync(target, [new TextEncoder().encode(text)]);
  } catch (e) {
    throw asWriteError(shown, e, `the cells ran, but ${flag} was not written: run again with another ${flag}`);
  }
}

const firstLine = (s: string) => s.split('\n').find((l) => l.trim() && !l.trim().startsWith('#'))?.trim() ?? '';

export async function runCommand(file: string, f: RunFlags): Promise<number> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such notebook file`);
  const nb = parseNotebook(readLimited(file, 'notebook'), file);
  if (!nb.cells.some((c) => c.kind === 'step')) throw new Error(`${file}: has no step cells to run`);
  // Where the results go is checked before any cell runs, so a bad --out or --html throws no work away.
  const outFile = f.out !== undefined ? checkOutFile(f.out, '--out') : undefined;
  const htmlFile = f.html !== undefined ? checkOutFile(f.html, '--html') : undefined;
  if (outFile && htmlFile && outFile === htmlFile) throw new Error(
    `${f.html}: --html and --out name the same file; give them different paths`);
  const baseDir = path.dirname(path.resolve(file));
  const ac = new AbortController();
  // SIGTERM stops like Ctrl-C: the running cell stops (training after its current step, with a checkpoint), the
  // executed notebook and the report are still written.
  const signals = stopOnSignals('the running cell', 'written checkpoints stay valid', () => ac.abort());
  const started = Date.now();
  let bar = progress('cell');
  const cellTimes: { cell: number; seconds: number; provider: string | null }[] = [];
  try {
    const r = await runNotebook(nb, {
      baseDir,
      // The notebook's folder is the workspace of `tinymem run`: cells stay inside it unless --allow-outside.
      workspaceDir: baseDir,
      allowOutsideWorkspace: f.allowOutside === true,
      runtime: runtimeSettings(f),
      seed: f.seed,
      outputCapKB: f.outputCap ?? DEFAULT_OUTPUT_CAP_KB,
      signal: ac.signal,
      onCell: (i, n, total, source) => {
        bar.stop();
        process.stderr.write(`[${n}/${total}] cell ${i + 1}: ${firstLine(source)}\n`);
        bar = progress(`  cell ${i + 1}`);
      },
      onProgress: (_i, p) => bar.update(Math.round((p.fraction ?? 0) * 1000), p.fraction === undefined ? null : 1000,
        p.message),
      onCellDone: (i, secs, provider) => {
        bar.stop();
        cellTimes.push({ cell: i + 1, seconds: secs, provider: provider || null });
        process.stderr.write(`  cell ${i + 1} done in ${secs.toFixed(1)} s${provider ? ` on ${provider}` : ''}\n`);
      },
    });
    bar.stop();
    if (outFile) {
      writeResult(outFile, f.out!, '--out', serializeNotebook(r.notebook));
      console.log(`executed notebook: ${outFile}`);
    }
    if (htmlFile) {
      const cells = r.notebook.cells.map(
        (c, i) => ({ kind: c.kind, source: c.source, outputs: r.views.get(i) ?? [], error: r.errors.get(i) }));
      const html = await renderHtmlReport({ title: path.basename(file, path.extname(file)), cells });
      writeResult(htmlFile, f.html!, '--html', html);
      console.log(`HTML report: ${htmlFile}`);
    }
    const seconds = (Date.now() - started) / 1000;
    const secs = seconds.toFixed(1);
    const code = r.stopped ? signalExitCode(signals.by ?? 'SIGINT') : r.failure ? 1 : 0;
    if (f.json) {
      const failure = r.failure && { cell: r.failure.index + 1, line: r.failure.line ?? null,
        field: r.failure.field ?? null, message: r.failure.message };
      printJson({ notebook: file, out: outFile ?? null, html: htmlFile ?? null, stopped: r.stopped, failure,
        cells: cellTimes, seconds });
      return code;
    }
    if (r.failure) {
      const where = [`cell ${r.failure.index + 1}`, r.failure.line !== undefined ? `line ${r.failure.line}` : '',
        r.failure.field ? `field ${r.failure.field}` : ''].filter(Boolean).join(', ');
      const msg = r.failure.field && r.failure.message.startsWith(`${r.failure.field}: `)
        ? r.failure.message.slice(r.failure.field.length + 2) : r.failure.message;
      process.stderr.write(`tinymem: ${file}: ${where}: ${msg.split('\n').join(' ')}\n`);
      process.stderr.write('later cells were not run; fix the cell and run the notebook again\n');
      return code;
    }
    console.log(`${r.stopped ? 'stopped' : 'ran'} ${nb.cells.filter((c) => c.kind === 'step').length} step cells of ` +
      `${file} in ${secs} s`);
    return code;
  } finally {
    bar.stop();
    signals.dispose();
  }
}
