// The CLI on Hugging Face folders: score and eval take a GPT-NeoX folder, eval reads a JSONL memorized-sequence set
// and text through tokenizer.json, and a folder of an unsupported architecture fails with one clear line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { freshDir, neoxRawConfig, randomNeoxParams, writeNeoxFolder } from './helpers/hfCheckpoints';

const BIN = path.resolve(__dirname, '../bin/tinymem.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

test('tinymem score / eval on a GPT-NeoX folder; unsupported architectures are refused by name', () => {
  const raw = neoxRawConfig({ std: 0.3 });
  const dir = writeNeoxFolder(freshDir('cli'), raw, randomNeoxParams(raw, 1));
  const inputs = freshDir('cli-inputs'); // not dir/..: that is the temp folder itself
  const seqs = path.join(inputs, 'seqs.json');
  writeFileSync(seqs, JSON.stringify([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]));
  const s = cli(['score', dir, '--tokens', seqs, '--generate', '3', '--prompt-len', '4', '--json', '--threads', '1']);
  assert.equal(s.status, 0, s.stderr);
  const out = JSON.parse(s.stdout);
  assert.equal(out.loss.length, 1);
  assert.equal(out.greedy[0].length, 3);

  const mem = path.join(inputs, 'mem.jsonl');
  writeFileSync(mem, [0, 1, 2].map((k) => JSON.stringify(Array.from({ length: 24 }, (_, i) => (i * 7 + k) % 200))).join(
    '\n'));
  const text = path.join(inputs, 'text.txt');
  writeFileSync(text, 'the cat and the hat sat in the sun, and then the man ran in. '.repeat(20));
  const e = cli(['eval', dir, '--sequences', mem, '--text', text, '--prompt-len', '8', '--continuation-len', '16',
    '--json', '--threads', '1']);
  assert.equal(e.status, 0, e.stderr);
  const r = JSON.parse(e.stdout);
  assert.equal(r.modelType, 'gpt_neox');
  assert.equal(r.memorization.pooled.rows, 3);
  assert.ok(r.perplexity.tokens > 0 && r.perplexity.paper > 1);

  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...raw, model_type: 'llama' }));
  const bad = cli(['eval', dir, '--sequences', mem]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /"model_type" is "llama"; tinymem runs "gpt2" and "gpt_neox" models/);
  assert.ok(bad.stderr.trim().split('\n').length <= 2, bad.stderr);
});
