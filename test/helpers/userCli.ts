// The CLI as a user calls it, for the reliability probes: run `tinymem …` in a child process, fingerprint every file
// under a folder (sha256), and check that a refused or failed run left all of them unchanged.
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/tinymem.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `tinymem ARGS` in a child process (2-minute limit unless given). */
export function tinymem(args: readonly string[], o: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, ...o });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the process exits (tests clean up after themselves). */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tinymem-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** sha256 of every regular file under `root` (relative paths), plus the symlinks' targets. */
export function fingerprint(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (e.isSymbolicLink()) out.set(rel, `-> ${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(rel, crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

/** Every file that was under `root` is still there with the same bytes (new files are allowed unless `exact`). */
export function assertUnchanged(root: string, before: Map<string, string>, exact = false): void {
  const now = fingerprint(root);
  for (const [rel, hash] of before) {
    assert.ok(now.has(rel), `${rel} was removed`);
    assert.equal(now.get(rel), hash, `${rel} was changed`);
  }
  if (exact) assert.deepEqual([...now.keys()].sort(), [...before.keys()].sort(), 'no file was added');
}

/** A failed run: non-zero exit, stderr matching every pattern, no stack trace. */
export function assertRefused(r: CliResult, ...patterns: RegExp[]): void {
  assert.notEqual(r.code, 0, `expected a failure, got exit 0:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.signal, null, `ended by ${r.signal}, not a clean exit:\n${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace:\n${r.stderr}`);
}

/** The tiny training preset of the CLI tests (seconds on one thread); `--set` is variadic, more key=value may
 * follow. */
export const TINY_TRAIN = ['--threads', '1', '--preset', 'cpu-math-noise', '--set', 'model.n_layer=1',
  'model.n_embd=16', 'model.n_head=2',
  'data.numMain=300', 'data.numExtra=40', 'data.numTest=20', 'data.numNoise=20', 'train.batchSize=32'];
