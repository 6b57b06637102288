// ONNX Runtime sessions: execution-provider choice with fallback one provider at a time, thread settings, a cache
// keyed by shape signature, and typed feeds/fetches. Every result reports the provider that actually ran.
//
// Device-resident tensors (WebGPU only; onnxruntime-node has none for CUDA): a session created with `deviceOutputs`
// leaves those outputs on the device as 'gpu-buffer' tensors (RunResult.device), which later runs take back as
// feeds without a copy. They reach the host only through Runtime.toHost, which runs a small identity session whose
// outputs are CPU tensors. Never call getData() on such a tensor: in onnxruntime-node 1.30 its downloader throws a
// C++ exception that aborts the process ("terminate called after throwing an instance of 'char const*'").
import type * as Ort from 'onnxruntime-node';
import { F, Graph, type Tensor, compileGraph } from '../graph/index';
import type { CompiledModel } from '../graph/onnx/writer';
import type { DType } from '../graph/ir';
import { loadOrt } from './ort';
import { machineCores } from '../io/machine';
import { warn } from '../model/loadWarnings';
import { UserError } from '../../shared/userError';
import { explainProviderFailure } from './providers';

export type HostArray = Float32Array | Float64Array | BigInt64Array | Uint8Array | Int32Array;

export interface RuntimeOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. The first that loads is used. */
  providers?: string[];
  /** Intra-op threads (0: ONNX Runtime's default). */
  threads?: number;
  /**
   * ONNX Runtime's CPU memory arena and memory-pattern planning: 'on', 'off', or 'auto' (the default): off for
   * models whose inputs (weights included) exceed LARGE_MODEL_INPUT_BYTES, on below.
   */
  arena?: 'auto' | 'on' | 'off';
  /**
   * File prefix for ONNX Runtime's profiler (benchmarks): each session records every kernel's time and writes one
   * JSON trace, `PREFIX_<date>.json`, when it is released.
   */
  profile?: string;
  /**
   * WebGPU sessions refuse a graph of which any node would run on the CPU (ORT's session.disable_cpu_ep_fallback),
   * instead of quietly copying tensors between host and device around it. The WebGPU tests set it.
   */
  noCpuFallback?: boolean;
}

/** A tensor that stays on the device between runs (an Ort.Tensor whose location is 'gpu-buffer'). */
export type DeviceTensor = Ort.Tensor;

/** Per-session options, fixed when a session key is first seen. */
export interface SessionOptions {
  /** Outputs to leave on the device where the provider can (WebGPU); elsewhere they come back as host arrays. */
  deviceOutputs?: (name: string) => boolean;
}

/** The providers whose outputs can stay on the device between runs. */
export const DEVICE_PROVIDERS: readonly string[] = ['webgpu'];

export const isDeviceTensor = (x: unknown): x is DeviceTensor =>
  typeof x === 'object' && x !== null && (x as { location?: unknown }).location === 'gpu-buffer';

/**
 * Above this many bytes of graph inputs a session runs without the CPU arena and memory patterns. Measured on a
 * Pythia-410M-shaped model (bench/prod.bench.ts): the arena keeps every block it ever handed out (outputs included,
 * which onnxruntime-node then copies into JS), so a run's peak stays resident and grows with each new pattern;
 * without it, freed tensors go back to malloc. Small models keep the arena: there it saves allocation time and
 * costs little memory.
 */
export const LARGE_MODEL_INPUT_BYTES = 256 * 2 ** 20;

let gcFn: (() => void) | null | undefined;

/**
 * Runs a full V8 garbage collection, so that ArrayBuffers ONNX Runtime outputs were copied into (external memory,
 * invisible to V8's heap heuristics) are freed now rather than at some later GC. Uses global.gc when the process has
 * it (--expose-gc), else enables it once through the V8 flag and a fresh context; a no-op where neither works.
 */
export function forceGc(): void {
  if (gcFn === undefined) {
    gcFn = null;
    try {
      const g = (globalThis as { gc?: () => void }).gc;
      if (typeof g === 'function') gcFn = g;
      else {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('node:v8').setFlagsFromString('--expose-gc');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fn = require('node:vm').runInNewContext('gc') as unknown;
        if (typeof fn === 'function') gcFn = fn as () => void;
      }
    } catch {
      gcFn = null;
    }
  }
  // Twice: V8 frees dead ArrayBuffers' memory in a background sweep after a GC, and the next GC first finishes that
  // sweep. With ONNX Runtime's threads on every core the background sweep lagged a whole step (measured: 2 GiB of
  // dead gradients still counted in arrayBuffers after one gc() on a 1B model).
  gcFn?.();
  gcFn?.();
}

