// Lists the nodes of our graphs that ONNX Runtime's WebGPU provider hands back to the CPU (docs/webgpu.md):
//
//   source ../shared/scripts/lavapipe.sh   # on a machine without a GPU
//   node --import tsx bench/webgpuPlacements.ts [GRAPH...]
//
// Each graph's session is created in a child process with ORT's verbose log on (logSeverityLevel 0), whose "Node
// placements" section names every node and the provider it runs on; the parent prints the CPU ones per graph.
// Graphs: train (the GPT-2 training step with AdamW), subnet-host (the edge-popup gradient step of the CPU path),
// subnet-device (the whole BalancedSubnet step of the device path), greedy (batched greedy generation with the
// key/value cache). The model is test/webgpu/device.ts's tiny GPT-2.
import { spawnSync } from 'node:child_process';
import { buildSubnetDeviceStep } from '../src/engine/methods/subnet/deviceStep';
import { buildSubnetStep, pruneCounts } from '../src/engine/methods/subnet/edgePopup';
import { greedyContinuation } from '../src/engine/metrics/score';
import type { CompiledModel } from '../src/engine/graph/index';
import { loadOrt } from '../src/engine/runtime/ort';
import { Runtime } from '../src/engine/runtime/session';
import { getModel } from '../src/engine/train/models';
import { buildTrainStep } from '../src/engine/train/trainStep';
import { TINY_GPT2 } from '../test/webgpu/device';

const GRAPHS = ['train', 'subnet-host', 'subnet-device', 'greedy'] as const;
type GraphName = typeof GRAPHS[number];

/** In the child: creates the graph's WebGPU session(s) with the verbose log on. */
async function child(name: GraphName): Promise<void> {
  const ort = loadOrt();
  type Create = (bytes: Uint8Array, o: object) => Promise<unknown>;
  const factory = ort.InferenceSession as unknown as { create: Create };
  const create = factory.create.bind(factory);
  factory.create = (bytes, o) => create(bytes, { ...o, logSeverityLevel: 0 });
  const rt = new Runtime({ providers: ['webgpu'] });
  const def = getModel('gpt2');
  const c = def.resolveConfig!(TINY_GPT2) as typeof TINY_GPT2;
  const session = (build: () => CompiledModel) => rt.session(name, build);
  if (name === 'train') {
    await session(() => buildTrainStep({ key: 'p', params: def.paramShapes(c), batch: (r) => def.batchSpec(c, r),
      loss: def.loss(c) }, def.batchSpec(c, 8)));
  } else if (name === 'subnet-host') await session(() => buildSubnetStep(c, 8, 16));
  else if (name === 'subnet-device') await session(() => buildSubnetDeviceStep(c, 8, 16, pruneCounts(c, 0.1)));
  else {
    const params = new Map(Object.entries(def.init(c, 1)));
    await greedyContinuation(rt, c, params, [[1, 2, 3, 4], [5, 6, 7, 8]], 4);
  }
  await rt.dispose();
}

/** The nodes the verbose log places on the CPU provider, "OpType (node name)". */
function cpuNodes(log: string): { total: number; cpu: string[] } {
  const cpu: string[] = [];
  let total = 0;
  let inCpu = false;
  for (const line of log.split('\n')) {
    const m = /VerifyEachNodeIsAssignedToAnEp\]\s*(.*)$/.exec(line);
    if (!m) continue;
    const text = m[1]!;
    const head = /placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(text);
    if (head) {
      inCpu = head[1] === 'CPUExecutionProvider';
      total += Number(head[2]);
    } else if (/^Node placements/.test(text)) inCpu = false;
    else if (inCpu) cpu.push(text.trim());
  }
  return { total, cpu };
}

async function main(): Promise<void> {
  const asChild = process.env.TINYMEM_PLACEMENTS_CHILD as GraphName | undefined;
  if (asChild) return child(asChild);
  const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : GRAPHS) as GraphName[];
  for (const g of wanted) {
    if (!GRAPHS.includes(g)) throw new Error(`unknown graph "${g}" (known: ${GRAPHS.join(', ')})`);
    const r = spawnSync(process.execPath, [...process.execArgv, __filename], { encoding: 'utf8',
      env: { ...process.env, TINYMEM_PLACEMENTS_CHILD: g, ORT_DISABLE_TELEMETRY: '1' }, maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${g}: the child failed:\n${r.stderr.split('\n').filter((l) =>
      !/\[[VI]:onnxruntime/.test(l)).slice(-20).join('\n')}`);
    const { total, cpu } = cpuNodes(r.stdout + r.stderr);
    if (total === 0) throw new Error(`${g}: no "Node placements" in ORT's log (did the WebGPU provider start?)`);
    console.log(`${g}: ${total} nodes, ${cpu.length} on the CPU${cpu.length ? ':' : ''}`);
    for (const n of cpu) console.log(`  ${n}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
