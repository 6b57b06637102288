// TinyMem: Restart Engine, through the engine client as the extension uses it: a running training cell ends at once
// with a message saying the engine was restarted, the old process exits, the next cell runs in a fresh process, and
// the activity the status bar follows (start, progress with the provider, end) is reported for every run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { type EngineActivity, EngineClient, RESTARTED_MESSAGE } from '../src/extension/engineClient';
import { pidAlive } from '../src/shared/saveLeftovers';

const ROOT = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-restart-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const settings = { providers: ['cpu'], threads: 1, seed: 0 };
const SET = 'set: { model.n_layer: 1, model.n_embd: 16, model.n_head: 2, data.numMain: 40, data.numExtra: 10, ' +
  'data.numTest: 10, data.numNoise: 10, train.batchSize: 8, train.epochs: 5000 }\n';

test('Restart Engine ends the running cell with a clear message; the next cell runs in a fresh process',
  { timeout: 180_000 }, async () => {
    const engine = new EngineClient(
      { modulePath: path.join(ROOT, 'src/worker/engineProcess.ts'), execArgv: ['--import', 'tsx'] });
    const activity: EngineActivity[] = [];
    const unsubscribe = engine.onActivity((a) => activity.push(a));
    try {
      assert.equal(engine.restart(), false, 'nothing to restart before first use');
      let progressed!: () => void;
      const training = new Promise<void>((resolve) => (progressed = resolve));
      const h = engine.run({ label: 'cell 2', source: `step: train\npreset: cpu-math-noise\nout: runs/long\n${SET}`,
        baseDir: tmp, state: {}, settings }, (p) => {
        if (p.outputs?.length) progressed();
      });
      await training;
      const old = engine.pid!;
      assert.equal(engine.running, 1);
      const restartedAt = Date.now();
      assert.equal(engine.restart(), true);
      const o = await h.outcome;
      assert.ok(Date.now() - restartedAt < 1000, 'the cell ends at once, not when the process has gone');
      assert.deepEqual(o, { kind: 'crashed', message: RESTARTED_MESSAGE });
      assert.match(RESTARTED_MESSAGE, /engine was restarted \(TinyMem: Restart Engine\)/);
      assert.equal(engine.running, 0);
      for (let i = 0; i < 200 && pidAlive(old); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pidAlive(old), false, 'the old engine process exited');

      // The next cell starts a fresh process and is not touched by the old one's exit.
      const next = await engine.run({ source: 'step: data\npreset: cpu-math-noise\n', baseDir: tmp, state: {},
        settings }, () => {}).outcome;
      assert.equal(next.kind, 'done', JSON.stringify(next));
      assert.notEqual(engine.pid, old);
      assert.equal(engine.starts, 2);

      const ofRun = (kind: EngineActivity['kind']) => activity.filter((a) => a.kind === kind);
      assert.equal(ofRun('start').length, 2);
      assert.equal(ofRun('end').length, 2, 'both runs reported their end (the restarted one too)');
      const start = ofRun('start')[0] as Extract<EngineActivity, { kind: 'start' }>;
      assert.equal(start.label, 'cell 2');
      const providers = ofRun('progress').map((a) => a.kind === 'progress' ? a.progress.provider : undefined);
      assert.ok(providers.includes('cpu'), `training progress names its provider (${[...new Set(providers)]})`);
    } finally {
      unsubscribe();
      engine.dispose();
    }
  });
