// Execution providers: which ones onnxruntime-node has on this platform (checked before any work, naming the flag or
// setting that listed them), and why one that is listed could not start, in words that say what is missing and how
// to install it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { userError } from '../../shared/userError';
import { loadOrt } from './ort';

/** The providers onnxruntime-node was built with for this platform (e.g. cpu, webgpu, cuda, tensorrt on linux-x64). */
export function platformProviders(): string[] {
  return loadOrt().listSupportedBackends().map((b) => b.name);
}

const platform = () => `${process.platform}/${process.arch}`;

/**
 * Splits and checks a provider list (`"cuda, cpu"` or an array): non-empty names, no repeats, each one that
 * onnxruntime-node has on this platform. `field` is what the user wrote it in (`--providers`,
 * `tinymem.executionProviders`).
 */
export function checkProviders(list: string | readonly unknown[], field: string): string[] {
  const names = (typeof list === 'string' ? list.split(',') : [...list]).map((p) => (typeof p === 'string'
    ? p.trim() : p));
  const have = platformProviders();
  const choose = `choose from ${have.join(', ')} (in order of preference, e.g. ${have.includes('cuda') ? 'cuda,cpu'
    : 'webgpu,cpu'})`;
  if (names.length === 0 || names.every((p) => p === '')) throw userError(field, `names no provider; ${choose}`);
  const seen = new Set<string>();
  for (const p of names) {
    if (typeof p !== 'string' || p === '') throw userError(field, `has an empty or non-text entry; ${choose}`);
    if (seen.has(p)) throw userError(field, `lists "${p}" twice; name each provider once`);
    seen.add(p);
    if (!have.includes(p)) throw userError(field, `"${p}" is not an execution provider of onnxruntime-node on ` +
      `${platform()}; ${choose}`);
  }
  return names as string[];
}

/** onnxruntime-node's folder of native libraries for this platform, or null when it cannot be found. */
export function ortBinaryDir(): string | null {
  try {
    const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
    return path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

/** The provider libraries onnxruntime-node's install script downloads on linux-x64 (from the NuGet package
 *  Microsoft.ML.OnnxRuntime.Gpu.Linux of the same version), by provider. */
const DOWNLOADED: Record<string, string[]> = {
  cuda: ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'],
  tensorrt: ['libonnxruntime_providers_tensorrt.so', 'libonnxruntime_providers_shared.so'],
};

/** What the CUDA and TensorRT providers need on the machine besides their own libraries. */
const NEEDS: Record<string, string> = {
  cuda: 'CUDA 12 and cuDNN 9 (libcudart.so.12, libcublas.so.12, libcudnn.so.9) on the library path and an NVIDIA ' +
    'driver',
  tensorrt: 'TensorRT 10, CUDA 12 and cuDNN 9 on the library path and an NVIDIA driver',
};

/**
 * Why `provider` could not start, from the error ONNX Runtime gave, as one paragraph for a user: what is missing
 * and how to install it, then ONNX Runtime's own words. `dir` is where onnxruntime-node's libraries are (tests
 * point it elsewhere).
 */
export function explainProviderFailure(provider: string, error: string, dir = ortBinaryDir()): string {
  const raw = error.split('\n')[0]!.trim();
  const said = `(ONNX Runtime: ${raw})`;
  const libs = DOWNLOADED[provider];
  if (libs && process.platform === 'linux' && process.arch === 'x64') {
    const missing = dir ? libs.filter((l) => !fs.existsSync(path.join(dir, l))) : libs;
    if (missing.length) {
      return `the ${provider} provider's libraries (${missing.join(', ')}) are not installed in onnxruntime-node ` +
        `(${dir ?? 'its folder was not found'}). Its install script downloads them from NuGet ` +
        `(Microsoft.ML.OnnxRuntime.Gpu.Linux) during \`npm install\` unless ONNXRUNTIME_NODE_INSTALL=skip is set; ` +
        'on a machine with network access run `ONNXRUNTIME_NODE_INSTALL=1 npm rebuild onnxruntime-node` in ' +
        `the project. They need ${NEEDS[provider]}. ${said}`;
    }
    return `the ${provider} provider's libraries are installed but did not load: they need ${NEEDS[provider]}. ` +
      `Check with \`ldd ${path.join(dir!, libs[0]!)}\` which library is missing. ${said}`;
  }
  if (provider === 'webgpu' && /adapter|vulkan/i.test(error)) {
    const how = process.platform === 'linux'
      ? 'on Linux ONNX Runtime\'s WebGPU provider runs through Vulkan: install the GPU\'s Vulkan driver and loader ' +
        '(NVIDIA\'s driver with its Vulkan ICD, or Mesa\'s mesa-vulkan-drivers, with libvulkan1; `vulkaninfo ' +
        '--summary` should list the GPU). Without a GPU, Mesa 25\'s lavapipe runs it on the CPU'
      : process.platform === 'win32' ? 'on Windows it needs a Direct3D 12 GPU and an up-to-date GPU driver'
        : 'on macOS it needs a Metal GPU';
    return `no WebGPU adapter was found: ${how}. ${said}`;
  }
  return `the ${provider} provider could not start. ${said}`;
}