const DTYPE_BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, bool: 1 };

/** Bytes of a compiled model's graph inputs (weights, scores, tokens). */
export const inputBytes = (m: CompiledModel): number =>
  m.inputs.reduce((s, i) => s + DTYPE_BYTES[i.dtype] * i.shape.reduce((a, b) => a * b, 1), 0);

export interface RunResult {
  outputs: Record<string, Float32Array | Float64Array | BigInt64Array | Uint8Array>;
  /** The outputs left on the device (SessionOptions.deviceOutputs, WebGPU only); empty elsewhere. */
  device: Record<string, DeviceTensor>;
  provider: string;
}

const TENSOR_TYPE: Record<DType, Ort.Tensor.Type> = {
  float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };
const ORT_DTYPE: Record<string, DType> = { float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };

/** Converts host data to the typed array ONNX Runtime expects for a dtype (int64 needs BigInt64Array). */
function toOrtData(dtype: DType,
  data: HostArray | ArrayLike<number>): Float32Array | Float64Array | BigInt64Array | Uint8Array {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    case 'float64':
      return data instanceof Float64Array ? data : Float64Array.from(data as ArrayLike<number>);
    case 'int64': {
      if (data instanceof BigInt64Array) return data;
      const src = data as ArrayLike<number>;
      const out = new BigInt64Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
      return out;
    }
    case 'bool':
      return data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
}

export class CompiledSession {
  constructor(
    readonly session: Ort.InferenceSession,
    readonly model: CompiledModel,
    readonly provider: string,
    /** Whether some outputs stay on the device (SessionOptions.deviceOutputs on a device provider). */
    readonly keepsOutputs = false,
  ) {}

  /** Whether this session's outputs can stay on the device (see SessionOptions.deviceOutputs). */
  get onDevice(): boolean {
    return DEVICE_PROVIDERS.includes(this.provider);
  }

  async run(feeds: Record<string, HostArray | ArrayLike<number> | DeviceTensor>, fetch?: string[]): Promise<RunResult> {
    const ort = loadOrt();
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const inp of this.model.inputs) {
      const data = feeds[inp.name];
      if (data === undefined) throw new Error(`missing input "${inp.name}" (${inp.dtype}[${inp.shape.join(', ')}])`);
      if (isDeviceTensor(data)) {
        if (data.type !== TENSOR_TYPE[inp.dtype] || data.dims.join() !== inp.shape.join()) throw new Error(
          `device tensor for "${inp.name}" is ${data.type}[${data.dims.join(', ')}]; the input needs ` +
          `${inp.dtype}[${inp.shape.join(', ')}]`);
        ortFeeds[inp.name] = data;
        continue;
      }
      const expected = inp.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) {
        throw new Error(`input "${inp.name}" has ${data.length} values; its shape [${inp.shape.join(', ')}] needs ` +
          `${expected}`);
      }
      ortFeeds[inp.name] = new ort.Tensor(TENSOR_TYPE[inp.dtype], toOrtData(inp.dtype, data), inp.shape);
    }
    // onnxruntime-node 1.30 applies preferredOutputLocation by position in the fetch list, not by name (measured: a
    // subset put the wrong outputs on the device), so sessions that keep outputs on the device fetch all of them.
    const result = await this.session.run(ortFeeds, this.keepsOutputs ? this.session.outputNames
      : fetch ?? this.session.outputNames);
    const outputs: RunResult['outputs'] = {};
    const device: RunResult['device'] = {};
    for (const [k, t] of Object.entries(result)) {
      if (t.location === 'gpu-buffer') device[k] = t;
      else outputs[k] = t.data as RunResult['outputs'][string];
    }
    return { outputs, device, provider: this.provider };
  }
}

/**
 * Whether a session creation failed because the provider itself could not start (missing libraries, no adapter,
 * not built in) rather than because of the model. The CPU provider always starts: its failures are the model's.
 */
