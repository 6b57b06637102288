// The time left of a running cell, from how fast its fraction has moved. The rate is measured from the first report
// of the current phase, not from the cell's start, so set-up time (building data, loading the model) does not inflate
// the estimate; a fraction that goes back (the next method of a compare, evaluation after training) starts a new
// phase. Nothing is promised before the phase has run a second and moved.
export const MIN_PHASE_MS = 1000;

export class TimeLeft {
  private start: { t: number; f: number } | undefined;
  private last = -1;

  /** Feed each progress report (time in ms, fraction 0…1 or undefined); returns the seconds left, when known. */
  observe(t: number, fraction: number | undefined): number | undefined {
    if (fraction === undefined || !Number.isFinite(fraction)) return undefined;
    const f = Math.min(1, Math.max(0, fraction));
    if (!this.start || f < this.last) this.start = { t, f };
    this.last = f;
    if (f >= 1) return 0;
    const moved = f - this.start.f;
    const ms = t - this.start.t;
    if (moved <= 0 || ms < MIN_PHASE_MS) return undefined;
    return ((ms / moved) * (1 - f)) / 1000;
  }
}
