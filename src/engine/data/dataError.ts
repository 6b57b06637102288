// One error type for bad dataset requests, so the notebook and CLI can point at the offending field or file.
import { showValue } from '../../shared/showValue';

export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    /** The option (e.g. `maxCtx`) or file path the problem is about. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function requireInt(field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new DataError(field, `must be an integer ${range}, got ${showValue(v)}`);
  }
  return v;
}

export function requireProbability(field: string, v: unknown, max = 1): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw new DataError(field, `must be a number in [0, ${max}], got ${showValue(v)}`);
  }
  return v;
}
