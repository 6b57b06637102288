// Loss truncation (spec §4.A; after Kang & Hashimoto 2020): sequences whose LM loss is unusually high are dropped from
// the training loss. A ring buffer keeps the last 10,000 per-sequence losses (mean token cross-entropy per row);
// until it is full nothing is dropped; then the cutoff is the (1 − dropc)·100th percentile of the buffer (linear
// interpolation, as numpy's default), recomputed every 10,000 losses, and sequences with loss ≥ cutoff get weight 0.
// The batch loss is mean(loss·keep) over the FULL batch (dropped rows still count in the denominator).
//
// The step is one graph, so the batch's own losses are not known on the host before its update: the cutoff a step
// uses is the one computed from the losses of earlier steps, and each batch's losses (an extra output of the step)
// enter the buffer after it. The reference folds the current batch into the buffer before masking; the two differ
// only in the one batch at which a recomputation happens (≤ batch size of 10,000 losses), and the first cutoff takes
// effect on the batch after the buffer fills.
import { F } from '../../graph/index';
import { gpt2SequenceLosses } from '../../model/gpt2';
import { registerMethod } from '../registry';
import type { RegularizerContext, TrainingRegularizer } from '../types';
import { gpt2ConfigOf } from './common';

/** numpy.percentile(values, q) with linear interpolation, q in [0, 100]. */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  const s = Float64Array.from(values).sort();
  const rank = (q / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (rank - lo) * (s[hi]! - s[lo]!);
}

/** The ring buffer of recent per-sequence losses and the cutoff derived from it (host state of one training run). */
export class LossDropper {
  private readonly buf: Float64Array;
  private next = 0;
  private sinceRecompute = 0;
  /** Losses recorded so far. */
  seen = 0;
  /** Losses ≥ cutoff are dropped; +∞ until the buffer has been filled once (or when dropc is 0). */
  cutoff = Infinity;

  constructor(
    readonly dropc: number,
    readonly capacity = 10_000,
    readonly recomputeEvery = capacity,
  ) {
    if (!(dropc >= 0 && dropc < 1)) throw new RangeError(`dropc must lie in [0, 1), got ${dropc}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(
      `capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(recomputeEvery) || recomputeEvery < 1) throw new RangeError(
      `recomputeEvery must be a positive integer, got ${recomputeEvery}`);
    this.buf = new Float64Array(capacity);
  }

  /** 1 = kept, 0 = dropped, for a batch's losses under the current cutoff (what the step graph computes). */
  mask(losses: ArrayLike<number>): Uint8Array {
    const cut = Math.fround(this.cutoff); // the graph compares in float32
    return Uint8Array.from({ length: losses.length }, (_, i) => (losses[i]! < cut ? 1 : 0));
  }

  /** Adds a batch's losses to the ring buffer; recomputes the cutoff once the buffer is full and due. */
  record(losses: ArrayLike<number>): void {
    for (let i = 0; i < losses.length; i++) {
      this.buf[this.next] = losses[i]!;
      this.next = (this.next + 1) % this.capacity;
    }
    this.seen += losses.length;
    this.sinceRecompute += losses.length;
    const due = this.cutoff === Infinity || this.sinceRecompute >= this.recomputeEvery;
    if (this.dropc > 0 && this.seen >= this.capacity && due) {
      this.cutoff = percentile(this.buf, (1 - this.dropc) * 100);
      this.sinceRecompute = 0;
    }
  }
}

const CUTOFF = 'loss-truncation:cutoff';
const LOSSES = 'loss-truncation:losses';

function create(ctx: RegularizerContext): TrainingRegularizer {
  const c = gpt2ConfigOf('loss-truncation', ctx);
  const dropper = new LossDropper(ctx.hp.dropc as number);
  let used = Infinity; // the cutoff fed to the latest step
  let dropped = 0;
  return {
    key: 'loss-truncation',
    batchSpec: () => ({ [CUTOFF]: { dtype: 'float32', shape: [] } }),
    // The model's own loss is replaced: the same LM loss, but per sequence so that rows can be dropped.
    loss: () => (g, P, b) => {
      const perSeq = gpt2SequenceLosses(c, P, b.tokens!);
      const keep = F.cast(F.less(F.stopGradient(perSeq), b[CUTOFF]!), 'float32');
      const loss = F.div(F.reduceSum(F.mul(perSeq, keep)), F.scalar(g, perSeq.shape[0]!));
      return { loss, outputs: { [LOSSES]: perSeq } };
    },
    feeds() {
      used = dropper.cutoff;
      return { [CUTOFF]: Float32Array.of(used) };
    },
    afterStep(outputs) {
      const losses = outputs[LOSSES] as Float32Array;
      for (const x of losses) if (!(x < Math.fround(used))) dropped++;
      dropper.record(losses);
    },
    summary: () => ({ seen: dropper.seen, dropped, cutoff: Number.isFinite(dropper.cutoff) ? dropper.cutoff : -1 }),
  };
}

registerMethod({
  id: 'loss-truncation',
  name: 'Loss truncation',
  family: 'regularizer',
  description: 'Drops from the loss the sequences whose loss is in the top dropc fraction of the last 10,000 ' +
    'per-sequence losses (once 10,000 have been seen).',
  edits: 'Training from scratch (all weights)',
  novel: false,
  hyperParams: [
    {
      name: 'dropc',
      type: 'number',
      default: 0.4,
      min: 0,
      max: 0.99,
      grid: [0.01, 0.05, 0.1],
      description: 'Fraction of sequences dropped: those at or above the (1 − dropc) percentile of recent losses. ' +
        'Our default 0.4 is the reference CLI\u2019s default, outside the paper\u2019s sweep {0.01, 0.05, 0.1}.',
    },
  ],
  create,
});
