// Fixtures that take minutes to build (trained models) are cached in the temp folder, under a key made of their
// settings AND the content of the code that builds them: a change to the engine, the shared types or the installed
// ONNX Runtime never reuses a fixture an older build produced. A fixture is built in a private sibling folder and
// published with one rename, so two test files building the same fixture at once never see half of one.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** The folders whose source decides what a training run produces. */
const CODE_DIRS = ['src/engine', 'src/shared'];
const MARKER = 'fixture-key.txt';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

let digest: string | undefined;
/** sha256 over the engine's and shared types' source files (path and content) and the ONNX Runtime version. */
export function codeDigest(): string {
  if (digest) return digest;
  const h = crypto.createHash('sha256');
  const files = CODE_DIRS.flatMap((d) => filesUnder(path.join(ROOT, d))).sort();
  for (const f of files) h.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  const ort = path.join(ROOT, 'node_modules/onnxruntime-node/package.json');
  h.update(fs.existsSync(ort) ? JSON.parse(fs.readFileSync(ort, 'utf8')).version : 'no onnxruntime-node');
  h.update(process.version);
  return (digest = h.digest('hex'));
}

/** Removes the build folders of processes that died while building (killed test runs). */
function removeAbandoned(root: string): void {
  for (const entry of fs.readdirSync(root)) {
    const pid = Number(/-building-(\d+)-/.exec(entry)?.[1]);
    if (!entry.startsWith('.') || !pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(root, entry),
        { recursive: true, force: true });
    }
  }
}

/** The cache key of a fixture: its settings and the code digest. */
export function fixtureKey(settings: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(settings)).update(codeDigest()).digest('hex').slice(0, 16);
}

/**
 * The folder of the fixture `name` built with `settings`: reused when a complete one with the same key exists,
 * otherwise built by `build` into a fresh folder that is renamed into place when `build` has finished.
 */
export async function cachedFixture(name: string, settings: unknown,
  build: (dir: string) => Promise<void>): Promise<string> {
  const key = fixtureKey(settings);
  const root = path.join(os.tmpdir(), 'tinymem-fixtures');
  const dir = path.join(root, `${name}-${key}`);
  const complete = () => fs.existsSync(path.join(dir, MARKER))
    && fs.readFileSync(path.join(dir, MARKER), 'utf8') === key;
  if (complete()) return dir;
  fs.mkdirSync(root, { recursive: true });
  removeAbandoned(root);
  const work = fs.mkdtempSync(path.join(root, `.${name}-${key}-building-${process.pid}-`));
  try {
    await build(path.join(work, 'fixture'));
    fs.writeFileSync(path.join(work, 'fixture', MARKER), key);
    if (fs.existsSync(dir) && !complete()) fs.rmSync(dir, { recursive: true, force: true }); // a broken leftover
    try {
      fs.renameSync(path.join(work, 'fixture'), dir);
    } catch (e) {
      // Another process published the same fixture first: use its copy.
      if (!complete()) throw e;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return dir;
}
