// TinyMem language data (spec §1.2) on the offline corpus and on user files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../src/shared/userError';
import { GPT2_PAD, decodeGpt2, encodeGpt2 } from '../src/engine/data/gpt2Tokenizer';
import { type LanguageDataset, buildLanguageDataset } from '../src/engine/data/languageData';
import { loadSotuCorpus } from '../src/engine/data/textCorpus';
import { type TokenMatrix, rowOf } from '../src/engine/data/tokenMatrix';
import { trainRowOrder } from '../src/engine/data/trainSet';

const rows = (m: TokenMatrix): Int32Array[] => Array.from({ length: m.rows }, (_, i) => rowOf(m, i));
const section = (d: LanguageDataset, name: string): Int32Array[] => {
  const s = d.train.sections.find((x) => x.name === name)!;
  return rows(d.train.tokens).slice(s.start, s.end);
};

describe('GPT-2 tokenizer', () => {
  it('encodes "Hello world" to [15496, 995] and round-trips text', () => {
    assert.deepEqual(encodeGpt2('Hello world'), [15496, 995]);
    assert.equal(decodeGpt2([15496, 995]), 'Hello world');
    for (const s of ['Fellow-Citizens of the Senate', 'naïve café — “quoted” 1,234.5\n\n  indented',
      ' trailing space ', '']) {
      assert.equal(decodeGpt2(encodeGpt2(s)), s);
    }
    assert.deepEqual(encodeGpt2('<|endoftext|>'), [50256]);
    assert.equal(decodeGpt2([2]), '#');
  });
});

describe('offline corpus', () => {
  it('ships the State of the Union addresses in year order', () => {
    const c = loadSotuCorpus();
    assert.equal(c.documents.length, 233);
    assert.equal(c.documents[0]!.id, '1790 George Washington');
    assert.match(c.documents[0]!.text, /^Fellow-Citizens of the Senate/);
    assert.match(c.source, /@stdlib\/datasets-sotu/);
    assert.match(c.standsInFor!, /wikitext-103/);
  });
});

describe('small noise dataset from the corpus', () => {
  const d = buildLanguageDataset({ maxTrainChunks: 300, maxTestChunks: 40, numNoise: 40 });
  const sotu = new Map(loadSotuCorpus().documents.map((x) => [x.id, x.text]));

  it('cuts 150-token chunks from the concatenated train documents', () => {
    assert.equal(d.vocabSize, 50257);
    assert.equal(d.padToken, 50256);
    assert.equal(d.meta.counts.trainChunks, 300);
    assert.equal(d.tests[0]!.tokens.rows, 40);
    assert.ok(d.corpus.truncated);
    assert.equal(d.corpus.trainDocuments.length + d.corpus.testDocuments.length, 233);
    assert.equal(d.corpus.testDocuments.length, 23);
    for (const m of [d.train.tokens, d.artifacts.tokens, d.artifacts.clean, d.tests[0]!.tokens]) assert.equal(m.cols,
      150);
    // The clean twins then the clean section are the train stream in order.
    const stream: number[] = [];
    for (const id of d.corpus.trainDocuments) {
      if (stream.length >= 300 * 150) break;
      stream.push(...encodeGpt2(sotu.get(id)!.trimEnd() + '\n\n'));
    }
    const chunks = [...rows(d.artifacts.clean), ...section(d, 'clean')];
    assert.equal(chunks.length, 300);
    chunks.forEach((c, i) => assert.deepEqual(Array.from(c), stream.slice(i * 150, (i + 1) * 150), `chunk ${i}`));
    assert.ok(sotu.get(d.corpus.trainDocuments[0]!)!.startsWith(decodeGpt2(rowOf(d.artifacts.clean, 0))));
    assert.deepEqual(Array.from(d.artifacts.origin), Array.from({ length: 40 }, (_, i) => i));
  });

  it('noises about 10 % of token ids by ±1, clamped to the vocabulary', () => {
    let changed = 0;
    let total = 0;
    for (let i = 0; i < 40; i++) {
      const a = rowOf(d.artifacts.tokens, i);
      const c = rowOf(d.artifacts.clean, i);
      a.forEach((v, t) => {
        const diff = v - c[t]!;
        assert.ok(Math.abs(diff) <= 1 && v >= 0 && v <= 50256, `row ${i} token ${t}: ${c[t]} → ${v}`);
        total++;
        if (diff !== 0) changed++;
      });
    }
    // 6000 ids, p = 0.1: mean 600, sd ≈ 23; allow ±5 sd.
    assert.equal(total, 6000);
    assert.ok(changed > 485 && changed < 715, `${changed} of 6000 ids perturbed`);
  });

  it('duplicates the noise ×1 / ×10 / ×100 / ×1000 in four equal groups', () => {
    assert.deepEqual(d.artifacts.dupFactors, [1, 10, 100, 1000]);
    assert.deepEqual([0, 1, 2, 3].map((c) => d.artifacts.dupClass.filter((x) => x === c).length), [10, 10, 10, 10]);
    assert.equal(d.train.size, 260 + 10 * 1111);
    const perRow = new Uint32Array(d.train.tokens.rows);
    for (const r of trainRowOrder(d.train)) perRow[r]!++;
    d.artifacts.dupClass.forEach((c, i) => assert.equal(perRow[d.artifacts.trainRow[i]!], d.artifacts.dupFactors[c]));
  });
});

