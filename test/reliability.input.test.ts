// Bounded work on hostile input (issue 10, cases 8–10 and the unclear messages): sizes in config.json are checked
// against the machine's memory before anything is allocated, user files are read with a size limit and only when
// they are regular files, --threads is capped at the machine's cores, tokenizer patterns run under a time budget, and
// out-of-range numbers, a BOM and a foreign tokenizer get messages that name the file. Every probe calls the CLI as a
// user does, in a child process with a time limit (a hang ends it with a signal, which fails the test), and checks
// that every file that was there before is unchanged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { checkFineTuneMemory, fineTuneRows } from '../src/engine/methods/finetune/shared';
import { checkMitigation } from '../src/engine/runs/mitigateRun';
import { presetDataSpec, presetModelConfig, resolvePreset } from '../src/engine/presets';
import { tinymemDataset } from '../src/engine/train/tinymemData';
import { machineCores } from '../src/engine/io/machine';
import {
  TOKENIZER_VOCAB, gpt2RawConfig, neoxRawConfig, randomGpt2Params, randomNeoxParams, tokenizerJson, writeGpt2Folder,
  writeNeoxFolder,
} from './helpers/hfCheckpoints';
import { TINY_TRAIN, assertRefused, assertUnchanged, fingerprint, tempDir, tinymem } from './helpers/userCli';

const root = tempDir('hostile');
/** Refusals must come at once: far below the 2-minute default, so a hang or a slow whole-file read fails the test. */
const QUICK = { timeout: 30_000 };
const GB = 1 << 30;

const gpt2Dir = path.join(root, 'gpt2');
const neoxDir = path.join(root, 'neox');
const tinyDir = path.join(root, 'tiny');
const tokens = path.join(root, 'tokens.json');
const text = path.join(root, 'text.txt');

before(() => {
  const g = gpt2RawConfig();
  writeGpt2Folder(gpt2Dir, g, randomGpt2Params(g, 1));
  const n = neoxRawConfig();
  writeNeoxFolder(neoxDir, n, randomNeoxParams(n, 2));
  fs.writeFileSync(tokens, JSON.stringify([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]));
  fs.writeFileSync(text, 'the cat and the hat sat on the mat; then the man ran to the van. '.repeat(20));
  const r = tinymem(['train', ...TINY_TRAIN, 'train.epochs=1', '--no-eval', '--out', tinyDir]);
  assert.equal(r.code, 0, r.stderr);
});

/** A copy of `src` under a new name, for a probe that edits it. */
function copyOf(src: string, name: string): string {
  const dst = path.join(root, name);
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

/** A folder holding one file of the user's, where a refused training must write nothing. */
function probeDir(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'the user\'s file\n');
  return dir;
}

function editJson(file: string, edit: (v: Record<string, unknown>) => void): void {
  const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(v);
  fs.writeFileSync(file, JSON.stringify(v));
}

/** Runs the CLI on a folder and checks the refusal: exit code, message, no signal (no hang), nothing changed. */
function refusedUnchanged(dir: string, args: string[], ...patterns: RegExp[]): void {
  const before = fingerprint(dir);
  const t0 = Date.now();
  const r = tinymem(args, QUICK);
  assertRefused(r, ...patterns);
  assert.ok(Date.now() - t0 < QUICK.timeout, 'answered within the time limit');
  assertUnchanged(dir, before, true);
}

// ---- case 8: sizes from config.json, non-regular files, threads ----------------------------------------------------

