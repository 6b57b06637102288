// What a method's step graphs read from one run to the next: constants (the model's weights) that every run takes
// unchanged, and state (optimizer moments, scores, masks, trained values) that each run replaces with its outputs
// `new:NAME`. With a device provider (WebGPU) both live on the device: the constants and the initial state are
// copied there once (Runtime.toDevice), sessions created with `deviceOutputs: stateOutputs` leave the new state
// there, and only the batch goes in and the scalars come out. Elsewhere they are the host arrays the runs return,
// so the CPU path is unchanged. Whatever a StepState put on the device is freed by dispose(), however a run ended.
import type { DType } from '../graph/ir';
import { type DeviceTensor, type HostArray, type RunResult, type Runtime, isDeviceTensor } from './session';

export type Feed = DeviceTensor | HostArray;
export interface TensorData { dtype: DType; shape: readonly number[]; data: HostArray }

/** SessionOptions.deviceOutputs of step sessions: the outputs that become the next run's state. */
export const stateOutputs = (name: string): boolean => name.startsWith('new:');

/** The model's weights as TensorData, for StepState.create's constants. */
export const float32Tensors = (shapes: readonly (readonly [string, readonly number[]])[],
  arrays: ReadonlyMap<string, Float32Array>): Record<string, TensorData> =>
  Object.fromEntries(shapes.map(([n, shape]) => [n, { dtype: 'float32' as const, shape, data: arrays.get(n)! }]));

export class StepState {
  private constructor(
    private readonly rt: Runtime,
    private readonly constants: Record<string, Feed>,
    private readonly state: Record<string, Feed>,
  ) {}

  /** Copies the constants and the initial state to the device when the runtime has a device provider. */
  static async create(rt: Runtime,
    init: { constants?: Record<string, TensorData>; state?: Record<string, TensorData> }): Promise<StepState> {
    const all = await rt.toDevice({ ...init.constants, ...init.state });
    const pick = (names: string[]) => Object.fromEntries(names.map((n) => [n, all[n]!]));
    return new StepState(rt, pick(Object.keys(init.constants ?? {})), pick(Object.keys(init.state ?? {})));
  }

  /** The constants and the current state, as feeds of the next run. */
  feeds(): Record<string, Feed> {
    return { ...this.constants, ...this.state };
  }

  get(name: string): Feed {
    const f = this.state[name] ?? this.constants[name];
    if (!f) throw new Error(`no step input "${name}"`);
    return f;
  }

  /**
   * Takes a run's outputs as the new state: for each state NAME the output `from(NAME)` (`new:NAME` by default),
   * where the run returned it. The replaced state and the run's device outputs not taken are freed.
   */
  accept(r: RunResult, from: (name: string) => string | undefined = (n) => `new:${n}`): void {
    const taken = new Set<DeviceTensor>();
    for (const n of Object.keys(this.state)) {
      const k = from(n);
      const t = k === undefined ? undefined : r.device[k] ?? r.outputs[k];
      if (t === undefined) continue;
      this.release(this.state[n]!);
      this.state[n] = t;
      if (isDeviceTensor(t)) taken.add(t);
    }
    for (const t of Object.values(r.device)) if (!taken.has(t)) t.dispose();
  }

  /** Frees a run's device outputs without taking them (a step whose update is discarded). */
  static discard(r: RunResult): void {
    for (const t of Object.values(r.device)) t.dispose();
  }

  /** Replaces one state tensor with a host array or one of the constants (e.g. an accumulator reset to zeros). */
  set(name: string, value: Feed): void {
    if (!(name in this.state)) throw new Error(`no state "${name}"`);
    if (value !== this.state[name]) this.release(this.state[name]!);
    this.state[name] = value;
  }

  /** Frees a state tensor that is being replaced, unless it is one of the constants. */
  private release(t: Feed): void {
    if (isDeviceTensor(t) && !Object.values(this.constants).includes(t)) t.dispose();
  }

  /** The named state (all of it by default) on the host: device tensors copied, host arrays returned as they are. */
  host(names: readonly string[] = Object.keys(this.state)): Promise<Record<string, HostArray>> {
    return this.rt.toHost(Object.fromEntries(names.map((n) => [n, this.get(n)])));
  }

  /** Frees everything this state holds on the device. */
  dispose(): void {
    for (const t of new Set([...Object.values(this.constants), ...Object.values(this.state)])) {
      if (isDeviceTensor(t)) t.dispose();
    }
    for (const part of [this.constants, this.state]) for (const n of Object.keys(part)) delete part[n];
  }
}