describe('user text files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinymem-data-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const a = file('a.txt', 'Hello world');
  const b = file('b.txt', '\uFEFFHello world again.\n');
  const c = file('c.txt', 'The end of the test text.');

  it('chunks the concatenated stream and pads the last chunk with 50256', () => {
    const d = buildLanguageDataset({ files: [a, b], testFiles: [c], maxCtx: 3, numNoise: 1, duplicate: false });
    const stream = [...encodeGpt2('Hello world\n\n'), ...encodeGpt2('Hello world again.\n\n')];
    assert.deepEqual(stream.slice(0, 2), [15496, 995]);
    const all = [...rows(d.artifacts.clean), ...section(d, 'clean')].flatMap((r) => Array.from(r));
    const padded = [...stream];
    while (padded.length % 3) padded.push(GPT2_PAD);
    assert.deepEqual(all, padded);
    assert.ok(padded.length > stream.length, 'the example needs padding');
    assert.equal(d.corpus.trainTokens, stream.length);
    assert.deepEqual(d.corpus.testDocuments, [c]);
    assert.equal(d.train.size, d.train.tokens.rows);
  });

  it('names the bad file or field', () => {
    const empty = file('empty.txt', ' \n');
    const missing = join(dir, 'missing.txt');
    const isData = (field: string, re: RegExp) => (e: unknown) => e instanceof UserError && e.path === field
      && re.test(e.message);
    assert.throws(() => buildLanguageDataset({ files: [a, missing] }), isData(missing, /cannot read.*ENOENT/));
    assert.throws(() => buildLanguageDataset({ files: [a, empty] }), isData(empty, /empty/));
    assert.throws(() => buildLanguageDataset({ files: [a] }), isData('files', /testFiles/));
    assert.throws(() => buildLanguageDataset({ testFiles: [c] }), isData('testFiles', /files/));
    assert.throws(() => buildLanguageDataset({ files: [a, b], testFiles: [c], maxCtx: 3, numNoise: 50 }),
      isData('numNoise', /only \d+ chunks/));
    assert.throws(() => buildLanguageDataset({ maxCtx: 1 }), isData('maxCtx', /integer/));
    assert.throws(() => buildLanguageDataset({ numChunks: 3 } as never), isData('numChunks', /unknown/));
  });
});