test('case 8: a TinyMem checkpoint whose config.json says n_layer 1000000000 is refused at once, naming the memory ' +
  'it would need', () => {
  const dir = copyOf(tinyDir, 'tiny-huge');
  editJson(path.join(dir, 'config.json'), (c) => (c.n_layer = 1_000_000_000));
  // A hand edit kept the way the load check says to: config.json's record removed from tinymem.json.
  editJson(path.join(dir, 'tinymem.json'), (m) => {
    delete (m.contentHashes as Record<string, unknown>)['config.json'];
    delete (m.fileStats as Record<string, unknown>)['config.json'];
  });
  refusedUnchanged(dir, ['eval', dir, '--threads', '1'], /config\.json: the model it describes \(n_layer=1000000000/,
    /needs about .* TB of memory, but this machine has/, /check these fields in config\.json/);
});

test('case 8: a Hugging Face GPT-2 folder with n_layer 1000000000 is refused at once', () => {
  const dir = copyOf(gpt2Dir, 'gpt2-huge');
  editJson(path.join(dir, 'config.json'), (c) => (c.n_layer = 1_000_000_000));
  refusedUnchanged(dir, ['score', dir, '--tokens', tokens], /gpt2-huge\/config\.json: .*n_layer=1000000000/,
    /of memory, but this machine has/);
});

test('case 8: a GPT-NeoX folder with num_hidden_layers 1000000000 is refused at once', () => {
  const dir = copyOf(neoxDir, 'neox-huge');
  editJson(path.join(dir, 'config.json'), (c) => (c.num_hidden_layers = 1_000_000_000));
  refusedUnchanged(dir, ['score', dir, '--tokens', tokens], /neox-huge\/config\.json: .*num_hidden_layers=1000000000/,
    /of memory, but this machine has/);
});

test('case 8: training a preset overridden to n_embd 1000000 is refused at once with the memory it would need', () => {
  const dir = probeDir('wide');
  const out = path.join(dir, 'out');
  const before = fingerprint(dir);
  const r = tinymem(['train', ...TINY_TRAIN, 'model.n_embd=1000000', 'model.n_head=1', '--out', out], QUICK);
  assertRefused(r,
    /model: training this model \(n_layer=1, n_embd=1000000, .*\) needs about .* TB of memory, but this machine has/,
    /make it smaller/);
  assert.ok(!fs.existsSync(out), 'nothing was written');
  assertUnchanged(dir, before, true);
});

test('case 8: weights whose header does not match config.json are refused before any tensor is read', () => {
  const dir = copyOf(neoxDir, 'neox-wider');
  editJson(path.join(dir, 'config.json'), (c) => (c.intermediate_size = 256));
  refusedUnchanged(dir, ['score', dir, '--tokens', tokens],
    new RegExp(/neox-wider\/model\.safetensors: /.source +
      /tensor "gpt_neox\.layers\.0\.mlp\.dense_(h_to_4h|4h_to_h)\.weight" /.source +
      /has shape \[\d+, \d+\] but config\.json \(.*intermediate_size=256.*\) needs /.source),
    /fix config\.json or re-export the weights/);
});

test('case 8: a weights file whose header adds a 4 TB tensor is refused from the header, before any data is read',
  () => {
    const dir = copyOf(gpt2Dir, 'gpt2-4tb');
    const file = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as
      Record<string, { data_offsets?: [number, number] }>;
    const end = Math.max(...Object.values(header).map((e) => e.data_offsets?.[1] ?? 0));
    const extra = 1e12; // F32 values: 4 TB
    header['transformer.h.0.attn.extra'] = { dtype: 'F32', shape: [extra],
      data_offsets: [end, end + 4 * extra] } as never;
    const text = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    fs.writeFileSync(file, Buffer.concat([len, text, bytes.subarray(8 + n)]));
    fs.truncateSync(file, 8 + text.length + end + 4 * extra); // sparse: no disk blocks
    // A 4 TB file cannot be hashed here: its size and modification time stand for it, the other files are hashed.
    const stat = fs.statSync(file);
    fs.renameSync(file, path.join(root, 'gpt2-4tb.safetensors'));
    const others = fingerprint(dir);
    fs.renameSync(path.join(root, 'gpt2-4tb.safetensors'), file);
    const r = tinymem(['score', dir, '--tokens', tokens], QUICK);
    assertRefused(r,
      new RegExp(/gpt2-4tb\/model\.safetensors: holding the weights' \d+ tensors \(1\.00e\+12 values\) in F32 /.source +
        /needs about 3\.6 TB of memory, but this machine has/.source));
    const now = fs.statSync(file);
    assert.equal(now.size, stat.size);
    assert.equal(now.mtimeMs, stat.mtimeMs, 'the weights file was not written');
    fs.renameSync(file, path.join(root, 'gpt2-4tb.safetensors'));
    assertUnchanged(dir, others, true);
    fs.rmSync(path.join(root, 'gpt2-4tb.safetensors'));
  });

test('case 8: config.json that is /dev/zero (a symlink) is refused, naming the file', () => {
  const dir = copyOf(gpt2Dir, 'gpt2-devzero');
  fs.rmSync(path.join(dir, 'config.json'));
  fs.symlinkSync('/dev/zero', path.join(dir, 'config.json'));
  refusedUnchanged(dir, ['score', dir, '--tokens', tokens],
    /gpt2-devzero\/config\.json: is a character device .*not a regular file/, /replace it with the real file/);
});

test('case 8: tokenizer.json that is /dev/zero is refused, naming the file', () => {
  const dir = copyOf(gpt2Dir, 'gpt2-tok-devzero');
  fs.rmSync(path.join(dir, 'tokenizer.json'));
  fs.symlinkSync('/dev/zero', path.join(dir, 'tokenizer.json'));
  refusedUnchanged(dir, ['eval', dir, '--text', text, '--threads', '1'], /tokenizer\.json: is a character device/,
    /replace it with the real file/);
});

test('case 8: a weights file that is a FIFO is refused instead of blocking', () => {
  const dir = copyOf(gpt2Dir, 'gpt2-fifo');
  fs.rmSync(path.join(dir, 'model.safetensors'));
  const mk = spawnSync('mkfifo', [path.join(dir, 'model.safetensors')]);
  assert.equal(mk.status, 0, 'mkfifo is available');
  refusedUnchanged(dir, ['score', dir, '--tokens', tokens],
    /gpt2-fifo\/model\.safetensors: is a named pipe \(FIFO\), not a regular file/, /replace it with the real file/);
});

test('case 8: --threads 100000 is refused before any work, naming the machine\'s cores', () => {
  const dir = probeDir('threads');
  const out = path.join(dir, 'out');
  const before = fingerprint(dir);
  const r = tinymem(
    ['train', ...TINY_TRAIN, '--out', out].map((a, i, all) => (all[i - 1] === '--threads' ? '100000' : a)), QUICK);
  assertRefused(r, new RegExp(`--threads: 100000 threads is more than this machine's ${machineCores()} CPU cores; ` +
    `use at most ${machineCores()}`));
  assert.ok(!fs.existsSync(out), 'nothing was written');
  assertUnchanged(dir, before, true);
  const s = tinymem(['score', gpt2Dir, '--tokens', tokens, '--threads', '100000'], QUICK);
  assertRefused(s, /--threads: 100000 threads is more than/);
});

// ---- case 9: 1 GB files are refused before they are read ---------------------------------------------------------

/** A 1 GB sparse file (no disk blocks used): reading it whole would take seconds and over 1 GB of memory. */
function sparse(file: string): string {
  fs.writeFileSync(file, '');
  fs.truncateSync(file, GB);
  return file;
}

test('case 9: a 1 GB token file is refused by size before reading', () => {
  const dir = path.join(root, 'big-tokens');
  fs.mkdirSync(dir);
  const f = sparse(path.join(dir, 'tokens.json'));
  refusedUnchanged(dir, ['score', gpt2Dir, '--tokens', f],
    /big-tokens\/tokens\.json: is 1\.0 GB, over the 256\.0 MB limit for a token file; tinymem uses at most/);
});

test('case 9: a 1 GB sequence file is refused by size before reading', () => {
  const dir = path.join(root, 'big-seq');
  fs.mkdirSync(dir);
  const f = sparse(path.join(dir, 'mem.jsonl'));
  refusedUnchanged(dir, ['eval', gpt2Dir, '--sequences', f, '--threads', '1'],
    /big-seq\/mem\.jsonl: is 1\.0 GB, over the 256\.0 MB limit for a token file/);
});

test('case 9: a 1 GB text file is refused by size before reading', () => {
  const dir = path.join(root, 'big-text');
  fs.mkdirSync(dir);
  const f = sparse(path.join(dir, 'ppl.txt'));
  refusedUnchanged(dir, ['eval', gpt2Dir, '--text', f, '--threads', '1'],
    /big-text\/ppl\.txt: is 1\.0 GB, over the 256\.0 MB limit for a text file; .*pass a smaller sample/);
});

test('case 9: a 1 GB tokenizer.json is refused by size before reading', () => {
  const dir = copyOf(gpt2Dir, 'gpt2-big-tok');
  sparse(path.join(dir, 'tokenizer.json'));
  refusedUnchanged(dir, ['eval', dir, '--text', text, '--threads', '1'],
    /gpt2-big-tok\/tokenizer\.json: is 1\.0 GB, over the 128\.0 MB limit for a tokenizer/,
    /restore the model's own tokenizer\.json/);
});

test('case 9: a 1 GB notebook is refused by size before reading', () => {
  const dir = path.join(root, 'big-nb');
  fs.mkdirSync(dir);
  const f = sparse(path.join(dir, 'big.tinymem'));
  refusedUnchanged(dir, ['run', f, '--out', path.join(dir, 'out.tinymem')],
    /big-nb\/big\.tinymem: is 1\.0 GB, over the 256\.0 MB limit for a notebook; clear large outputs/);
});

test('a notebook path that is a folder is refused naming the path, not with a raw EISDIR', () => {
  const dir = probeDir('nb-folder');
  fs.mkdirSync(path.join(dir, 'story.tinymem'));
  refusedUnchanged(dir, ['run', path.join(dir, 'story.tinymem')],
    /nb-folder\/story\.tinymem: is a folder, not a regular file; .*give the path of the file itself/);
  assert.doesNotMatch(tinymem(['run', path.join(dir, 'story.tinymem')], QUICK).stderr, /EISDIR/);
});

// ---- case 10: a catastrophic tokenizer pattern --------------------------------------------------------------------

test('case 10: a tokenizer.json whose pre-tokenizer backtracks catastrophically is stopped with the pattern named',
  () => {
    const dir = copyOf(gpt2Dir, 'gpt2-redos');
    const tok = tokenizerJson();
    tok.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
    const aaa = path.join(dir, 'aaa.txt');
    fs.writeFileSync(aaa, `${'a'.repeat(40)}b `.repeat(20));
    const before = fingerprint(dir);
    const r = tinymem(['eval', dir, '--text', aaa, '--threads', '1'], { timeout: 90_000 });
    assertRefused(r, /gpt2-redos\/tokenizer\.json: tokenizing 840 characters took more than 10 s and was stopped/,
      /"\(a\+\)\+\$"/, /fix the pattern/);
    assertUnchanged(dir, before, true);
  });

// ---- unclear messages ----------------------------------------------------------------------------------------------

test('--set seed=1e400 is refused as out of range, naming the key (not "got null")', () => {
  const out = path.join(root, 'seed-out');
  const r = tinymem(['train', ...TINY_TRAIN, 'seed=1e400', '--out', out], QUICK);
  assertRefused(r, /seed: 1e400 is out of range: numbers must be finite/);
  assert.doesNotMatch(r.stderr, /null/);
  assert.ok(!fs.existsSync(out));
});

test('a token 1e400 in a token file is named as out of range with the file and position', () => {
  const dir = path.join(root, 'tok-inf');
  fs.mkdirSync(dir);
  const f = path.join(dir, 'inf.json');
  fs.writeFileSync(f, '[[1, 2, 1e400]]');
  refusedUnchanged(dir, ['score', gpt2Dir, '--tokens', f],
    /tok-inf\/inf\.json: sequence 0, position 2: Infinity \(out of range: beyond the largest number/);
});

test('a UTF-8 BOM at the start of a JSON token file is accepted', () => {
  const dir = path.join(root, 'tok-bom');
  fs.mkdirSync(dir);
  const f = path.join(dir, 'bom.json');
  fs.writeFileSync(f, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[[1, 2, 3, 4]]')]));
  const before = fingerprint(dir);
  const r = tinymem(['score', gpt2Dir, '--tokens', f, '--json'], QUICK);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { loss: number[] }).loss.length, 1);
  assertUnchanged(dir, before, true);
});

test('a tokenizer id outside the model\'s vocabulary names tokenizer.json, the text file and the id', () => {
  const dir = path.join(root, 'gpt2-small-vocab');
  const g = gpt2RawConfig({ vocab: 100 });
  writeGpt2Folder(dir, g, randomGpt2Params(g, 3));
  assert.ok(TOKENIZER_VOCAB > 100, 'the tokenizer has more ids than the model');
  refusedUnchanged(dir, ['eval', dir, '--text', text, '--threads', '1'],
    new RegExp(/gpt2-small-vocab\/tokenizer\.json: turns .*text\.txt into token id \d+ \(token \d+\), /.source +
      /outside this model's vocabulary \(0 … 99/.source), /copy the model's own tokenizer\.json/);
});

// ---- the out-of-memory case: fine-tuning on a language model ------------------------------------------------------

test('OOM: fine-tuning a language checkpoint uses each clean twin once and the checkpoint\'s training batch ' +
  'size', () => {
  // cpu-language-noise, as trained: 15 noised chunks duplicated ×1/×10/×100 among 215 training chunks of 100 tokens.
  const preset = resolvePreset('cpu-language-noise');
  const data = tinymemDataset(presetDataSpec(preset));
  const planted = data.artifacts.tokens.rows;
  let visits = 0;
  for (let i = 0; i < planted; i++) visits += data.train.repeats[data.artifacts.trainRow[i]!]!;
  assert.ok(visits > planted, 'the planted chunks are duplicated in training');
  const clean = fineTuneRows(data, 'clean');
  // The reference fine-tunes on each clean twin once, whatever its duplication factor (spec §4.B).
  assert.equal(clean.rows, planted, 'one row per planted sequence, not one per visit');
  assert.ok(clean.rows < 1000, `a small set: ${clean.rows} rows`);
  assert.equal(clean.cols, 100);
  assert.equal(clean.data.length, clean.rows * clean.cols, 'no hidden copy of the whole data set');
  // The batch: the checkpoint's own (16 here), not the paper's 128, unless the user asks.
  const manifest = { train: { ...preset.train } };
  assert.equal(checkMitigation('ft-clean', {}, manifest).hp.batchSize, preset.train.batchSize);
  assert.equal(checkMitigation('ft-both', undefined, manifest).hp.batchSize, preset.train.batchSize);
  assert.equal(checkMitigation('ft-clean', { batchSize: '64' }, manifest).hp.batchSize, 64);
  assert.equal(checkMitigation('ft-clean', {}, {}).hp.batchSize, 128, 'no training record: the paper\'s default');
  // A batch whose step cannot fit any machine is refused with the batch size to use, before training starts.
  const config = presetModelConfig(preset);
  assert.throws(() => checkFineTuneMemory(config, 65_536, 100),
    new RegExp(/batchSize: fine-tuning this model \(n_layer=2, .*vocab_size=50257.*; /.source +
      /batches of 65536 rows of 100 tokens\) needs about .* of memory, but this machine has .*; /.source +
      /use batches of at most \d+ rows \(--set batchSize=\d+\)/.source));
  assert.doesNotThrow(() => checkFineTuneMemory(config, 1, 100), 'one row fits');
});
