// Checks of dataset options; a bad one is a UserError whose path is the option (e.g. `maxCtx`) or file.
import { showValue } from '../../shared/showValue';
import { userError } from '../../shared/userError';

export function requireInt(field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw userError(field, `must be an integer ${range}, got ${showValue(v)}`);
  }
  return v;
}

export function requireProbability(field: string, v: unknown, max = 1): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw userError(field, `must be a number in [0, ${max}], got ${showValue(v)}`);
  }
  return v;
}
