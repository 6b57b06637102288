#!/usr/bin/env node
// In a development checkout (sources and tsx present) runs the TypeScript sources, so the CLI is never a stale build;
// in an installed package (the npm package or the extension's .vsix) runs the bundle from `npm run build`. Both
// export main(); neither runs it when loaded from here (they do only as the main module), so this file does.
const fs = require('node:fs');
const path = require('node:path');
const sources = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
let tsx = null;
try {
  tsx = require.resolve('tsx/cjs');
} catch {
  // not installed: use the bundle
}
const fromSources = fs.existsSync(sources) && tsx;
if (fromSources) require(tsx);
// main() parses the arguments, reports errors (as JSON under --json) and sets the exit code.
require(fromSources ? sources : path.join(__dirname, '..', 'dist', 'cli.js')).main();
