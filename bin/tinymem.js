#!/usr/bin/env node
// In a development checkout (sources and tsx present) runs the TypeScript sources, so the CLI is never a stale build;
// in an installed package runs the bundle from `npm run build`.
const fs = require('node:fs');
const path = require('node:path');
const sources = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
let tsx = null;
try {
  tsx = require.resolve('tsx/cjs');
} catch {
  // not installed: use the bundle
}
if (fs.existsSync(sources) && tsx) {
  require(tsx);
  require(sources).main();
} else require(path.join(__dirname, '..', 'dist', 'cli.js'));
