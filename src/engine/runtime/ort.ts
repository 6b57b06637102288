// Loads onnxruntime-node exactly once, with telemetry disabled before the native module initialises.
import type * as OrtModule from 'onnxruntime-node';

let ort: typeof OrtModule | undefined;

/**
 * Turns ONNX Runtime's telemetry off for this process and the threads it starts (it otherwise writes `.ses` and
 * `mat-debug-PID.log` into the temp folder). Must run on the main thread before a worker loads ONNX Runtime: a
 * worker's process.env is its own copy, so setting it there never reaches the native library.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY = '1';
}

export function loadOrt(): typeof OrtModule {
  if (!ort) {
    disableOrtTelemetry();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ort = require('onnxruntime-node') as typeof OrtModule;
    // A provider that fails to load is reported through the exception we catch (and Runtime.skipped); ORT would
    // also print it to stderr at error level.
    ort.env.logLevel = 'fatal';
  }
  return ort;
}
