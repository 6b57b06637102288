// The edge-popup step on a device (WebGPU): the whole step in one graph, so that the weights, scores and momentum
// stay on the device between steps and only the tokens go in and the objective comes out. The mask is traced from
// the scores (traceMask: TopK over each matrix's |score|, the same pruned set as fillKeepMask on the host) and the
// SGD update is traced too (sgdMomentumUpdate, the same operations as sgdMomentumStepInPlace). The weights are
// copied to the device once (Runtime.toDevice); the scores come back to the host once, at the end, for the masks.
//
// The host path in edgePopup.ts stays for the CPU and for large models: there the update in place and host masks keep
// memory at one copy of each array, and a batch may run in several graph runs.
import { Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { type ModelConfig, configKey, countParams, declareParams, paramShapes } from '../../model/architecture';
import { DEVICE_PROVIDERS, LARGE_MODEL_INPUT_BYTES, type Runtime } from '../../runtime/session';
import { StepState, float32Tensors, stateOutputs } from '../../runtime/stepState';
import { type SgdOptions, sgdMomentumUpdate, subnetMatrices, subnetNames, subnetObjective, traceMask }
  from './edgePopup';

const names = {
  buf: (n: string) => `buf:${n}`,
} as const;

/** Whether trainSubnet takes the device path: a device provider comes first and the model is not large. */
export function usesDeviceStep(rt: Runtime, c: ModelConfig): boolean {
  return DEVICE_PROVIDERS.includes(rt.providers[0]!) && 4 * countParams(c) <= LARGE_MODEL_INPUT_BYTES;
}

/**
 * One whole edge-popup step for `rows` × `cols` tokens. Inputs: the model's weights, `score:NAME` and `buf:NAME` per
 * MLP matrix, `tokens`, `coef`, and the SGD scalars `sgd:lr`, `sgd:momentum`, `sgd:wd`. Outputs: `new:score:NAME`,
 * `new:buf:NAME`, the objective `loss` and the per-sequence losses `rowLoss`.
 */
export function buildSubnetDeviceStep(c: ModelConfig, rows: number, cols: number,
  pruned: ReadonlyMap<string, number>) {
  const g = new Graph();
  const P = declareParams(g, c);
  const mats = subnetMatrices(c);
  const scores = mats.map((m) => g.input(subnetNames.score(m.name), 'float32', m.shape));
  const bufs = mats.map((m) => g.input(names.buf(m.name), 'float32', m.shape));
  const tokens = g.input('tokens', 'int64', [rows, cols]);
  const coef = g.input('coef', 'float32', [rows]);
  const hp = { lr: g.input('sgd:lr', 'float32', []), momentum: g.input('sgd:momentum', 'float32', []),
    weightDecay: g.input('sgd:wd', 'float32', []) };
  const { loss, rowLoss } = subnetObjective(c, P, mats,
    mats.map((m, i) => traceMask(scores[i]!, pruned.get(m.name) ?? 0)), tokens, coef);
  const upd = sgdMomentumUpdate(scores, gradients(loss, scores), bufs, hp);
  const outputs: Record<string, Tensor> = { loss, rowLoss };
  mats.forEach((m, i) => {
    outputs[`new:${subnetNames.score(m.name)}`] = upd.params[i]!;
    outputs[`new:${names.buf(m.name)}`] = upd.bufs[i]!;
  });
  return compileGraph(g, outputs, 'subnet-device-step');
}

/** Scores and momentum of one run, on the device after the first step; the weights uploaded once. */
export class DeviceSubnet {
  private constructor(private readonly rt: Runtime, private readonly st: StepState, readonly c: ModelConfig,
    readonly pruned: ReadonlyMap<string, number>, readonly sgd: SgdOptions) {}

  static async create(rt: Runtime, c: ModelConfig, params: ReadonlyMap<string, Float32Array>,
    init: ReadonlyMap<string, Float32Array>, pruned: ReadonlyMap<string, number>, sgd: SgdOptions):
  Promise<DeviceSubnet> {
    const mats = subnetMatrices(c);
    const f32 = (shape: readonly number[], data: Float32Array) => ({ dtype: 'float32' as const, shape, data });
    const state = Object.fromEntries(mats.flatMap((m) => [
      [subnetNames.score(m.name), f32(m.shape, init.get(m.name)!)],
      [names.buf(m.name), f32(m.shape, new Float32Array(m.shape[0] * m.shape[1]))],
    ]));
    const st = await StepState.create(rt, { constants: float32Tensors(paramShapes(c), params), state });
    return new DeviceSubnet(rt, st, c, pruned, sgd);
  }

  /** One step on a batch; returns the objective. A non-finite objective leaves the state as it was. */
  async step(tokens: BigInt64Array, coef: Float32Array, cols: number): Promise<number> {
    const rows = coef.length;
    const ratioKey = [...this.pruned.values()].join(',');
    const session = await this.rt.session(`methods:subnet-device-step:${configKey(this.c)}:${rows}x${cols}:` +
      ratioKey, () => buildSubnetDeviceStep(this.c, rows, cols, this.pruned), { deviceOutputs: stateOutputs });
    const r = await session.run({ ...this.st.feeds(), tokens, coef, 'sgd:lr': Float32Array.of(this.sgd.lr),
      'sgd:momentum': Float32Array.of(this.sgd.momentum), 'sgd:wd': Float32Array.of(this.sgd.weightDecay) });
    const loss = (r.outputs.loss as Float32Array)[0]!;
    if (Number.isFinite(loss)) this.st.accept(r);
    else StepState.discard(r);
    return loss;
  }

  /** The scores on the host, copied from the device once (at the end of a run). */
  async hostScores(): Promise<Map<string, Float32Array>> {
    const names = subnetMatrices(this.c).map((m) => m.name);
    const host = await this.st.host(names.map(subnetNames.score));
    return new Map(names.map((n) => [n, host[subnetNames.score(n)] as Float32Array]));
  }

  /** Frees the device copies of the weights, scores and momentum, however the run ended. */
  dispose(): void {
    this.st.dispose();
  }
}
