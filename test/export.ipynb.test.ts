// Exporting a notebook: the .ipynb holds every field nbformat 4.5 requires (checked by hand against the format's
// schema), each chart travels as the renderer's vega-lite spec (which vega-lite compiles), a PNG that decodes to a
// drawn picture (not a blank one) and its text summary; the HTML export is the report with one SVG per chart; and
// the engine process answers the `export` request (and reports a failure to that request alone); `tinymem export`
// writes the same files and replaces none without --force.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { comparisonView, curvesView, heatmapView, masksView, metricsView } from '../src/engine/report/index';
import { type Ipynb, VEGALITE_MIME, notebookToIpynb } from '../src/engine/report/ipynbExport';
import { exportNotebook } from '../src/engine/report/exportNotebook';
import { EngineClient } from '../src/extension/engineClient';
import { errorOutput, viewToOutput } from '../src/shared/cellOutputs';
import { type NotebookFile, serializeNotebook } from '../src/shared/notebookFormat';
import { sampleComparison, sampleEvaluation, sampleHeatmap, sampleWeightMasks } from './helpers/viewSamples';

const ROOT = path.resolve(__dirname, '..');

/** A notebook as the editor saves one: markdown, step cells with stored chart outputs, a failed cell. */
function sampleNotebook(): NotebookFile {
  const out = viewToOutput;
  return {
    format: 'tinymem-notebook', version: 1, metadata: { note: 'kept' },
    cells: [
      { kind: 'markdown', source: '# Run\nTwo lines.' },
      { kind: 'step', source: 'step: train\npreset: cpu-math-noise\n',
        outputs: [out(curvesView([{ epoch: 1, loss: 2 }, { epoch: 2, loss: 1 }])), out(heatmapView(sampleHeatmap()))] },
      { kind: 'step', source: 'step: compare\nmethods: [greedy]\n',
        outputs: [out(comparisonView(sampleComparison())), out(metricsView(sampleEvaluation()))] },
      { kind: 'step', source: 'step: inspect\n',
        outputs: [out(masksView({ ...sampleWeightMasks(), method: 'balanced-subnet', family: 'weight' }))] },
      { kind: 'step', source: 'step: mitigate\n', outputs: [errorOutput('Cell 5', 'no checkpoint yet')] },
    ],
  };
}

// ---- an nbformat 4.5 check written from the format's schema (v4.5 required fields and types) ----------------------

const isStrOrLines = (x: unknown) =>
  typeof x === 'string' || (Array.isArray(x) && x.every((l) => typeof l === 'string'));
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function checkNbformat45(nb: unknown): void {
  assert.ok(isObj(nb));
  assert.deepEqual(Object.keys(nb).sort(), ['cells', 'metadata', 'nbformat', 'nbformat_minor']);
  assert.equal(nb.nbformat, 4);
  assert.equal(nb.nbformat_minor, 5);
  assert.ok(isObj(nb.metadata));
  if (nb.metadata.kernelspec !== undefined) assert.ok(isObj(nb.metadata.kernelspec));
  if (nb.metadata.language_info !== undefined) {
    assert.ok(isObj(nb.metadata.language_info) && typeof nb.metadata.language_info.name === 'string');
  }
  assert.ok(Array.isArray(nb.cells));
  const ids = new Set<string>();
  for (const c of nb.cells as unknown[]) {
    assert.ok(isObj(c));
    assert.ok(typeof c.id === 'string' && /^[a-zA-Z0-9-_]{1,64}$/.test(c.id), `cell id ${String(c.id)}`);
    assert.ok(!ids.has(c.id), `duplicate id ${c.id}`);
    ids.add(c.id);
    assert.ok(isObj(c.metadata));
    assert.ok(isStrOrLines(c.source));
    if (c.cell_type === 'markdown') {
      assert.deepEqual(Object.keys(c).sort().filter((k) => k !== 'attachments'), ['cell_type', 'id', 'metadata',
        'source']);
      continue;
    }
    assert.equal(c.cell_type, 'code');
    assert.deepEqual(Object.keys(c).sort(), ['cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source']);
    assert.ok(c.execution_count === null || Number.isInteger(c.execution_count));
    assert.ok(Array.isArray(c.outputs));
    for (const o of c.outputs as unknown[]) {
      assert.ok(isObj(o));
      assert.equal(o.output_type, 'display_data');
      assert.deepEqual(Object.keys(o).sort(), ['data', 'metadata', 'output_type']);
      assert.ok(isObj(o.data) && isObj(o.metadata));
      for (const [mime, v] of Object.entries(o.data)) {
        assert.match(mime, /^[a-z]+\/[-+.\w]+$/);
        // JSON MIME types carry JSON; every other one a string or a list of lines.
        if (!/json$/.test(mime)) assert.ok(isStrOrLines(v), `${mime} is text`);
      }
    }
  }
}

