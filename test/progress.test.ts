// A running cell's progress view: the time-left estimate (fake times), the payload the renderer validates, its text
// fallback and status-bar heading, and the throttle that keeps live output updates at 2 Hz or less (fake clock).
import assert from 'node:assert/strict';
import test from 'node:test';
import { type Clock, LIVE_UPDATE_MS, LiveThrottle } from '../src/extension/liveThrottle';
import { PROGRESS_MIME, formatDuration, makeProgressPayload, progressHeading, progressText, stepOfSource,
  timesText, validateProgressPayload } from '../src/shared/progressPayload';
import { TimeLeft } from '../src/shared/timeLeft';
import { UserError } from '../src/shared/userError';

test('time left: measured from the phase\u2019s first report, so set-up time does not count', () => {
  const t = new TimeLeft();
  // 10 s of set-up without a fraction, then 1 % per second.
  assert.equal(t.observe(0, undefined), undefined);
  assert.equal(t.observe(10_000, 0.1), undefined, 'one report is no rate');
  assert.equal(t.observe(10_500, 0.105), undefined, 'under a second of phase is too little');
  // 20 s later 20 % more: 1 %/s, so 70 % left is 70 s.
  assert.ok(Math.abs(t.observe(30_000, 0.3)! - 70) < 1e-9);
  assert.ok(Math.abs(t.observe(80_000, 0.8)! - 20) < 1e-9);
  assert.equal(t.observe(100_000, 1), 0);
  // Set-up time does not inflate the estimate: 60 s of set-up, then 2 %/s.
  const s = new TimeLeft();
  s.observe(60_000, 0);
  const left = s.observe(70_000, 0.2)!;
  assert.ok(Math.abs(left - 40) < 1e-9, `40 s left at 2 %/s, got ${left}`);
  const naive = (70 * 0.8) / 0.2;
  assert.notEqual(Math.round(left), Math.round(naive), 'differs from elapsed·(1−f)/f (280 s)');
});

test('time left: a fraction that goes back starts a new phase; no fraction, no estimate', () => {
  const t = new TimeLeft();
  t.observe(0, 0);
  assert.ok(Math.abs(t.observe(10_000, 0.5)! - 10) < 1e-9);
  // The next method of a compare starts at 0 again, ten times slower.
  assert.equal(t.observe(20_000, 0.0), undefined);
  assert.ok(Math.abs(t.observe(120_000, 0.5)! - 100) < 1e-9);
  assert.equal(t.observe(121_000, undefined), undefined);
  assert.equal(t.observe(122_000, Number.NaN), undefined);
});

test('the progress payload: built clamped, validated by the renderer, bad fields named', () => {
  const p = makeProgressPayload({ step: 'train', cell: 'cell 2', message: 'epoch 3.20/20 loss 0.5120 on cpu',
    fraction: 0.3456, elapsedSeconds: 62.4, leftSeconds: 121, provider: 'cpu' });
  assert.deepEqual(validateProgressPayload(JSON.stringify(p)), p);
  assert.equal(PROGRESS_MIME, 'application/vnd.tinymem.progress+json');
  const clamped = makeProgressPayload({ step: 'x', message: 'm'.repeat(1000), fraction: 1.2, elapsedSeconds: -3,
    leftSeconds: Number.POSITIVE_INFINITY });
  assert.deepEqual([clamped.fraction, clamped.elapsedSeconds, clamped.leftSeconds, clamped.message.length],
    [1, 0, undefined, 400]);
  validateProgressPayload(clamped);
  const bad = (x: unknown, field: RegExp) => assert.throws(() => validateProgressPayload(x), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, field);
    return true;
  });
  bad({ ...p, fraction: 1.5 }, /fraction must be in \[0, 1\]/);
  bad({ ...p, elapsedSeconds: -1 }, /elapsedSeconds must be ≥ 0/);
  bad({ ...p, version: 2 }, /version must be 1/);
  bad({ ...p, message: 7 }, /message must be a string/);
  bad({ ...p, step: undefined }, /step/);
  bad('{"version": 1', /not valid JSON/);
  bad([p], /must be an object/);
});