function isProviderStartFailure(provider: string, message: string): boolean {
  // "nodes assigned to the default CPU EP, but fallback ... disabled" (RuntimeOptions.noCpuFallback) is the model's.
  if (/fallback to CPU EP has been explicitly disabled/i.test(message)) return false;
  return provider !== 'cpu' && /shared library|adapter|vulkan|backend not found|execution provider|EP\b/i.test(message);
}

/** Creates sessions, trying each preferred provider in turn, and caches them by key (the shape signature). */
export class Runtime {
  private readonly cache = new Map<string, Promise<CompiledSession>>();
  readonly providers: string[];
  readonly threads: number;
  readonly arena: 'auto' | 'on' | 'off';
  readonly profile: string | undefined;
  readonly noCpuFallback: boolean;
  /** Why each provider that failed to load was skipped (what is missing and how to install it). */
  readonly skipped: { provider: string; error: string }[] = [];
  /** Providers that could not start in this runtime, with the reason; they are not tried again. */
  private readonly failed = new Map<string, string>();

  constructor(opts: RuntimeOptions = {}) {
    this.providers = opts.providers?.length ? opts.providers : ['cpu'];
    // Never more threads than cores: each one costs memory and only adds contention.
    this.threads = Math.min(Math.max(0, opts.threads ?? 0), machineCores());
    this.arena = opts.arena ?? 'auto';
    this.profile = opts.profile;
    this.noCpuFallback = opts.noCpuFallback ?? false;
  }

  /** Whether a session for `model` uses the CPU arena and memory patterns (see RuntimeOptions.arena). */
  usesArena(model: CompiledModel): boolean {
    return this.arena === 'auto' ? inputBytes(model) <= LARGE_MODEL_INPUT_BYTES : this.arena === 'on';
  }

  /** A session for `key`, compiling the graph with `build` only the first time the key is seen. */
  session(key: string, build: () => CompiledModel, opts: SessionOptions = {}): Promise<CompiledSession> {
    let s = this.cache.get(key);
    if (!s) {
      s = this.create(build(), opts);
      this.cache.set(key, s);
      s.catch(() => this.cache.delete(key));
    }
    return s;
  }

  async create(model: CompiledModel, opts: SessionOptions = {}): Promise<CompiledSession> {
    const ort = loadOrt();
    const errors: string[] = [];
    const arena = this.usesArena(model);
    const newlyFailed: string[] = [];
    for (const provider of this.providers) {
      // A provider that could not start is not tried again for every new session shape.
      if (this.failed.has(provider)) continue;
      try {
        const session = await ort.InferenceSession.create(this.bytesFor(provider, model), {
          executionProviders: [provider],
          intraOpNumThreads: this.threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          enableCpuMemArena: arena,
          enableMemPattern: arena,
          logSeverityLevel: 3,
          ...(this.profile ? { enableProfiling: true, profileFilePrefix: this.profile } : {}),
          ...this.deviceOptions(provider, model, opts),
        });
        for (const p of newlyFailed) warn(`execution provider ${p} was skipped, running on ${provider}: ` +
          `${this.failed.get(p)}`);
        return new CompiledSession(session, model, provider, DEVICE_PROVIDERS.includes(provider) &&
          !!opts.deviceOutputs);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (isProviderStartFailure(provider, msg)) {
          const reason = explainProviderFailure(provider, msg);
          this.failed.set(provider, reason);
          newlyFailed.push(provider);
          if (!this.skipped.some((s) => s.provider === provider)) this.skipped.push({ provider, error: reason });
        } else errors.push(`${provider}: ${msg}`);
      }
    }
    const notStarted = this.providers.filter((p) => this.failed.has(p));
    if (errors.length === 0) {
      throw new UserError({ path: '', message: notStarted.length === 1
        ? `execution provider ${notStarted[0]} could not start: ${this.failed.get(notStarted[0]!)}`
        : `none of the execution providers could start:\n${notStarted.map(
          (p) => `- ${p}: ${this.failed.get(p)}`).join('\n')}` }, 'resource');
    }
    throw new Error(`no execution provider could run the model (tried ${this.providers.join(', ')}):\n` +
      [...errors, ...notStarted.map((p) => `${p}: ${this.failed.get(p)}`)].join('\n'));
  }

  /**
   * Starts the preferred providers on a one-node model, so that a provider that cannot start is reported (a warning
   * naming what is missing) and a list where none can start fails before any expensive work. Returns the provider
   * that will run the models.
   */
  async preflight(): Promise<string> {
    const g = new Graph();
    const x = g.input('x', 'float32', [1]);
    const s = await this.create(compileGraph(g, { y: F.add(x, x) }, 'preflight'));
    await s.session.release();
    return s.provider;
  }

