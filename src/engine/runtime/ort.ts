// Loads onnxruntime-node exactly once, with telemetry disabled before the native module initialises.
import type * as OrtModule from 'onnxruntime-node';

let ort: typeof OrtModule | undefined;

export function loadOrt(): typeof OrtModule {
  if (!ort) {
    process.env.ORT_DISABLE_TELEMETRY = '1';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ort = require('onnxruntime-node') as typeof OrtModule;
    // A provider that fails to load is reported through the exception we catch (and Runtime.skipped); ORT would
    // also print it to stderr at error level.
    ort.env.logLevel = 'fatal';
  }
  return ort;
}