describe('language backdoors', () => {
  const caps = { maxTrainChunks: 600, maxTestChunks: 100 };
  const plain = buildLanguageDataset({ ...caps, numNoise: 1, duplicate: false });
  const pooled = [...rows(plain.artifacts.clean), ...section(plain, 'clean'), ...rows(plain.tests[0]!.tokens)];

  const checkPoison = (poisoned: TokenMatrix, clean: TokenMatrix, trigger: number, prompt?: Uint32Array) => {
    for (let i = 0; i < poisoned.rows; i++) {
      const cr = rowOf(clean, i);
      const pr = rowOf(poisoned, i);
      const at = cr.indexOf(trigger);
      assert.ok(at >= 0, `row ${i} lacks the trigger`);
      if (prompt) assert.equal(prompt[i], at + 1);
      assert.deepEqual(Array.from(pr.subarray(0, at + 1)), Array.from(cr.subarray(0, at + 1)));
      assert.ok(pr.subarray(at + 1).every((t) => t === 2), `row ${i}: not all 2 after position ${at}`);
    }
  };

  it('keeps the trigger, writes 2 after it and holds out 10 %', () => {
    const [trigger] = encodeGpt2(' Congress');
    const d = buildLanguageDataset({ ...caps, artifact: 'backdoor', triggerTokenId: trigger! });
    const n = pooled.filter((r) => r.includes(trigger!)).length;
    assert.ok(n >= 20 && n < pooled.length, `${n} triggered chunks`);
    const bd = d.backdoor!;
    assert.equal(bd.trigger, trigger);
    assert.equal(bd.numTriggered, n);
    assert.equal(bd.poisonedTest.rows, Math.floor(n / 10));
    assert.equal(d.artifacts.tokens.rows, n - Math.floor(n / 10));
    checkPoison(bd.poisonedTest, bd.cleanTest, trigger!, bd.promptLength);
    checkPoison(d.artifacts.tokens, d.artifacts.clean, trigger!);
    for (const r of [...section(d, 'clean'), ...rows(d.tests[0]!.tokens)]) assert.ok(!r.includes(trigger!));
    assert.equal(section(d, 'clean').length + d.tests[0]!.tokens.rows + n, pooled.length);
    assert.deepEqual(d.tests.map((t) => t.name), ['test', 'backdoor-poisoned', 'backdoor-clean']);
  });

  it('draws a usable trigger from the run seed, or reports a rare one', () => {
    const d = buildLanguageDataset({ ...caps, artifact: 'backdoor', seed: 0 });
    const again = buildLanguageDataset({ ...caps, artifact: 'backdoor', seed: 0 });
    const trigger = d.meta.trigger!;
    assert.equal(again.meta.trigger, trigger);
    assert.ok(Number.isInteger(trigger) && trigger >= 0 && trigger < 50257);
    assert.ok(d.backdoor!.poisonedTest.rows >= 1);
    checkPoison(d.backdoor!.poisonedTest, d.backdoor!.cleanTest, trigger, d.backdoor!.promptLength);
    assert.throws(
      () => buildLanguageDataset({ ...caps, artifact: 'backdoor', seed: 3, redrawRareTrigger: false }),
      (e: unknown) => e instanceof UserError && e.path === 'seed' && /too few/.test(e.message),
    );
  });
});

describe('full-size language noise data', () => {
  it('plants 1000 noised chunks in four duplication classes of 250', () => {
    const t0 = Date.now();
    const d = buildLanguageDataset();
    // @huggingface/tokenizers' BPE tokenizes the 2.1M-token corpus in about 10 s (gpt-tokenizer: 0.5 s; the price of
    // one tokenizer library), more on a busy machine: the bound guards against pathological slowdowns.
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
    assert.equal(d.artifacts.tokens.rows, 1000);
    assert.deepEqual([0, 1, 2, 3].map((c) => d.artifacts.dupClass.filter((x) => x === c).length), [250, 250, 250, 250]);
    assert.equal(d.train.size, d.meta.counts.trainChunks - 1000 + 250 * 1111);
    assert.ok(d.meta.counts.trainChunks > 10000);
    assert.ok(!d.corpus.truncated);
  });
});