// ---- a PNG reader written from the PNG specification (8-bit RGB/RGBA, non-interlaced) ------------------------------

function decodePng(b64: string): { width: number; height: number; rgba: (x: number, y: number) => number[] } {
  const buf = Buffer.from(b64, 'base64');
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(buf.toString('latin1', 12, 16), 'IHDR');
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const [depth, colour, , , interlace] = [...buf.subarray(24, 29)];
  assert.equal(depth, 8);
  assert.equal(interlace, 0);
  const channels = colour === 6 ? 4 : colour === 2 ? 3 : 0;
  assert.ok(channels > 0, `colour type ${colour}`);
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length;) {
    const len = buf.readUInt32BE(at);
    if (buf.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(buf.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? px[y * stride + i - channels]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? px[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      px[y * stride + i] = (x + [0, a, b, (a + b) >> 1, paeth][f]!) & 0xff;
    }
  }
  const at = (x: number, y: number) => y * stride + x * channels;
  return { width, height, rgba: (x, y) => [...px.subarray(at(x, y), at(x, y) + channels)] };
}

describe('.ipynb export', () => {
  it('is a valid nbformat 4.5 notebook with vega-lite, PNG and text for each chart', { timeout: 120_000 },
    async () => {
      const nb = sampleNotebook();
      const t0 = Date.now();
      const ipynb: Ipynb = JSON.parse(JSON.stringify(await notebookToIpynb(nb, 'run.tinymem')));
      console.log(`5 charts exported in ${Date.now() - t0} ms`);
      checkNbformat45(ipynb);
      assert.deepEqual(ipynb.cells.map((c) => c.cell_type), ['markdown', 'code', 'code', 'code', 'code']);
      assert.equal(ipynb.cells[0]!.source.join(''), '# Run\nTwo lines.');
      assert.equal(ipynb.cells[1]!.source.join(''), nb.cells[1]!.source);
      assert.deepEqual(ipynb.cells.slice(1).map((c) => (c.metadata.tinymem as { step: string }).step),
        ['train', 'compare', 'inspect', 'mitigate']);
      // No kernel runs YAML: no kernelspec is claimed; the language and the note say what the cells are.
      assert.equal(ipynb.metadata.kernelspec, undefined);
      assert.deepEqual(ipynb.metadata.language_info, { name: 'yaml' });
      assert.deepEqual((ipynb.metadata.tinymem as { metadata: unknown }).metadata, { note: 'kept' });

      const vl = await import('vega-lite');
      const charts = ipynb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data[VEGALITE_MIME]);
      assert.equal(charts.length, 5);
      const stored = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.items.length === 2);
      for (const [i, o] of charts.entries()) {
        vl.compile(o.data[VEGALITE_MIME] as Parameters<typeof vl.compile>[0]);
        assert.equal((o.data['text/plain'] as string[]).join(''), stored[i]!.items[1]!.data, 'text summary');
        const png = decodePng(o.data['image/png'] as string);
        assert.ok(png.width > 0 && png.height > 0);
        const size = o.metadata['image/png'] as { width: number; height: number };
        assert.equal(size.width, png.width / 2);
        const bg = png.rgba(0, 0).join();
        let differ = 0;
        for (let y = 0; y < png.height; y += 3) for (let x = 0; x < png.width; x += 3) {
          if (png.rgba(x, y).join() !== bg) differ++;
        }
        assert.ok(differ > 50, `chart ${i + 1}: only ${differ} sampled pixels differ from the background`);
      }
      // The failed cell's message stays, as markdown and text.
      const err = ipynb.cells[4]!.outputs![0]!;
      assert.match((err.data['text/markdown'] as string[]).join(''), /Cell 5 failed[\s\S]*no checkpoint yet/);
    });

  it('keeps a chart whose payload cannot be drawn as its text with a note', async () => {
    const nb: NotebookFile = { format: 'tinymem-notebook', version: 1, cells: [{ kind: 'step', source: 'step: x\n',
      outputs: [{ items: [{ mime: 'application/vnd.tinymem.metrics+json', data: { version: 99 } },
        { mime: 'text/markdown', data: 'summary' }] }] }] };
    const ipynb = await notebookToIpynb(nb, 'x.tinymem');
    const o = ipynb.cells[0]!.outputs![0]!;
    assert.equal(o.data[VEGALITE_MIME], undefined);
    assert.match((o.data['text/markdown'] as string[]).join(''), /^summary\n\n_\(Chart not exported: /);
  });

  it('HTML export is the report with one SVG per chart', async () => {
    const html = await exportNotebook(sampleNotebook(), 'html', 'run.tinymem');
    assert.match(html, /<title>run<\/title>/);
    assert.equal((html.match(/<svg\b/g) ?? []).length, 5);
    assert.match(html, /no checkpoint yet/);
  });
});

