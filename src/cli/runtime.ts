// The runtime options every model-running command takes (--threads, --providers, --steps-per-run where it trains),
// and the command's ONNX Runtime: its providers are started first, so a provider that cannot start is reported once
// on stderr (what is missing and how to install it) and a list where none starts fails before any work.
import { Runtime } from '../engine/runtime/session';

export interface RuntimeFlags {
  threads?: number;
  /** Checked by main.ts's option parser against this platform's providers. */
  providers?: string[];
  stepsPerRun?: number;
}

/** The runtime settings the engine's runs take. */
export const runtimeSettings = (f: RuntimeFlags) =>
  ({ threads: f.threads ?? 0, providers: f.providers, stepsPerRun: f.stepsPerRun });

/** A started Runtime for a command; the caller disposes it. */
export async function commandRuntime(f: RuntimeFlags): Promise<Runtime> {
  const rt = new Runtime({ threads: f.threads ?? 0, providers: f.providers });
  try {
    await rt.preflight();
  } catch (e) {
    await rt.dispose();
    throw e;
  }
  return rt;
}
