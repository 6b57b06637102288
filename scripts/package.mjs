// `npm run package [-- TARGET ...]`: one .vsix per platform, tinymem-TARGET.vsix, for linux-x64, linux-arm64,
// darwin-arm64 and win32-x64 (or the targets given). Each holds only its own platform's onnxruntime-node binaries:
// the whitelist in .vscodeignore plus one line per binary file of that platform, written to a temporary ignore file
// for `vsce package --target TARGET --ignoreFile FILE` (which builds the bundles first through vscode:prepublish).
// Each offers only its platform's execution providers in the tinymem.executionProviders setting. Each package is
// then checked (scripts/check-vsix.mjs); a wrong file list fails the run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS, checkVsix, withTargetProviders } from './check-vsix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vsce = join(dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
/**
 * npm packs no symlinks, so onnxruntime-node's macOS folder holds its library twice: libonnxruntime.1.dylib, the
 * name the binding loads (@rpath/libonnxruntime.1.dylib), and a 44 MB copy under the full version's name.
 */
const VERSIONED_COPY = /^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/;

const targets = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(TARGETS);
const unknown = targets.filter((t) => !TARGETS[t]);
if (unknown.length) {
  console.error(`package: unknown target ${unknown.join(', ')}; the targets are ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}

const whitelist = readFileSync(join(root, '.vscodeignore'), 'utf8');
// vsce reads ./package.json: each target's run sees the setting's providers cut down to that platform's, and the
// original text is put back after each run (and on Ctrl-C), so the repository's package.json is left as it was.
const manifestPath = join(root, 'package.json');
const manifest = readFileSync(manifestPath, 'utf8');
const restoreManifest = () => writeFileSync(manifestPath, manifest);
process.on('SIGINT', () => { restoreManifest(); process.exit(130); });
const scratch = mkdtempSync(join(tmpdir(), 'tinymem-package-'));
const summary = [];
let failed = false;
try {
  for (const target of targets) {
    const folder = `${ORT_BIN}/${TARGETS[target]}`;
    const binaries = readdirSync(join(root, folder)).filter((f) => !VERSIONED_COPY.test(f));
    const ignoreFile = join(scratch, `${target}.vscodeignore`);
    writeFileSync(ignoreFile, `${whitelist}\n# ${target}: onnxruntime-node's binaries\n` +
      binaries.map((f) => `!${folder}/${f}\n`).join(''));
    const out = `tinymem-${target}.vsix`;
    console.log(`\n=== package ${out}`);
    writeFileSync(manifestPath, withTargetProviders(manifest, target));
    let r;
    try {
      r = spawnSync(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile,
        '--out', out], { cwd: root, stdio: 'inherit' });
    } finally {
      restoreManifest();
    }
    if (r.status !== 0) {
      console.error(`package: vsce package --target ${target} failed (exit ${r.status ?? r.signal})`);
      failed = true;
      break;
    }
    const { files, problems } = checkVsix(join(root, out), target);
    for (const p of problems) console.error(`${out}: ${p}`);
    if (problems.length) failed = true;
    const mb = statSync(join(root, out)).size / 1e6;
    summary.push(`${out}  ${mb.toFixed(1)} MB  ${files} files  ${problems.length ? 'WRONG FILE LIST' : 'checked'}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`\n${summary.join('\n')}`);
process.exit(failed ? 1 : 0);
