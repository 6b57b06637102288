// Which folders the editor offers as checkpoints (palette picker, Explorer menus): TinyMem checkpoints and the
// Hugging Face folders the engine loads, checked against the engine itself: a folder called 'hf' loads with
// loadModelFolder, the kinds agree with the engine's subjectSets, and the supported model types are the engine's
// model families. Sizes come from the files on disk.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { FAMILIES } from '../src/engine/model/family';
import { loadModelFolder } from '../src/engine/model/checkpoint';
import { subjectSets } from '../src/engine/runs/subject';
import { HF_MODEL_TYPES, describeModelFolder, firstSequenceLength } from '../src/shared/modelFolder';
import { formatBytes } from '../src/shared/readLimited';
import { freshDir, gpt2RawConfig, neoxRawConfig, randomGpt2Params, randomNeoxParams, writeGpt2Folder,
  writeNeoxFolder } from './helpers/hfCheckpoints';

const tmp = freshDir('folders');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => path.join(tmp, name);
const json = (file: string, v: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v));
};

test('the editor supports exactly the engine\'s model families', () => {
  assert.deepEqual([...HF_MODEL_TYPES].sort(), FAMILIES.map((f) => f.modelType).sort());
});

test('Hugging Face folders (single file and sharded) are listed with type, shape and size', () => {
  const neox = neoxRawConfig({ hidden: 32, layers: 2, inner: 64 });
  writeNeoxFolder(at('pythia'), neox, randomNeoxParams(neox, 1));
  const gpt2 = gpt2RawConfig();
  writeGpt2Folder(at('gpt2-sharded'), gpt2, randomGpt2Params(gpt2, 2), { shards: 2 });
  const shards = fs.readdirSync(at('gpt2-sharded')).filter((f) => /^model-.*\.safetensors$/.test(f));
  assert.equal(shards.length, 2);

  const p = describeModelFolder(at('pythia'))!;
  assert.equal(p.kind, 'hf');
  assert.equal(p.edited, false);
  assert.equal(p.recordedSequences, false);
  const bytes = fs.statSync(at('pythia/model.safetensors')).size;
  assert.equal(p.description, `Hugging Face gpt_neox, 2 layers × 32, ${formatBytes(bytes)}`);
  // The engine agrees: it loads the folder, and it has no sets of its own.
  assert.equal(loadModelFolder(at('pythia')).modelType, 'gpt_neox');
  assert.equal(subjectSets(at('pythia')), null);

  const g = describeModelFolder(at('gpt2-sharded'))!;
  assert.equal(g.kind, 'hf');
  const total = shards.reduce((n, f) => n + fs.statSync(path.join(at('gpt2-sharded'), f)).size, 0);
  assert.ok(g.description.endsWith(`, ${formatBytes(total)}`), g.description);
  assert.match(g.description, /^Hugging Face gpt2, \d+ layers × \d+, /);
  assert.equal(loadModelFolder(at('gpt2-sharded')).modelType, 'gpt2');
});

test('folders the engine cannot load are not offered', () => {
  json(at('llama/config.json'), { model_type: 'llama' });
  fs.writeFileSync(at('llama/model.safetensors'), '');
  json(at('no-weights/config.json'), { model_type: 'gpt2' });
  json(at('shard-missing/config.json'), { model_type: 'gpt2' });
  json(at('shard-missing/model.safetensors.index.json'), { weight_map: { a: 'model-00001-of-00002.safetensors' } });
  json(at('bad-manifest/config.json'), { model_type: 'gpt2' });
  fs.writeFileSync(at('bad-manifest/tinymem.json'), '{ not json');
  fs.mkdirSync(at('empty'));
  for (const d of ['llama', 'no-weights', 'shard-missing', 'bad-manifest', 'empty']) {
    assert.equal(describeModelFolder(at(d)), null, d);
  }
});

test('TinyMem checkpoints, edited ones and edited Hugging Face folders', () => {
  const trained = { data: { kind: 'tinymem' }, preset: { name: 'cpu-math-noise' }, progress: { epochs: 3,
    complete: false } };
  json(at('run/tinymem.json'), trained);
  json(at('run/config.json'), { n_layer: 1 });
  json(at('run-greedy/tinymem.json'), { ...trained, mitigation: { method: 'greedy' } });
  json(at('run-greedy/config.json'), { n_layer: 1 });
  // As saveMitigation writes it for a folder edited on sequence sets (paths relative to the folder).
  const neox = neoxRawConfig({ hidden: 32, layers: 2, inner: 64 });
  writeNeoxFolder(at('pythia-edited'), neox, randomNeoxParams(neox, 1));
  fs.writeFileSync(at('mem.jsonl'), '[1, 2, 3]\n');
  json(at('pythia-edited/tinymem.json'), { kind: 'hf-mitigation', version: 1, modelType: 'gpt_neox',
    data: { kind: 'sequences', sequences: '../mem.jsonl', text: null, retain: null, promptLength: 1,
      continuationLength: 2 }, mitigation: { method: 'activations' } });

  const run = describeModelFolder(at('run'))!;
  assert.deepEqual({ ...run, dir: '' }, { dir: '', kind: 'tinymem', edited: false, recordedSequences: false,
    description: 'trained cpu-math-noise, 3 epochs (incomplete)' });
  assert.equal(subjectSets(at('run')), 'tinymem');
  const edited = describeModelFolder(at('run-greedy'))!;
  assert.equal(edited.kind, 'tinymem');
  assert.equal(edited.edited, true);
  assert.equal(edited.description, 'edited by greedy');
  const hf = describeModelFolder(at('pythia-edited'))!;
  assert.equal(hf.kind, 'hf');
  assert.equal(hf.edited, true);
  assert.equal(hf.recordedSequences, true);
  assert.match(hf.description, /^Hugging Face edited by activations, gpt_neox, 2 layers × 32, /);
  const sets = subjectSets(at('pythia-edited'));
  assert.ok(sets && sets !== 'tinymem' && sets.sequences === at('mem.jsonl'));
});

test('the first sequence\'s length is read from JSONL, JSON and object lines', () => {
  const f = (name: string, text: string) => {
    fs.writeFileSync(at(name), text);
    return firstSequenceLength(at(name));
  };
  assert.equal(f('a.jsonl', '[5, 6, 7, 8]\n[1, 2]\n'), 4);
  assert.equal(f('b.json', '[[1,2,3],[4,5,6]]'), 3);
  assert.equal(f('c.jsonl', '{"id": 7, "tokens": [9, 9, 9, 9, 9, 9]}\n'), 6);
  assert.equal(f('d.json', '{"sequences": [[0, 1]]}'), 2);
  assert.equal(f('e.txt', 'plain text'), undefined);
});
