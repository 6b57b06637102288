// The extension host never loads the engine: what the editor lists comes from src/shared/catalog.json, which must
// match the engine's tables; dist/extension.js is built without any src/engine module and stays small; cell
// diagnostics come from the engine process's own validator.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { CATALOG_FILE, catalogText } from '../src/engine/catalog';
import { parseStep } from '../src/engine/notebook/parseStep';
import { EngineClient } from '../src/extension/engineClient';

const ROOT = path.resolve(__dirname, '..');
const MAX_KB = 200;

test('src/shared/catalog.json lists the engine\'s presets, methods and regularizers as they are now', () => {
  const [have, want] = [fs.readFileSync(CATALOG_FILE, 'utf8'), catalogText()];
  const wanted = want.split('\n');
  const line = have.split('\n').findIndex((l, i) => l !== wanted[i]) + 1;
  const where = `src/shared/catalog.json${line ? ` (line ${line})` : ''}`;
  assert.ok(have === want, `${where} no longer matches the engine's tables: run \`npm run build\` and commit it`);
});

test(`dist/extension.js imports nothing from src/engine and is at most ${MAX_KB} KB`, async () => {
  type Bundle = { out: string; entry: string; options: esbuild.BuildOptions };
  const { bundles } = createRequire(__filename)('../esbuild.js') as { bundles: Bundle[] };
  const b = bundles.find((x) => x.out === 'extension')!;
  const r = await esbuild.build({
    ...b.options,
    entryPoints: { [b.out]: b.entry },
    outdir: 'dist',
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
  });
  const engine = Object.keys(r.metafile.inputs).filter((f) => f.startsWith('src/engine/'));
  assert.deepEqual(engine, [], 'the extension bundle must not contain engine modules; go through the engine process');
  const kb = r.outputFiles.find((f) => f.path.endsWith(`${b.out}.js`))!.contents.length / 1024;
  assert.ok(kb <= MAX_KB, `dist/extension.js is ${kb.toFixed(0)} KB, over ${MAX_KB} KB`);
});

test('cell diagnostics come from the engine process and match its validator', { timeout: 60_000 }, async () => {
  const modulePath = path.join(ROOT, 'src/worker/engineProcess.ts');
  const engine = new EngineClient({ modulePath, execArgv: ['--import', 'tsx'] });
  try {
    const bad = 'step: mitigate\nmethod: nope\nhp: { ratio: 2 }\n';
    const issues = await engine.check(bad);
    assert.ok(issues?.length);
    assert.deepEqual(issues, parseStep(bad).issues);
    assert.deepEqual(await engine.check('step: data\npreset: cpu-math-noise\n'), []);
    // A process that dies answers nothing (the editor keeps its diagnostics); the next check starts another.
    process.kill(engine.pid!, 'SIGKILL');
    assert.equal(await engine.check(bad), undefined);
    assert.deepEqual(await engine.check(bad), issues);
    assert.equal(engine.starts, 2);
  } finally {
    engine.dispose();
  }
});