  /** The model as `provider` runs it: WebGPU gets the standard-ops lowering (CompiledModel.portableBytes). */
  private bytesFor(provider: string, model: CompiledModel): Uint8Array {
    return provider === 'webgpu' && model.portableBytes ? model.portableBytes() : model.bytes;
  }

  /** Session options of the device providers: outputs left on the device, and no silent CPU fallback if asked. */
  private deviceOptions(provider: string, model: CompiledModel,
    opts: SessionOptions): Ort.InferenceSession.SessionOptions {
    if (!DEVICE_PROVIDERS.includes(provider)) return {};
    const keep = opts.deviceOutputs;
    return {
      ...(keep ? { preferredOutputLocation: Object.fromEntries(model.outputs.map((o) =>
        [o.name, keep(o.name) ? 'gpu-buffer' as const : 'cpu' as const])) } : {}),
      ...(this.noCpuFallback ? { extra: { session: { disable_cpu_ep_fallback: '1' } } } : {}),
    };
  }

  /**
   * Copies device tensors to the host (the only safe way: see the header) with an identity session on the device
   * provider, one per set of shapes. Host arrays among `tensors` are returned as they are.
   */
  async toHost(tensors: Record<string, DeviceTensor | HostArray>): Promise<Record<string, HostArray>> {
    const out: Record<string, HostArray> = {};
    const dev = Object.entries(tensors).filter((e): e is [string, DeviceTensor] => isDeviceTensor(e[1]));
    for (const [n, a] of Object.entries(tensors)) if (!isDeviceTensor(a)) out[n] = a;
    if (dev.length === 0) return out;
    const r = await (await this.identity('to-host', dev, 'cpu')).run(Object.fromEntries(dev.map(([, t], i) =>
      [`x${i}`, t])));
    dev.forEach(([n], i) => {
      out[n] = r.outputs[`y${i}`] as HostArray;
    });
    return out;
  }

  /**
   * Copies host arrays to the device once (an identity session whose outputs stay there), for inputs that many runs
   * share, such as constant weights. Without a device provider the arrays are returned as they are.
   */
  async toDevice(arrays: Record<string, { dtype: DType; shape: readonly number[]; data: HostArray }>):
  Promise<Record<string, DeviceTensor | HostArray>> {
    const entries = Object.entries(arrays);
    const out: Record<string, DeviceTensor | HostArray> = Object.fromEntries(entries.map(([n, a]) => [n, a.data]));
    if (entries.length === 0 || !this.providers.some((p) => DEVICE_PROVIDERS.includes(p))) return out;
    const spec = entries.map(([, a]) => ({ type: TENSOR_TYPE[a.dtype], dims: [...a.shape] }));
    const s = await this.identity('to-device', spec.map((t, i) => [`x${i}`, t]), 'gpu-buffer');
    if (!s.onDevice) return out;
    const r = await s.run(Object.fromEntries(entries.map(([, a], i) => [`x${i}`, a.data])));
    entries.forEach(([n], i) => {
      out[n] = r.device[`y${i}`]!;
    });
    return out;
  }

  /** An identity session y_i = x_i for tensors of these types and shapes, with outputs at `location`. */
  private identity(what: string, tensors: readonly (readonly [string, { type: string; dims: readonly number[] }])[],
    location: 'cpu' | 'gpu-buffer'): Promise<CompiledSession> {
    const specs = tensors.map(([, t]) => ({ dtype: ORT_DTYPE[t.type]!, shape: [...t.dims] }));
    const key = `${what}|${specs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';')}`;
    return this.session(key, () => {
      const g = new Graph();
      const outs: Record<string, Tensor> = {};
      specs.forEach((t, i) => {
        outs[`y${i}`] = F.stopGradient(g.input(`x${i}`, t.dtype, t.shape));
      });
      return compileGraph(g, outs, what);
    }, { deviceOutputs: () => location === 'gpu-buffer' });
  }

  async dispose(): Promise<void> {
    const sessions = await Promise.allSettled([...this.cache.values()]);
    this.cache.clear();
    for (const s of sessions) if (s.status === 'fulfilled') await s.value.session.release();
  }
}
