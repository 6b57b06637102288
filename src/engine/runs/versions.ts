// Versions recorded in run manifests.
import * as fs from 'node:fs';
import * as path from 'node:path';

function packageVersion(file: string): string {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function versions(): { tinymem: string; onnxruntime: string; node: string } {
  let ort = 'unknown';
  try {
    ort = packageVersion(require.resolve('onnxruntime-node/package.json'));
  } catch {
    // not resolvable from a bundle without node_modules
  }
  // The package root: two levels above src/engine/runs in the sources, one above dist/ in a bundle.
  const root = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '..')].find(
    (d) => fs.existsSync(path.join(d, 'package.json')));
  return { tinymem: root ? packageVersion(path.join(root, 'package.json')) : 'unknown', onnxruntime: ort,
    node: process.version };
}
