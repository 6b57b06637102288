// tinymem export NOTEBOOK.tinymem [--ipynb OUT] [--html OUT] [--force]: writes a saved notebook's cells and outputs
// as a Jupyter notebook (vega-lite, PNG and text per chart) and/or the HTML report, as the editor's Export commands
// do, without running anything. An existing file is replaced only with --force.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { checkOutFile } from '../../engine/io/outputDir';
import { exportNotebook } from '../../engine/report/exportNotebook';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import type { ExportFormat } from '../../shared/engineProtocol';
import { parseNotebook } from '../../shared/notebookFormat';
import { readLimited } from '../../shared/readLimited';
import { asWriteError } from '../../shared/writeError';
import { printJson } from '../json';

export interface ExportFlags {
  ipynb?: string;
  html?: string;
  force?: boolean;
  json?: boolean;
}

export async function exportCommand(file: string, f: ExportFlags): Promise<number> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such notebook file`);
  const targets = (['ipynb', 'html'] as const).filter((k) => f[k] !== undefined)
    .map((k) => ({ format: k as ExportFormat, shown: f[k]!, flag: `--${k}` }));
  if (!targets.length) throw new Error('give --ipynb FILE and/or --html FILE: where to write the export');
  // Everything is checked before any chart is drawn: a bad or existing target throws no work away.
  const checked = targets.map((t) => {
    const target = checkOutFile(t.shown, t.flag);
    if (fs.existsSync(target) && !f.force) throw new Error(`${t.shown}: already exists; pass --force to replace it ` +
      `or choose another ${t.flag}`);
    return { ...t, target };
  });
  if (checked.length === 2 && checked[0]!.target === checked[1]!.target) throw new Error(
    `${f.html}: --html and --ipynb name the same file; give them different paths`);
  const nb = parseNotebook(readLimited(file, 'notebook'), file);
  const files: { format: ExportFormat; path: string }[] = [];
  for (const t of checked) {
    const text = await exportNotebook(nb, t.format, path.basename(file));
    try {
      writeFileAtomicSync(t.target, [new TextEncoder().encode(text)]);
    } catch (e) {
      throw asWriteError(t.shown, e, `choose another ${t.flag}`);
    }
    console.log(`${t.format === 'ipynb' ? 'Jupyter notebook' : 'HTML report'}: ${t.target}`);
    files.push({ format: t.format, path: t.target });
  }
  if (f.json) printJson({ notebook: path.resolve(file), files });
  return 0;
}

export function registerExport(p: Command): void {
  p.command('export <notebook>')
    .description('write a saved .tinymem notebook\'s cells and outputs as a Jupyter notebook (charts as vega-lite ' +
      'and PNG) and/or an HTML report, without running it')
    .option('--ipynb <file>', 'write a Jupyter notebook (nbformat 4.5) here')
    .option('--html <file>', 'write a self-contained HTML report here')
    .option('--force', 'replace an existing file')
    .option('--json', 'print the result as one JSON document on stdout ({"notebook", "files": [{format, path}]})')
    .action(async (nb, f) => {
      process.exitCode = await exportCommand(nb, f);
    });
}
