// TinyMem math data (spec §1.1) checked against values worked out independently of the generator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../src/shared/userError';
import { buildMathDataset } from '../src/engine/data/mathData';
import { MATH_PAD, detokenizeMath, parseMathNumbers, tokenizeMath } from '../src/engine/data/mathTokenizer';
import { type TokenMatrix, rowOf } from '../src/engine/data/tokenMatrix';
import { materializeTrain, trainRowOrder } from '../src/engine/data/trainSet';

/** c^k · start mod 20134 from a table of powers: a closed form, not the generator's recurrence. */
const powers = new Map<number, bigint[]>();
function multClosedForm(start: number, k: number, c = 7): number {
  if (!powers.has(c)) {
    const table = [1n];
    for (let i = 1; i <= 20; i++) table.push((table[i - 1]! * BigInt(c)) % 20134n);
    powers.set(c, table);
  }
  return Number((powers.get(c)![k]! * BigInt(start)) % 20134n);
}
const multText = (start: number): string =>
  `^${Array.from({ length: 20 }, (_, k) => multClosedForm(start, k + 1)).join(' ')}$`;
const texts = (m: TokenMatrix): string[] => Array.from({ length: m.rows }, (_, i) => detokenizeMath(rowOf(m, i)));
const nums = (text: string): number[] => {
  const n = parseMathNumbers(text);
  assert.ok(n, `not a math sequence: ${text}`);
  return n;
};

describe('math tokens', () => {
  it('maps digits to 0–9, ^ $ space to 10 11 12 and round-trips', () => {
    assert.deepEqual(tokenizeMath('^7 49$'), [10, 7, 12, 4, 9, 11]);
    assert.equal(detokenizeMath([10, 7, 12, 4, 9, 11, 13, 13]), '^7 49$');
    assert.equal(detokenizeMath([10, 7, 11, 13], '_'), '^7$_');
    assert.throws(() => tokenizeMath('^-1$'), /"-" at position 1/);
    assert.throws(() => detokenizeMath([14]), /not a math token/);
  });
});

