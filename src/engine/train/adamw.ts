// AdamW as graph ops, so that forward, backward and the optimizer update are one ONNX graph and one `run` per step.
// Semantics of torch.optim.AdamW (single-tensor path): decoupled weight decay first, then the Adam update with bias
// corrections. The scalar factors (bias corrections, lr·wd) are computed in the parameters' dtype: float32 for
// training (WebGPU has no float64, and a float64 scalar chain would run on the CPU and cost two copies per step; it
// differs from PyTorch's Python-float scalars by float32 rounding, ~1e-7 relative), float64 in gradient checks.
import { F, type Tensor } from '../graph/index';
import type { AdamWHyperParams } from '../../shared/engineMessages';

export interface AdamWOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

/** TinyMem's settings (spec §2.2): lr 1e-3, betas (0.9, 0.98), eps 1e-8 (PyTorch's), weight decay 0.1. */
export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = Object.freeze(
  { lr: 1e-3, betas: [0.9, 0.98] as const, eps: 1e-8, weightDecay: 0.1 });

/** Fills in defaults and rejects values PyTorch would reject, naming the field. */
export function resolveAdamW(hp: AdamWHyperParams = {}): AdamWOptions {
  const o: AdamWOptions = {
    lr: hp.lr ?? ADAMW_DEFAULTS.lr,
    betas: hp.betas ?? ADAMW_DEFAULTS.betas,
    eps: hp.eps ?? ADAMW_DEFAULTS.eps,
    weightDecay: hp.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
  };
  const check = (field: string, v: number, ok: boolean) => {
    if (!Number.isFinite(v) || !ok) throw new RangeError(`AdamW: invalid ${field} ${v}`);
  };
  check('lr', o.lr, o.lr >= 0);
  check('betas[0]', o.betas[0], o.betas[0] >= 0 && o.betas[0] < 1);
  check('betas[1]', o.betas[1], o.betas[1] >= 0 && o.betas[1] < 1);
  check('eps', o.eps, o.eps >= 0);
  check('weightDecay', o.weightDecay, o.weightDecay >= 0);
  return o;
}

export interface AdamWState {
  m: Tensor[];
  v: Tensor[];
}

/**
 * One AdamW update of every parameter, traced into the parameters' graph:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − lr/(1−β1^t) · m / (√v / √(1−β2^t) + eps)
 * `step` is t (a scalar float tensor, 1 on the first step). `hp.lr` may be a scalar tensor (a graph input), so that a
 * learning-rate schedule needs no recompilation.
 */
export function adamwUpdate(
  params: readonly Tensor[],
  grads: readonly Tensor[],
  state: AdamWState,
  step: Tensor,
  hp: Omit<AdamWHyperParams, 'lr'> & { lr?: number | Tensor } = {},
): { params: Tensor[]; m: Tensor[]; v: Tensor[] } {
  const n = params.length;
  if (grads.length !== n || state.m.length !== n || state.v.length !== n) {
    throw new Error(`adamwUpdate: ${n} params, ${grads.length} grads, ${state.m.length} m and ${state.v.length} v`);
  }
  if (step.size !== 1) throw new Error(`adamwUpdate: step must be a scalar, got ${step}`);
  const { lr: lrHp, ...rest } = hp;
  const o = resolveAdamW({ ...rest, lr: typeof lrHp === 'number' ? lrHp : undefined });
  const [b1, b2] = o.betas;

  // Scalars in the parameters' dtype (float64 if any parameter is), shared by all parameters.
  const g = step.graph;
  const sd = params.some((p) => p.dtype === 'float64') ? 'float64' : 'float32';
  const t = F.reshape(F.cast(step, sd), []);
  const lr = lrHp !== undefined && typeof lrHp !== 'number' ? F.reshape(F.cast(lrHp, sd), [])
    : F.scalar(g, o.lr, sd);
  const decay = F.sub(1, F.mul(lr, o.weightDecay));
  const stepSize = F.div(lr, F.sub(1, F.pow(b1, t)));
  const bc2Sqrt = F.sqrt(F.sub(1, F.pow(b2, t)));
  const asDType = new Map<string, { decay: Tensor; stepSize: Tensor; bc2Sqrt: Tensor }>();
  const scalarsFor = (p: Tensor) => {
    let s = asDType.get(p.dtype);
    if (!s) {
      s = { decay: F.cast(decay, p.dtype), stepSize: F.cast(stepSize, p.dtype), bc2Sqrt: F.cast(bc2Sqrt, p.dtype) };
      asDType.set(p.dtype, s);
    }
    return s;
  };

  const out = { params: [] as Tensor[], m: [] as Tensor[], v: [] as Tensor[] };
  for (let i = 0; i < n; i++) {
    const p = params[i]!;
    const grad = grads[i]!;
    for (const [what, x] of [['grad', grad], ['m', state.m[i]!], ['v', state.v[i]!]] as const) {
      if (x.dtype !== p.dtype || x.shape.join() !== p.shape.join()) throw new Error(
        `adamwUpdate: ${what} ${x} does not match parameter ${p}`);
    }
    const s = scalarsFor(p);
    const decayed = o.weightDecay === 0 ? p : F.mul(p, s.decay);
    const m = F.add(F.mul(state.m[i]!, b1), F.mul(grad, 1 - b1));
    const v = F.add(F.mul(state.v[i]!, b2), F.mul(F.mul(grad, grad), 1 - b2));
    const denom = F.add(F.div(F.sqrt(v), s.bc2Sqrt), o.eps);
    out.params.push(F.sub(decayed, F.mul(F.div(m, denom), s.stepSize)));
    out.m.push(m);
    out.v.push(v);
  }
  return out;
}
