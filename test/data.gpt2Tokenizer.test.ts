// GPT-2's tokenizer.json, derived from gpt-tokenizer's r50k_base rank table and run by @huggingface/tokenizers, must
// give exactly the ids of gpt-tokenizer's own r50k_base encoder (an independent BPE implementation over the same
// table) on varied text and on the language dataset's corpus, and decode them back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from 'gpt-tokenizer/encoding/r50k_base';
import { decodeGpt2, encodeGpt2 } from '../src/engine/data/gpt2Tokenizer';
import { gpt2TokenizerJson } from '../src/engine/data/gpt2TokenizerJson';
import { Rng } from '../src/engine/data/rng';
import { loadSotuCorpus } from '../src/engine/data/textCorpus';

/**
 * gpt-tokenizer's ids, with a literal "<|endoftext|>" anywhere as token 50256 (as Hugging Face tokenizers and
 * transformers treat an added special token; gpt-tokenizer misses some occurrences, e.g. right after "ع").
 */
const reference = (s: string): number[] =>
  s.split('<|endoftext|>').flatMap((part, i) => [...(i > 0 ? [50256] : []), ...encode(part)]);

/** Random strings over pieces that exercise the pre-tokenizer: letters of many scripts, digits, spaces, symbols. */
function variedStrings(n: number): string[] {
  const pieces = ['a', 'Z', 'é', 'ß', 'ñ', 'Ж', 'ω', 'ع', 'न', '日', '本', '語', 'ｶ', '한', '🙂', '👍🏽', '\u{1F680}',
    '0', '7', '42', '٣', '½', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', "'s", "'t", "'re", "'ll", "'D", '.',
    ',', '!?', '—', '“', '”', '$', '#', '@', '\\', '{}', '<|endoftext|>', '<|', 'endoftext', ' the', 'The', 'ing',
    'http://x.y/z?q=1', 'ü\u0308', '\u200b', '\u0000', '\u007f', 'Ġ', 'Ċ'];
  const rng = new Rng(14);
  return Array.from({ length: n }, () => {
    let s = '';
    const len = 1 + Math.floor(rng.float() * 24);
    for (let i = 0; i < len; i++) s += pieces[Math.floor(rng.float() * pieces.length)];
    return s;
  });
}

describe('GPT-2 tokenizer.json (derived from r50k_base, run by @huggingface/tokenizers)', () => {
  it('has GPT-2\'s vocabulary and merges', () => {
    const { vocab, merges } = gpt2TokenizerJson();
    assert.equal(Object.keys(vocab).length, 50257);
    assert.equal(merges.length, 50000);
    // The first merges and entries of GPT-2's published merges.txt and vocab.json.
    assert.deepEqual(merges.slice(0, 5), ['Ġ t', 'Ġ a', 'h e', 'i n', 'r e']);
    assert.equal(merges[49999], 'Ġg azed');
    assert.equal(vocab['!'], 0);
    assert.equal(vocab['Ġ'], 220);
    assert.equal(vocab['Ċ'], 198);
    assert.equal(vocab['Ġthe'], 262);
    assert.equal(vocab['<|endoftext|>'], 50256);
  });

  it('gives gpt-tokenizer\'s r50k_base ids on 400 varied strings and decodes them back', () => {
    const strings = [...variedStrings(400), '', ' ', 'Hello world', '1234567890 12 123', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      "I'm sure they'll say it's 3.14, isn't it?", '   leading and trailing   ', 'naïve café — “quoted”'];
    let tokens = 0;
    for (const s of strings) {
      const ids = encodeGpt2(s);
      assert.deepEqual(ids, reference(s), JSON.stringify(s));
      assert.equal(decodeGpt2(ids), decode(ids), JSON.stringify(s));
      tokens += ids.length;
    }
    assert.ok(tokens > 4000, `only ${tokens} tokens compared`);
  });

  it('gives gpt-tokenizer\'s ids on the language dataset\'s corpus (every 10th document, as chunked)', () => {
    const docs = loadSotuCorpus().documents.filter((_, i) => i % 10 === 0);
    let tokens = 0;
    for (const d of docs) {
      const text = d.text.trimEnd() + '\n\n';
      const ids = encodeGpt2(text);
      assert.deepEqual(ids, reference(text), d.id);
      tokens += ids.length;
    }
    assert.ok(tokens > 100_000, `only ${tokens} tokens compared`);
  });
});
