// ONNX Runtime sessions: execution-provider choice with fallback one provider at a time, thread settings, a cache
// keyed by shape signature, and typed feeds/fetches. Every result reports the provider that actually ran.
import type * as Ort from 'onnxruntime-node';
import type { CompiledModel } from '../graph/onnx/writer';
import type { DType } from '../graph/ir';
import { loadOrt } from './ort';

export type HostArray = Float32Array | Float64Array | BigInt64Array | Uint8Array | Int32Array;

export interface RuntimeOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. The first that loads is used. */
  providers?: string[];
  /** Intra-op threads (0: ONNX Runtime's default). */
  threads?: number;
}

export interface RunResult {
  outputs: Record<string, Float32Array | Float64Array | BigInt64Array | Uint8Array>;
  provider: string;
}

const TENSOR_TYPE: Record<DType, Ort.Tensor.Type> = { float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };

/** Converts host data to the typed array ONNX Runtime expects for a dtype (int64 needs BigInt64Array). */
function toOrtData(dtype: DType, data: HostArray | ArrayLike<number>): Float32Array | Float64Array | BigInt64Array | Uint8Array {
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
  ) {}

  async run(feeds: Record<string, HostArray | ArrayLike<number>>, fetch?: string[]): Promise<RunResult> {
    const ort = loadOrt();
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const inp of this.model.inputs) {
      const data = feeds[inp.name];
      if (data === undefined) throw new Error(`missing input "${inp.name}" (${inp.dtype}[${inp.shape.join(', ')}])`);
      const expected = inp.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) {
        throw new Error(`input "${inp.name}" has ${data.length} values; its shape [${inp.shape.join(', ')}] needs ${expected}`);
      }
      ortFeeds[inp.name] = new ort.Tensor(TENSOR_TYPE[inp.dtype], toOrtData(inp.dtype, data), inp.shape);
    }
    const result = await this.session.run(ortFeeds, fetch ?? this.session.outputNames);
    const outputs: RunResult['outputs'] = {};
    for (const [k, t] of Object.entries(result)) outputs[k] = t.data as RunResult['outputs'][string];
    return { outputs, provider: this.provider };
  }
}

/** Creates sessions, trying each preferred provider in turn, and caches them by key (the shape signature). */
export class Runtime {
  private readonly cache = new Map<string, Promise<CompiledSession>>();
  readonly providers: string[];
  readonly threads: number;
  /** Why each provider that failed to load was skipped. */
  readonly skipped: { provider: string; error: string }[] = [];

  constructor(opts: RuntimeOptions = {}) {
    this.providers = opts.providers?.length ? opts.providers : ['cpu'];
    this.threads = opts.threads ?? 0;
  }

  /** A session for `key`, compiling the graph with `build` only the first time the key is seen. */
  session(key: string, build: () => CompiledModel): Promise<CompiledSession> {
    let s = this.cache.get(key);
    if (!s) {
      s = this.create(build());
      this.cache.set(key, s);
      s.catch(() => this.cache.delete(key));
    }
    return s;
  }

  async create(model: CompiledModel): Promise<CompiledSession> {
    const ort = loadOrt();
    const errors: string[] = [];
    for (const provider of this.providers) {
      try {
        const session = await ort.InferenceSession.create(model.bytes, {
          executionProviders: [provider],
          intraOpNumThreads: this.threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          logSeverityLevel: 3,
        });
        return new CompiledSession(session, model, provider);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        errors.push(`${provider}: ${msg}`);
        if (!this.skipped.some((s) => s.provider === provider)) this.skipped.push({ provider, error: msg });
      }
    }
    throw new Error(`no execution provider could run the model (tried ${this.providers.join(', ')}):\n${errors.join('\n')}`);
  }

  async dispose(): Promise<void> {
    const sessions = await Promise.allSettled([...this.cache.values()]);
    this.cache.clear();
    for (const s of sessions) if (s.status === 'fulfilled') await s.value.session.release();
  }
}