test('the text fallback and the status bar heading say it all without a glyph', () => {
  const p = makeProgressPayload({ step: 'train', cell: 'cell 2', message: 'epoch 3.20/20', fraction: 0.349,
    elapsedSeconds: 62, leftSeconds: 125, provider: 'cpu' });
  assert.equal(progressHeading(p), 'train · cell 2 · 34 %');
  assert.equal(progressText(p), 'train · cell 2 · 34 % · 1 min 02 s elapsed · about 2 min 05 s left · on cpu\n' +
    'epoch 3.20/20');
  assert.equal(progressHeading({ step: 'memorization' }), 'memorization');
  assert.doesNotMatch(progressText(p), /\u23f3/);
  assert.deepEqual([0.4, 59.6, 61, 3599, 3600, 7260].map(formatDuration),
    ['0 s', '1 min 00 s', '1 min 01 s', '59 min 59 s', '1 h 00 min', '2 h 01 min']);
  // The renderer's clock between updates: elapsed grows, time left shrinks to "finishing".
  assert.equal(timesText(p, 0), '1 min 02 s elapsed · about 2 min 05 s left · provider cpu');
  assert.equal(timesText(p, 5), '1 min 07 s elapsed · about 2 min 00 s left · provider cpu');
  assert.equal(timesText(p, 130), '3 min 12 s elapsed · finishing · provider cpu');
  assert.deepEqual(['step: train\npreset: x', 'sweep: a.yaml', '# nothing', 'title: t\nstep: compare'].map(
    stepOfSource), ['train', 'sweep', 'cell', 'compare']);
});

/** A clock whose timers fire when the test advances time. */
function fakeClock(): Clock & { advance(to: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: next });
      return next++;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
    advance(to) {
      for (;;) {
        const due = timers.filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = to;
    },
  };
}

test(`live updates: at most one per ${LIVE_UPDATE_MS} ms (2 Hz), the latest value always sent`, () => {
  assert.ok(LIVE_UPDATE_MS >= 500, 'the controller updates at 2 Hz or less');
  const clock = fakeClock();
  const sent: { t: number; v: number }[] = [];
  const th = new LiveThrottle<number>(LIVE_UPDATE_MS, (v) => sent.push({ t: clock.now(), v }), clock);
  // 10 s of progress every 20 ms (50 Hz), with irregular gaps.
  let v = 0;
  for (let t = 0; t <= 10_000; t += t % 700 === 0 ? 37 : 20) {
    clock.advance(t);
    th.push(v++);
  }
  clock.advance(20_000);
  const gaps = sent.slice(1).map((s, i) => s.t - sent[i]!.t);
  assert.ok(Math.min(...gaps) >= LIVE_UPDATE_MS, `closest sends ${Math.min(...gaps)} ms apart`);
  assert.ok(sent.length <= 10_000 / LIVE_UPDATE_MS + 2, `${sent.length} sends in 10 s`);
  assert.ok(sent.length >= 10_000 / LIVE_UPDATE_MS - 1, `not starved: ${sent.length} sends`);
  assert.equal(sent[0]!.t, 0, 'the first value goes out at once');
  assert.equal(sent.at(-1)!.v, v - 1, 'the last value is sent');
  // Values only ever move forward (no stale one after a newer).
  assert.ok(sent.every((s, i) => i === 0 || s.v > sent[i - 1]!.v));
});

test('live updates: cancel drops the waiting value; a quiet spell lets the next one out at once', () => {
  const clock = fakeClock();
  const sent: number[] = [];
  const th = new LiveThrottle<number>(500, (v) => sent.push(v), clock);
  th.push(1);
  clock.advance(100);
  th.push(2);
  th.cancel();
  clock.advance(2000);
  assert.deepEqual(sent, [1]);
  th.push(3);
  assert.deepEqual(sent, [1, 3], 'more than an interval after the last send: sent at once');
});