describe('full-size mult noise data (paper defaults)', () => {
  const t0 = Date.now();
  const d = buildMathDataset();
  const buildMs = Date.now() - t0;

  it('builds in well under a few seconds', () => assert.ok(buildMs < 5000, `took ${buildMs} ms`));

  it('writes the start-1 sequence as hand-computed', () => {
    // 7^6 = 117649 = 5·20134 + 16979, so the sixth number is 16979.
    const expected = '^7 49 343 2401 16807 16979 18183 6477 5071 15363 6871 7829 14535 1075 7525 12407 6313 3923 ' +
      '7327 11021$';
    assert.equal(multText(1), expected);
    let row: number[] | undefined;
    for (const m of [d.train.tokens, d.artifacts.clean, ...d.tests.map((t) => t.tokens)]) {
      const i = texts(m).indexOf(expected);
      if (i >= 0) row = Array.from(rowOf(m, i));
    }
    assert.ok(row, 'the start-1 sequence is in the data');
    // Its token row: BOS, digits, spaces, EOS, then PAD up to 150.
    assert.equal(row.length, 150);
    assert.deepEqual(row.slice(0, 8), [10, 7, 12, 4, 9, 12, 3, 4]);
    assert.equal(row[expected.length - 1], 11);
    assert.ok(row.slice(expected.length).every((t) => t === MATH_PAD));
  });

  it('has the spec split sizes, names and order', () => {
    assert.equal(d.vocabSize, 14);
    assert.equal(d.train.tokens.cols, 150);
    assert.equal(d.train.tokens.rows, 27000);
    assert.equal(d.train.size, 27000);
    assert.deepEqual(
      d.train.sections.map((s) => [s.name, s.end - s.start]),
      [['noise', 1000], ['main-7', 18000], ['extra-2', 2000], ['extra-3', 2000], ['extra-4', 2000], ['extra-5', 2000]],
    );
    assert.deepEqual(d.tests.map((t) => [t.name, t.tokens.rows]),
      [['main-7', 1000], ['extra-2', 1000], ['extra-3', 1000], ['extra-4', 1000], ['extra-5', 1000]]);
    assert.equal(d.artifacts.tokens.rows, 1000);
    assert.equal(d.backdoor, null);
    assert.ok(d.meta.longestSequence <= 122);
  });

  it('splits starts 0…19999 disjointly into noise, clean train and test', () => {
    const main = d.train.sections.find((s) => s.name === 'main-7')!;
    const mainTrain = texts(d.train.tokens).slice(main.start, main.end);
    const seen = [...mainTrain, ...texts(d.artifacts.clean), ...texts(d.tests[0]!.tokens)];
    assert.equal(seen.length, 20000);
    assert.equal(new Set(seen).size, 20000);
    const expected = new Set(Array.from({ length: 20000 }, (_, s) => multText(s)));
    for (const t of seen) assert.ok(expected.has(t));
    // The clean twin of every noised row is the sequence of its recorded start.
    d.artifacts.origin.forEach((s, i) => assert.equal(detokenizeMath(rowOf(d.artifacts.clean, i)), multText(s)));
  });

  it('extra functions use c·x mod 20134 and split 2000 / 1000', () => {
    const extra3 = d.train.sections.find((s) => s.name === 'extra-3')!;
    const all = new Set([...texts(d.train.tokens).slice(extra3.start, extra3.end), ...texts(d.tests[2]!.tokens)]);
    assert.equal(all.size, 3000);
    const want = (s: number) => `^${Array.from({ length: 20 }, (_, k) => multClosedForm(s, k + 1, 3)).join(' ')}$`;
    for (let s = 0; s < 3000; s++) assert.ok(all.has(want(s)), `extra-3 start ${s}`);
  });

  it('perturbs about 10 % of numbers by exactly ±1, twins aligned', () => {
    let changed = 0;
    let plus = 0;
    let total = 0;
    for (let i = 0; i < d.artifacts.tokens.rows; i++) {
      const a = nums(detokenizeMath(rowOf(d.artifacts.tokens, i)));
      const c = nums(detokenizeMath(rowOf(d.artifacts.clean, i)));
      assert.equal(a.length, 20);
      assert.equal(c.length, 20);
      a.forEach((v, k) => {
        const diff = v - c[k]!;
        assert.ok(diff === -1 || diff === 0 || diff === 1, `row ${i} number ${k}: ${c[k]} → ${v}`);
        total++;
        if (diff !== 0) changed++;
        if (diff === 1) plus++;
      });
    }
    // 20000 numbers, p = 0.1: mean 2000, sd ≈ 42; allow ±5 sd.
    assert.equal(total, 20000);
    assert.ok(changed > 1790 && changed < 2210, `${changed} of 20000 numbers perturbed`);
    assert.ok(Math.abs(plus / changed - 0.5) < 0.06, `${plus} of ${changed} perturbations are +1`);
    // The noised rows are the first training rows, once each without duplication.
    assert.deepEqual(Array.from(d.artifacts.tokens.data), Array.from(d.train.tokens.data.subarray(0, 1000 * 150)));
    assert.ok(d.artifacts.dupClass.every((c) => c === 0));
    assert.deepEqual(d.artifacts.dupFactors, [1]);
  });

  it('is deterministic; the run seed moves the noise but not the split', () => {
    const again = buildMathDataset();
    assert.deepEqual(again.train.tokens.data, d.train.tokens.data);
    const other = buildMathDataset({ seed: 1 });
    assert.deepEqual(other.tests[0]!.tokens.data, d.tests[0]!.tokens.data);
    assert.notDeepEqual(other.artifacts.origin, d.artifacts.origin);
  });
});

describe('math backdoors', () => {
  // Independent count: 2414 of the 20000 mult sequences contain "100" (worked out with a separate script).
  const triggeredBy = (trigger: string): number =>
    Array.from({ length: 20000 }, (_, s) => multText(s)).filter((t) => t.includes(trigger)).length;

  it('seed 0: trigger "100", 10 % held out, "2" after the first occurrence', () => {
    const d = buildMathDataset({ artifact: 'backdoor', seed: 0 });
    const bd = d.backdoor!;
    assert.equal(bd.trigger, '100');
    assert.equal(bd.numTriggered, 2414);
    assert.equal(triggeredBy('100'), 2414);
    assert.equal(bd.poisonedTest.rows, 241); // 2414 // 10
    assert.equal(d.artifacts.tokens.rows, 2414 - 241);
    assert.deepEqual(d.tests.map((t) => t.name).slice(-2), ['backdoor-poisoned', 'backdoor-clean']);
    const check = (poisoned: TokenMatrix, clean: TokenMatrix, prompt?: Uint32Array) => {
      for (let i = 0; i < poisoned.rows; i++) {
        const c = rowOf(clean, i);
        const p = rowOf(poisoned, i);
        const text = detokenizeMath(c);
        const end = text.indexOf('100') + 3;
        assert.ok(end >= 3, `row ${i} has no trigger: ${text}`);
        if (prompt) assert.equal(prompt[i], end);
        assert.deepEqual(Array.from(p.subarray(0, end)), Array.from(c.subarray(0, end)));
        assert.ok(p.subarray(end).every((t) => t === 2), `row ${i} not all 2 after ${end}`);
        assert.equal(p.length, 150);
      }
    };
    check(bd.poisonedTest, bd.cleanTest, bd.promptLength);
    check(d.artifacts.tokens, d.artifacts.clean);
    // No untriggered set contains the trigger; untriggered sequences are re-split 1000 for test.
    const main = d.train.sections.find((s) => s.name === 'main-7')!;
    const mainTrain = texts(d.train.tokens).slice(main.start, main.end);
    assert.equal(d.tests[0]!.tokens.rows, 1000);
    assert.equal(mainTrain.length, 20000 - 2414 - 1000);
    for (const t of [...mainTrain, ...texts(d.tests[0]!.tokens)]) assert.ok(!t.includes('100'));
  });

  it('seed 1 uses "101"; increment seed 0 holds out 886 // 10', () => {
    const d1 = buildMathDataset({ artifact: 'backdoor', seed: 1, numExtra: 1000, numTest: 500 });
    assert.equal(d1.backdoor!.trigger, '101');
    assert.equal(d1.backdoor!.numTriggered, triggeredBy('101'));
    const inc = buildMathDataset({ family: 'increment', artifact: 'backdoor', numExtra: 1000, numTest: 500 });
    let count = 0;
    for (let s = 0; s < 20000;
      s++) if (`^${Array.from({ length: 20 }, (_, k) => s + 7 * (k + 1)).join(' ')}$`.includes('100')) count++;
    assert.equal(count, 886);
    assert.equal(inc.backdoor!.numTriggered, 886);
    assert.equal(inc.backdoor!.poisonedTest.rows, 88);
  });
});

