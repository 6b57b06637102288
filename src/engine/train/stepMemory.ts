// What one training step holds in memory, estimated before training starts, so that a batch or a model too large
// for the machine is refused with the figures instead of growing until the kernel kills the process.
import { assertFitsMemory, machineMemory } from '../io/machine';
import type { ModelConfig } from '../model/architecture';
import { parameterCount, sizeFields } from '../model/sizeCheck';
import { trainingBytesPerRow } from '../methods/neuron/common';

/**
 * Bytes one training step holds per row: the graph's activations and the cross-entropy's [tokens, vocab]
 * temporaries. Measured on the cpu-language-noise model (vocabulary 50,257, 100 tokens; peak resident memory with
 * /usr/bin/time, evaluation sessions still cached): fine-tuning batch 16 peaked at 5.4 GB, batch 32 at 8.3 GB, i.e.
 * ~180 MB per row (2.1 × trainingBytesPerRow); 2.6× keeps a margin. The paper's batch of 128 on that model needed
 * over 24 GB and was killed by the kernel before this check existed.
 */
export const stepBytesPerRow = (c: ModelConfig, cols: number): number => 2.6 * trainingBytesPerRow(c, cols);

/** Weights, gradients, two AdamW moments and the updated copies: six F32 copies of the parameters. */
export const optimizerBytes = (c: ModelConfig): number => 6 * 4 * parameterCount(c);

/** The most rows per batch that fit this machine (0 when not even one does). */
export function rowsThatFit(c: ModelConfig, cols: number): number {
  return Math.max(0, Math.floor((machineMemory() * 0.8 - optimizerBytes(c)) / stepBytesPerRow(c, cols)));
}

/**
 * Refuses a training step of `rows` rows of `cols` tokens that would not fit in memory. `field` is the setting to
 * change; `batchHint(n)` says how to ask for a batch of n rows.
 */
export function assertTrainStepFits(field: string, c: ModelConfig, rows: number, cols: number, what: string,
  batchHint: (n: number) => string): void {
  const fits = rowsThatFit(c, cols);
  assertFitsMemory(field, optimizerBytes(c) + rows * stepBytesPerRow(c, cols),
    `${what} (${sizeFields(c)}; batches of ${rows} rows of ${cols} tokens)`,
    fits >= 1 ? `use batches of at most ${fits} rows (${batchHint(Math.min(fits, 16))})`
    : 'this model is too large to train on this machine: make it smaller');
}
