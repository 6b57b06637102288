// The hidden names a save works under, next to its target (src/engine/model/saveLeftovers.ts): `.NAME.tmp-PID-HEX`,
// `.NAME.old-PID-HEX` and an earlier version's `.NAME.tmp-XXXXXX`. They are never checkpoints; scanners skip them.
const LEFTOVER = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]{8}$/;
const LEGACY_TMP = /^\.(.+)\.tmp-[A-Za-z0-9]{6}$/;

/** What a save's hidden name stands for (pid null: an earlier version's folder), or null when `name` is not one. */
export function parseLeftover(name: string): { target: string; kind: 'tmp' | 'old'; pid: number | null } | null {
  const m = LEFTOVER.exec(name);
  if (m) return { target: m[1]!, kind: m[2] as 'tmp' | 'old', pid: Number(m[3]) };
  const legacy = LEGACY_TMP.exec(name);
  return legacy ? { target: legacy[1]!, kind: 'tmp', pid: null } : null;
}

/** True for the temporary files and folders of a save. */
export const isSaveLeftover = (name: string): boolean => parseLeftover(name) !== null;
