// Running notebooks end to end without VS Code: the headless `tinymem run` on test/e2e/e2e.tinymem (every step kind)
// writes outputs with the right MIME items and an HTML report, and a failing cell exits non-zero naming the cell and
// field. Then the extension's engine process (forked as the extension forks it): progress, Stop within a training
// step with the partial curve kept, and a fresh process after a crash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { EngineClient } from '../src/extension/engineClient';
import { parseNotebook } from '../src/shared/notebookFormat';
import { VIEW_MIME, validateViewPayload } from '../src/shared/viewPayloads';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin/tinymem.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-nbrun-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mimesOf = (cell: { outputs?: { items: { mime: string }[] }[] }) =>
  (cell.outputs ?? []).flatMap((o) => o.items.map((i) => i.mime));

test('tinymem run executes test/e2e/e2e.tinymem: every step kind, rich items + markdown, HTML report',
  { timeout: 240_000 }, () => {
    const nbFile = path.join(tmp, 'e2e.tinymem');
    fs.copyFileSync(path.join(ROOT, 'test/e2e/e2e.tinymem'), nbFile);
    const out = path.join(tmp, 'executed.tinymem');
    const html = path.join(tmp, 'report.html');
    const started = Date.now();
    const r = cli(['run', nbFile, '--out', out, '--html', html, '--threads', '2']);
    console.log(`tinymem run test/e2e/e2e.tinymem: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ran 6 step cells/);
    assert.match(r.stderr, /\[2\/6\] cell 3: step: train/);

    const nb = parseNotebook(fs.readFileSync(out), out);
    const steps = nb.cells.filter((c) => c.kind === 'step');
    const byKind = (k: string) => steps.find((c) => c.source.startsWith(`step: ${k}`))!;
    const expect: Record<string, string[]> = {
      train: [VIEW_MIME.curves, VIEW_MIME.metrics],
      memorization: [VIEW_MIME.metrics, VIEW_MIME.heatmap],
      mitigate: [VIEW_MIME.heatmapPair, VIEW_MIME.masks, VIEW_MIME.metrics],
      compare: [VIEW_MIME.comparison],
      inspect: [VIEW_MIME.masks],
    };
    for (const [kind, mimes] of Object.entries(expect)) {
      const cell = byKind(kind);
      for (const o of cell.outputs ?? []) {
      // Every output ends with its markdown fallback; a rich item comes first and passes the renderer's validation.
        assert.equal(o.items[o.items.length - 1]!.mime, 'text/markdown', `${kind}: fallback last`);
        if (o.items.length === 2) validateViewPayload(o.items[0]!.mime, o.items[0]!.data);
      }
      const rich = mimesOf(cell).filter((m) => m !== 'text/markdown');
      assert.deepEqual(rich, mimes, `${kind} outputs`);
    }
    assert.ok(mimesOf(byKind('data')).includes('text/markdown'));
    // The provider that ran is named in the outputs.
    assert.ok(JSON.stringify(byKind('train').outputs).includes('on **cpu**'));
    // The checkpoints landed next to the notebook, and the edited one has its masks.
    assert.ok(fs.existsSync(path.join(tmp, 'runs/e2e/model.safetensors')));
    assert.ok(fs.existsSync(path.join(tmp, 'runs/e2e-balanced-subnet/masks.safetensors')));
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/i);
    assert.ok(page.includes('<svg'), 'the report draws charts as SVG');
    assert.ok(!fs.readdirSync(tmp).some((f) => f.includes('.tmp')), 'no temp files left behind');
  });

test('a failing cell: non-zero exit, the cell number and field named, later cells not run', () => {
  const nbFile = path.join(tmp, 'bad.tinymem');
  fs.writeFileSync(nbFile, JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: [
    { kind: 'markdown', source: '# bad' },
    { kind: 'step', source: 'step: data\npreset: cpu-math-noise\n' },
    { kind: 'step', source: 'step: mitigate\nmethod: balanced-subnet\nhp:\n  ratio: 7\n' },
    { kind: 'step', source: 'step: data\npreset: cpu-math-noise\n' },
  ] }));
  const out = path.join(tmp, 'bad.out.tinymem');
  const r = cli(['run', nbFile, '--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cell 3, line 4, field hp\.ratio: .*out of range/);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  const nb = parseNotebook(fs.readFileSync(out));
  assert.match(String(nb.cells[2]!.outputs![0]!.items[0]!.data), /Cell 3 failed/);
  assert.equal(nb.cells[3]!.outputs, undefined, 'the cell after the failure was not run');
  // A broken notebook file fails with the file's own error.
  fs.writeFileSync(nbFile, '{"format": "tinymem-notebook", "version": 1, "cells": [');
  const t = cli(['run', nbFile]);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /bad\.tinymem: ends in the middle of the JSON \(truncated\?\)/);
});

test('engine process: progress, Stop within a training step keeps the partial curve, a crash starts a fresh process',
  { timeout: 180_000 }, async () => {
    const engine = new EngineClient(
      { modulePath: path.join(ROOT, 'src/worker/engineProcess.ts'), execArgv: ['--import', 'tsx'] });
    const settings = { providers: ['cpu'], threads: 1, seed: 0 };
    try {
      const trainSrc = 'step: train\npreset: cpu-math-noise\nout: runs/stop\nevaluate: false\n' +
        'set: { model.n_layer: 1, model.n_embd: 16, model.n_head: 2, data.numMain: 40, data.numExtra: 10, ' +
        'data.numTest: 10, data.numNoise: 10, train.batchSize: 8, train.epochs: 5000 }\n';
      let curves = 0;
      let stoppedAt = 0;
      const h = engine.run({ source: trainSrc, baseDir: tmp, state: {}, settings }, (p) => {
        if (p.outputs?.some((o) => o.mime === VIEW_MIME.curves)) curves++;
        if (curves === 3 && !stoppedAt) {
          stoppedAt = Date.now();
          h.cancel();
        }
      });
      const o = await h.outcome;
      assert.equal(o.kind, 'done', JSON.stringify(o));
      if (o.kind !== 'done') return;
      assert.equal(o.stopped, true);
      assert.ok(Date.now() - stoppedAt < 15_000, 'Stop took effect quickly');
      const curve = o.outputs.find((v) => v.mime === VIEW_MIME.curves)!;
      assert.ok((curve.payload as { points: unknown[] }).points.length >= 1, 'partial curve kept');
      assert.match(o.outputs[o.outputs.length - 1]!.markdown, /Stopped after \d+ steps.*valid.*on \*\*cpu\*\*/);
      assert.equal(o.state.lastCheckpoint, path.join(tmp, 'runs/stop'));
      const manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'runs/stop/tinymem.json'), 'utf8')) as {
        progress: { complete: boolean; stopped: boolean }; };
      assert.deepEqual([manifest.progress.complete, manifest.progress.stopped], [false, true]);

      // An invalid cell comes back as an error naming the field, and the state passes through.
      const bad = await engine.run({ source: 'step: memorization\ncheckpoint: nowhere\n', baseDir: tmp, state: o.state,
        settings }, () => {}).outcome;
      assert.equal(bad.kind, 'error');
      assert.match(bad.kind === 'error' ? bad.message : '', /checkpoint: .*nowhere is not a folder/);

      // Kill the process mid-run: the run reports the crash, and the next run starts a fresh process.
      const first = engine.pid!;
      const running = engine.run({ source: trainSrc.replace('runs/stop', 'runs/crash'), baseDir: tmp, state: {},
        settings }, () => {});
      setTimeout(() => process.kill(first, 'SIGKILL'), 2000);
      const crashed = await running.outcome;
      assert.equal(crashed.kind, 'crashed');
      assert.match(crashed.kind === 'crashed' ? crashed.message : '', /engine process was killed.*Run the cell again/);
      const again = await engine.run({ source: 'step: data\npreset: cpu-math-noise\n', baseDir: tmp, state: {},
        settings }, () => {}).outcome;
      assert.equal(again.kind, 'done');
      assert.notEqual(engine.pid, first);
      assert.equal(engine.starts, 2);
    } finally {
      engine.dispose();
    }
  });
