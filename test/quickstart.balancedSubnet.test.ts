// The acceptance figure, checked on the real quickstart model: BalancedSubnet with its registered defaults
// brings memorization to ≤ 5 % and costs ≤ 2 points of math accuracy. The quickstart preset is trained once per
// machine through the same path as `npm run quickstart` (trainRun) and cached in the temp folder, keyed by its job.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { presetToJob, resolvePreset } from '../src/engine/presets';
import { trainRun } from '../src/engine/runs/trainRun';
import { mitigate, prepareBase } from '../src/engine/runs/mitigateRun';
import { Runtime } from '../src/engine/runtime/session';
import '../src/engine/methods/index';

const rt = new Runtime({ threads: 2 });
after(() => rt.dispose());

async function quickstartCheckpoint(): Promise<string> {
  const preset = resolvePreset('cpu-math-noise', {});
  const key = crypto.createHash('sha256').update(JSON.stringify(presetToJob(preset, { runtime: { threads: 2 } }))).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'tinymem-fixtures', `quickstart-${key}`);
  const manifest = path.join(dir, 'tinymem.json');
  if (!fs.existsSync(manifest) || !JSON.parse(fs.readFileSync(manifest, 'utf8')).progress?.complete) {
    await trainRun({ preset, out: dir, force: true, evaluate: false, runtime: { threads: 2 } }).result;
  }
  return dir;
}

test('BalancedSubnet with its defaults: quickstart model to ≤ 5 % memorization with ≤ 2 points of accuracy lost', async () => {
  const base = await prepareBase(rt, await quickstartCheckpoint());
  const memBefore = base.before.memorization!.percentMemorized!;
  const accBefore = base.before.accuracy!.paper!;
  assert.ok(memBefore >= 30, `the quickstart model memorizes (${memBefore} %)`);
  const m = await mitigate(rt, base, { method: 'balanced-subnet' });
  const memAfter = m.after.memorization!.percentMemorized!;
  const accAfter = m.after.accuracy!.paper!;
  console.log(`quickstart: memorization ${memBefore.toFixed(2)} % → ${memAfter.toFixed(2)} %, accuracy ${accBefore.toFixed(2)} % → ${accAfter.toFixed(2)} % (${m.record.seconds.toFixed(1)} s)`);
  assert.ok(memAfter <= 5, `memorization ${memBefore} % → ${memAfter} %`);
  assert.ok(accAfter >= accBefore - 2, `accuracy ${accBefore.toFixed(2)} % → ${accAfter.toFixed(2)} %`);
});
