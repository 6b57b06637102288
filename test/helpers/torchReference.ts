// Runs ../shared/bench/torch_reference.py (the independent PyTorch implementation). test/setup.sh installs torch;
// without it the parity checks are skipped on a developer's machine (the skip says why) but fail under CI=true.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const TORCH_REFERENCE = path.resolve(__dirname, '../../../shared/bench/torch_reference.py');
export const TORCH_PYTHON = process.env.TORCH_PYTHON ?? '/usr/bin/python3';

/** Why the reference cannot run here, or null when it can. */
export function torchUnavailable(): string | null {
  if (!fs.existsSync(TORCH_REFERENCE)) return `${TORCH_REFERENCE} not found`;
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0) return `torch is not installed for ${TORCH_PYTHON} (apt-get install python3-torch ` +
    `libopenblas0-pthread)`;
  return null;
}

/**
 * Why the PyTorch parity checks are skipped here, or false when they run. Under CI=true a missing torch is no reason
 * to skip: the checks run and fail naming what to install, so a CI run never counts an unchecked parity as passed.
 */
export function torchSkip(): string | false {
  const why = torchUnavailable();
  return why && process.env.CI !== 'true' ? why : false;
}

/** Throws, naming what to install, when the reference cannot run. */
export function requireTorch(): void {
  const why = torchUnavailable();
  if (why) throw new Error(`the PyTorch parity check cannot run: ${why}; run \`bash test/setup.sh\``);
}

/** `torch_reference.py score` on a checkpoint folder: per-sequence loss and, with `generate`, greedy continuations. */
export function torchScore(modelDir: string, seqs: number[][], opts: { promptLen?: number; generate?: number } = {}): {
  loss: number[]; greedy?: number[][]; } {
  requireTorch();
  const file = path.join(modelDir, 'seqs.json');
  fs.writeFileSync(file, JSON.stringify(seqs));
  const args = [TORCH_REFERENCE, 'score', '--model', modelDir, '--tokens', file, '--threads', '1'];
  if (opts.generate) args.push('--prompt-len', String(opts.promptLen ?? 50), '--generate', String(opts.generate));
  const r = spawnSync(TORCH_PYTHON, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_reference.py score failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
