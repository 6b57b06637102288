// Neural-network ops: Softmax, LogSoftmax, LayerNorm and the softmax cross-entropy loss.
import * as F from '../api';
import type { Tensor } from '../ir';
import { defineOp } from '../registry';
import { ShapeError, normAxis } from '../shape';
import { requireFloat, requireSameDType, spec, unbroadcast } from './helpers';

for (const name of ['Softmax', 'LogSoftmax'] as const) {
  defineOp(name, {
    infer: ([x], a) => {
      requireFloat(name, x!);
      normAxis(name, a.axis as number, x!.rank);
      return [spec(x!.dtype, x!.shape)];
    },
    lower: (ctx, n) => ctx.emit(name, [ctx.name(n.inputs[0]!)], [ctx.name(n.outputs[0]!)],
      { axis: { i: normAxis(name, n.attrs.axis as number, n.inputs[0]!.rank) } }),
    vjp: (n, [g]) => {
      const y = n.outputs[0]!;
      const axis = [n.attrs.axis as number];
      // softmax: y ⊙ (g − Σ g⊙y);  log-softmax: g − softmax ⊙ Σ g
      if (name === 'Softmax') return [F.mul(y, F.sub(g!, F.reduceSum(F.mul(g!, y), axis, true)))];
      return [F.sub(g!, F.mul(F.exp(y), F.reduceSum(g!, axis, true)))];
    },
  });
}

// Outputs: y, and the per-row mean and 1/σ (shape [..., 1]) kept for the backward pass.
defineOp('LayerNorm', {
  infer: ([x, scale, bias]) => {
    requireFloat('LayerNorm', x!);
    const d = requireSameDType('LayerNorm', [x!, scale!, bias!]);
    const c = x!.shape[x!.rank - 1]!;
    for (const p of [scale!, bias!]) {
      if (p.rank !== 1 || p.shape[0] !== c) throw new ShapeError('LayerNorm',
        `${p} should be [${c}] to normalize ${x}`);
    }
    const stat = [...x!.shape.slice(0, -1), 1];
    return [spec(d, x!.shape), spec(d, stat), spec(d, stat)];
  },
  lower: (ctx, n) => {
    const x = n.inputs[0]!;
    const names = n.outputs.map((t) => ctx.name(t));
    if (x.dtype === 'float32') {
      ctx.emit('LayerNormalization', n.inputs.map((t) => ctx.name(t)), names,
        { axis: { i: -1 }, epsilon: { f: n.attrs.epsilon as number } });
      return;
    }
    // ORT's CPU LayerNormalization kernel is float32-only: float64 graphs (gradient checks) spell it out.
    const [y, mean, invStd] = names as [string, string, string];
    const last = ctx.int64([-1]);
    const keep = { keepdims: { i: 1 } };
    const [xc, var_, std] = [ctx.fresh('xc'), ctx.fresh('var'), ctx.fresh('std')];
    const [sq, vEps, xhat, scaled] = [ctx.fresh('sq'), ctx.fresh('veps'), ctx.fresh('xhat'), ctx.fresh('scaled')];
    ctx.emit('ReduceMean', [ctx.name(x), last], [mean], keep);
    ctx.emit('Sub', [ctx.name(x), mean], [xc]);
    ctx.emit('Mul', [xc, xc], [sq]);
    ctx.emit('ReduceMean', [sq, last], [var_], keep);
    ctx.emit('Add', [var_, ctx.constant(x.dtype, [], [n.attrs.epsilon as number])], [vEps]);
    ctx.emit('Sqrt', [vEps], [std]);
    ctx.emit('Reciprocal', [std], [invStd]);
    ctx.emit('Mul', [xc, invStd], [xhat]);
    ctx.emit('Mul', [xhat, ctx.name(n.inputs[1]!)], [scaled]);
    ctx.emit('Add', [scaled, ctx.name(n.inputs[2]!)], [y]);
  },
  vjp: (n, [g]) => {
    const [x, scale, bias] = n.inputs as [Tensor, Tensor, Tensor];
    const [, mean, invStd] = n.outputs as [Tensor, Tensor, Tensor];
    const xhat = F.mul(F.sub(x, mean), invStd);
    const dxhat = F.mul(g!, scale);
    const last = [-1];
    const dx = F.mul(invStd,
      F.sub(F.sub(dxhat, F.reduceMean(dxhat, last, true)), F.mul(xhat, F.reduceMean(F.mul(dxhat, xhat), last, true))));
    return [dx, unbroadcast(F.mul(g!, xhat), scale.shape), unbroadcast(g!, bias.shape)];
  },
});

// Outputs: per-row loss [N] (0 for ignored rows) and the log-probabilities [N, C] kept for the backward pass.
defineOp('SoftmaxCrossEntropy', {
  infer: ([logits, labels]) => {
    requireFloat('SoftmaxCrossEntropy', logits!);
    if (logits!.rank !== 2 || labels!.rank !== 1 || labels!.shape[0] !== logits!.shape[0]
      || labels!.dtype !== 'int64') {
      throw new ShapeError('SoftmaxCrossEntropy',
        `needs logits [N, C] and int64 labels [N], got ${logits} and ${labels}`);
    }
    return [spec(logits!.dtype, [logits!.shape[0]!]), spec(logits!.dtype, logits!.shape)];
  },
  lower: (ctx, n) => {
    const [logits, labels] = n.inputs.map((t) => ctx.name(t)) as [string, string];
    const [loss, logProb] = n.outputs.map((t) => ctx.name(t)) as [string, string];
    const ignore = n.attrs.ignoreIndex as number;
    if (n.inputs[0]!.dtype === 'float32') {
      return ctx.emit('SoftmaxCrossEntropyLoss', [logits, labels], [loss, logProb],
        { reduction: { s: 'none' }, ignore_index: { i: ignore } });
    }
    // ORT's kernel is float32-only: float64 graphs (gradient checks) pick −log p(label) by hand.
    const [isIgnored, safe, safe2, picked, pickedFlat, negPicked] = ['ign', 'safe', 'safe2', 'pick', 'pickf',
      'negp'].map((h) => ctx.fresh(h)) as string[];
    ctx.emit('LogSoftmax', [logits], [logProb], { axis: { i: 1 } });
    ctx.emit('Equal', [labels, ctx.int64([ignore], true)], [isIgnored!]);
    ctx.emit('Where', [isIgnored!, ctx.int64([0], true), labels], [safe!]);
    ctx.emit('Unsqueeze', [safe!, ctx.int64([1])], [safe2!]);
    ctx.emit('GatherElements', [logProb, safe2!], [picked!], { axis: { i: 1 } });
    ctx.emit('Reshape', [picked!, ctx.int64([-1])], [pickedFlat!]);
    ctx.emit('Neg', [pickedFlat!], [negPicked!]);
    ctx.emit('Where', [isIgnored!, ctx.constant('float64', [], [0]), negPicked!], [loss]);
  },
  vjp: (n, [g]) => {
    const [logits, labels] = n.inputs as [Tensor, Tensor];
    const logProb = n.outputs[1]!;
    const C = logits.shape[1]!;
    const valid = F.not(F.equal(labels, F.scalar(labels.graph, n.attrs.ignoreIndex as number, 'int64')));
    const safe = F.where(valid, labels, F.scalar(labels.graph, 0, 'int64'));
    const rowScale = F.unsqueeze(F.where(valid, g!, 0), 1);
    return [F.mul(F.sub(F.exp(logProb), F.oneHot(safe, C, logits.dtype)), rowScale), null];
  },
});
