// The causal language-modelling loss (Hugging Face's: each position predicts the next token, the last position
// predicts nothing) built only from float ops that every execution provider runs. WebGPU has no int64 arithmetic
// (Slice, Concat, Equal, Where of int64 tensors), no LogSoftmax and no SoftmaxCrossEntropyLoss kernel, so the usual
// crossEntropy(logits, nextTokenTargets(tokens)) sends the targets and the loss to the CPU every step. Here the
// int64 tokens are only ever Gather indices: Gather(arange(V), tokens) turns them into exact float32 class numbers
// (exact below 2^24), the shift is a float Slice, and the target's log-probability is picked by a float Equal
// against arange(V). The log-softmax is spelled out (x − max − log Σ exp(x − max), the max held constant for the
// gradient, where it cancels). Same values as the fused kernel up to float32 rounding.
import { F, type Tensor } from '../graph/index';

/**
 * Next-token cross-entropy of `logits` [..., T, V] against int64 `tokens` [..., T] (tokens may have fewer leading
 * axes than the logits: they are then the same for every index of the extra ones): 'token' gives the per-token loss
 * [..., T] (0 at the last position, which has no target), 'sequence' each sequence's mean over its T − 1 predicted
 * positions [...], 'mean' the mean over all predicted positions (a scalar).
 */
export function nextTokenLoss(logits: Tensor, tokens: Tensor, reduction: F.CrossEntropyReduction = 'mean'): Tensor {
  const r = logits.rank - 1; // the loss's rank
  const T = tokens.shape[tokens.rank - 1]!;
  const V = logits.shape[r]!;
  const extra = r - tokens.rank;
  if (tokens.dtype !== 'int64' || extra < 0 || tokens.shape.some((d, i) => d !== logits.shape[extra + i])) {
    throw new Error(`nextTokenLoss: logits ${logits} do not match int64 tokens ${tokens}`);
  }
  const g = logits.graph;
  let perToken: Tensor;
  if (T < 2) {
    perToken = F.mul(F.reduceSum(logits, [-1]), 0); // nothing to predict: a zero loss, still a function of the logits
  } else {
    const classes = F.constant(g, [...Array(V).keys()], logits.dtype, [V]);
    const targets = F.slice(F.gather(classes, tokens), [1], [T], [tokens.rank - 1]); // [..., T − 1], float classes
    const x = F.slice(logits, [0], [T - 1], [r - 1]); // [..., T − 1, V]
    const z = F.sub(x, F.stopGradient(F.reduceMax(x, [-1], true)));
    const lse = F.log(F.reduceSum(F.exp(z), [-1]));
    const picked = F.reduceSum(F.where(F.equal(F.unsqueeze(targets, -1), classes), z, 0), [-1]);
    const loss = F.sub(lse, picked);
    perToken = F.pad(loss, [...Array<number>(2 * r - 1).fill(0), 1]); // the last position: 0
  }
  if (reduction === 'token') return perToken;
  const counted = Math.max(1, T - 1);
  if (reduction === 'sequence') return F.div(F.reduceSum(perToken, [r - 1]), counted);
  return F.div(F.reduceSum(perToken), counted * (perToken.size / T));
}

/** log softmax over the last axis, spelled out as above (WebGPU has no LogSoftmax kernel). */
export function logSoftmax(x: Tensor): Tensor {
  const z = F.sub(x, F.stopGradient(F.reduceMax(x, [-1], true)));
  return F.sub(z, F.log(F.reduceSum(F.exp(z), [-1], true)));
}