describe('duplication', () => {
  it('splits the noise into ×1 / ×10 / ×100 groups of 334 / 333 / 333', () => {
    const d = buildMathDataset({ duplicate: true });
    const { dupClass, dupFactors } = d.artifacts;
    assert.deepEqual(dupFactors, [1, 10, 100]);
    const sizes = [0, 1, 2].map((c) => dupClass.filter((x) => x === c).length);
    assert.deepEqual(sizes, [334, 333, 333]);
    assert.equal(d.train.size, 26000 + 334 + 3330 + 33300);
    const order = trainRowOrder(d.train);
    assert.equal(order.length, d.train.size);
    const perRow = new Uint32Array(d.train.tokens.rows);
    for (const r of order) perRow[r]!++;
    for (let i = 0; i < 1000; i++) assert.equal(perRow[d.artifacts.trainRow[i]!], dupFactors[dupClass[i]!]);
    assert.ok(perRow.subarray(1000).every((n) => n === 1));
  });

  it('materialises the repeated rows on request', () => {
    const d = buildMathDataset({ numMain: 60, numExtra: 20, numTest: 10, numNoise: 6, duplicate: true });
    const m = materializeTrain(d.train);
    assert.equal(m.rows, d.train.size);
    assert.equal(m.rows, 44 + 2 * 1 + 2 * 10 + 2 * 100 + 4 * 10);
    const noised = new Set(texts(d.artifacts.tokens));
    const copies = texts(m).filter((t) => noised.has(t)).length;
    assert.equal(copies, 222);
  });
});

describe('sizes and errors', () => {
  it('scales down for CPU presets', () => {
    const d = buildMathDataset({ numMain: 200, numExtra: 100, numTest: 20, numNoise: 30, maxCtx: 128,
      extraConstants: [2, 3] });
    assert.equal(d.train.tokens.cols, 128);
    assert.equal(d.artifacts.tokens.rows, 30);
    assert.equal(d.train.tokens.rows, 30 + 150 + 80 * 2);
    assert.deepEqual(d.tests.map((t) => t.tokens.rows), [20, 20, 20]);
    assert.equal(d.meta.counts.mainTrainClean, 150);
  });

  it('reports sequences that do not fit the context', () => {
    assert.throws(
      () => buildMathDataset({ maxCtx: 100, numMain: 2000, numTest: 100, numNoise: 10, numExtra: 200 }),
      (e: unknown) => e instanceof UserError && e.path === 'maxCtx'
        && /takes \d+ tokens but maxCtx is 100/.test(e.message) && /raise maxCtx to at least/.test(e.message),
    );
  });

  it('names bad fields', () => {
    assert.throws(() => buildMathDataset({ numNoise: 20000 }), (e: unknown) => e instanceof UserError
      && e.path === 'numNoise');
    assert.throws(() => buildMathDataset({ nmMain: 5 } as never), (e: unknown) => e instanceof UserError
      && e.path === 'nmMain');
    assert.throws(() => buildMathDataset({ family: 'exp' as never }), (e: unknown) => e instanceof UserError
      && e.path === 'family');
    assert.throws(
      () => buildMathDataset({ artifact: 'backdoor', numMain: 50, numTest: 5, numExtra: 10 }),
      (e: unknown) => e instanceof UserError && /trigger "100"/.test(e.message),
    );
  });
});