describe('export request to the engine process', () => {
  const engine = new EngineClient({ modulePath: path.join(ROOT, 'src/worker/engineProcess.ts'),
    execArgv: ['--import', 'tsx'] });
  after(() => engine.dispose());

  it('answers with the file text, and a bad request fails alone', { timeout: 120_000 }, async () => {
    const r = await engine.exportNotebook('ipynb', sampleNotebook(), 'run.tinymem');
    assert.ok('text' in r, 'error' in r ? r.error : '');
    const ipynb = JSON.parse(r.text) as Ipynb;
    checkNbformat45(ipynb);
    assert.equal((ipynb.metadata.tinymem as { exportedFrom: string }).exportedFrom, 'run.tinymem');
    const bad = await engine.exportNotebook('pdf' as 'html', sampleNotebook(), 'run.tinymem');
    assert.ok('error' in bad);
    assert.match(bad.error, /cannot export to "pdf"/);
    const html = await engine.exportNotebook('html', sampleNotebook(), 'run.tinymem');
    assert.ok('text' in html && html.text.startsWith('<!DOCTYPE html>'));
    assert.equal(engine.starts, 1);
  });
});

describe('tinymem export', () => {
  it('writes the .ipynb and the HTML of a saved notebook and replaces nothing without --force',
    { timeout: 120_000 }, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-export-'));
      after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const nb = path.join(dir, 'run.tinymem');
      fs.writeFileSync(nb, serializeNotebook(sampleNotebook()));
      const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/tinymem.js'), 'export', nb,
        ...args], { encoding: 'utf8', timeout: 120_000 });
      const out = path.join(dir, 'run.ipynb');
      const r = cli('--ipynb', out, '--html', path.join(dir, 'run.html'));
      assert.equal(r.status, 0, r.stderr);
      checkNbformat45(JSON.parse(fs.readFileSync(out, 'utf8')));
      assert.equal((fs.readFileSync(path.join(dir, 'run.html'), 'utf8').match(/<svg\b/g) ?? []).length, 5);
      fs.writeFileSync(out, 'mine');
      const again = cli('--ipynb', out);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /already exists; pass --force/);
      assert.equal(fs.readFileSync(out, 'utf8'), 'mine');
      const forced = cli('--ipynb', out, '--force', '--json');
      assert.equal(forced.status, 0, forced.stderr);
      assert.deepEqual(JSON.parse(forced.stdout), { notebook: nb, files: [{ format: 'ipynb', path: out }] });
      checkNbformat45(JSON.parse(fs.readFileSync(out, 'utf8')));
    });
});
