// Shared by the WebGPU tests: a check that ONNX Runtime's WebGPU provider finds an adapter, failing with how to get
// one; the two runtimes each test file compares; a recorder of where every session run's tensors live; and a tiny
// GPT-2 that lavapipe (Mesa's Vulkan driver on the CPU) trains in seconds.
import { after, before } from 'node:test';
import { F, Graph, compileGraph } from '../../src/engine/graph/index';
import type { Gpt2Config } from '../../src/engine/model/gpt2';
import { loadOrt } from '../../src/engine/runtime/ort';
import { Runtime } from '../../src/engine/runtime/session';

/** Throws with the set-up to run when no WebGPU adapter is available (a machine without a GPU, no lavapipe). */
export async function requireWebGpu(): Promise<void> {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  const model = compileGraph(g, { y: F.mul(x, 2) }, 'probe');
  try {
    const s = await loadOrt().InferenceSession.create(model.bytes, { executionProviders: ['webgpu'],
      logSeverityLevel: 3 });
    await s.release();
  } catch (e) {
    throw new Error(`the WebGPU provider cannot start here (${e instanceof Error ? e.message : String(e)}). On a ` +
      'machine without a GPU, run these tests with `npm run test:webgpu`, which sets up Mesa\'s lavapipe first ' +
      '(../shared/scripts/lavapipe.sh), or `source ../shared/scripts/lavapipe.sh` in this shell.');
  }
}

/** A 2-layer GPT-2 small enough for lavapipe: 14 tokens, context 16, width 32. */
export const TINY_GPT2 = {
  vocab_size: 14, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 4, n_inner: null,
  activation_function: 'relu', layer_norm_epsilon: 1e-5, initializer_range: 0.1,
} as unknown as Gpt2Config;

/**
 * A WebGPU runtime that refuses graphs with nodes on the CPU and a one-thread CPU runtime, for one test file: WebGPU
 * is checked before its tests and both are disposed after them.
 */
export function providerPair(): { gpu: Runtime; cpu: Runtime } {
  const gpu = new Runtime({ providers: ['webgpu'], noCpuFallback: true });
  const cpu = new Runtime({ providers: ['cpu'], threads: 1 });
  before(requireWebGpu);
  after(async () => {
    await gpu.dispose();
    await cpu.dispose();
  });
  return { gpu, cpu };
}

/** One session run seen by recordRuns: where each feed came from and each output came back ('cpu', 'gpu-buffer'). */
export interface RunRecord {
  feeds: Record<string, string>;
  fetched: Record<string, string>;
  /** The outputs that came back as device tensors, to check later that they were freed (location 'none'). */
  onDevice: { location: string }[];
}

/** Runs `fn` with every InferenceSession.run recorded (in order), the original run put back afterwards. */
export async function recordRuns<T>(fn: () => Promise<T>): Promise<{ result: T; runs: RunRecord[] }> {
  type Run = (...a: unknown[]) => Promise<Record<string, unknown>>;
  const proto = (loadOrt().InferenceSession as unknown as { prototype: { run: Run } }).prototype;
  const original = proto.run;
  const runs: RunRecord[] = [];
  const where = (tensors: object) => Object.fromEntries(Object.entries(tensors).map(([k, t]) =>
    [k, (t as { location: string }).location]));
  proto.run = async function (this: unknown, ...args: unknown[]) {
    const out = await original.apply(this, args);
    runs.push({ feeds: where(args[0] as object), fetched: where(out),
      onDevice: Object.values(out).filter((t) => (t as { location: string }).location === 'gpu-buffer') as
        { location: string }[] });
    return out;
  };
  try {
    return { result: await fn(), runs };
  } finally {
    proto.run = original;
  }
}
