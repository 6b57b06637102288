// The test-fixture cache (test/helpers/fixtureCache.ts): a fixture is rebuilt when its settings or the engine's
// source change, reused otherwise, published whole even when two builders race, and killed builds leave nothing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { cachedFixture, codeDigest, fixtureKey } from './helpers/fixtureCache';

let tmp: string;
const saved = process.env.TMPDIR;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-fixture-cache-'));
  process.env.TMPDIR = tmp; // os.tmpdir() reads it on every call
});
after(() => {
  process.env.TMPDIR = saved;
  if (saved === undefined) delete process.env.TMPDIR;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const writer = (log: string[], text: string, ms = 0) => async (dir: string) => {
  log.push(text);
  await new Promise((r) => setTimeout(r, ms));
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'weights.txt'), text);
};

test('the key covers the settings and a digest of src/engine and src/shared', () => {
  assert.match(codeDigest(), /^[0-9a-f]{64}$/);
  assert.notEqual(fixtureKey({ seed: 0 }), fixtureKey({ seed: 1 }));
  assert.equal(fixtureKey({ seed: 0 }), fixtureKey({ seed: 0 }));
});

test('a fixture is built once, then reused; other settings build another', async () => {
  const log: string[] = [];
  const a = await cachedFixture('t', { seed: 0 }, writer(log, 'a'));
  const again = await cachedFixture('t', { seed: 0 }, writer(log, 'never'));
  const b = await cachedFixture('t', { seed: 1 }, writer(log, 'b'));
  assert.equal(again, a);
  assert.notEqual(b, a);
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(fs.readFileSync(path.join(a, 'weights.txt'), 'utf8'), 'a');
  assert.ok(path.basename(a).includes(fixtureKey({ seed: 0 })), `${a} is named by its key`);
});

test('two builders of one fixture at once: both get a whole copy, no build folder is left', async () => {
  const log: string[] = [];
  const [x, y] = await Promise.all(
    [cachedFixture('race', { n: 1 }, writer(log, 'x', 50)), cachedFixture('race', { n: 1 }, writer(log, 'y', 10))]);
  assert.equal(x, y);
  assert.deepEqual(log.sort(), ['x', 'y'], 'both started before either finished');
  assert.equal(fs.readFileSync(path.join(x, 'weights.txt'), 'utf8'), 'y', 'the first to finish is published and kept');
  assert.deepEqual(fs.readdirSync(path.dirname(x)).filter((e) => e.startsWith('.')), []);
});

test('a failed build publishes nothing; a dead process’s build folder and a half-written fixture are removed',
  async () => {
    const root = path.join(os.tmpdir(), 'tinymem-fixtures');
    await assert.rejects(cachedFixture('broken', { n: 2 }, async () => {
      throw new Error('training failed');
    }), /training failed/);
    assert.deepEqual(fs.readdirSync(root).filter((e) => e.includes('broken')), []);
    // A build folder of a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max), and a fixture folder
    // without its completion marker.
    fs.mkdirSync(path.join(root, `.dead-${fixtureKey({})}-building-${2 ** 22 + 1}-abc`));
    const half = path.join(root, `half-${fixtureKey({ n: 3 })}`);
    fs.mkdirSync(half);
    const dir = await cachedFixture('half', { n: 3 }, writer([], 'whole'));
    assert.equal(dir, half);
    assert.equal(fs.readFileSync(path.join(dir, 'weights.txt'), 'utf8'), 'whole');
    assert.deepEqual(fs.readdirSync(root).filter((e) => e.startsWith('.')), []);
  });
