// safetensors reader/writer: hand-built files, exact half-precision conversion, round trips, corruption, shards.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../src/shared/userError';
import {
  type TensorInput, contentHash, parseSafetensors, readSafetensors, readSafetensorsDir,
  readSafetensorsHeader, readShardedSafetensors, serializeSafetensors, writeSafetensors,
} from '../src/engine/model/safetensors';
import {
  bf16ToFloat32Array, bf16ToNumber, f16ToFloat32Array, f16ToNumber, float32ToBf16Array, float32ToF16Array,
} from '../src/engine/model/float16';

const root = mkdtempSync(join(tmpdir(), 'tinymem-safetensors-'));
after(() => rmSync(root, { recursive: true, force: true }));
let fileCounter = 0;
const tmpFile = (bytes: Uint8Array) => {
  const f = join(root, `case${fileCounter++}.safetensors`);
  writeFileSync(f, bytes);
  return f;
};

/** A safetensors file from a hand-written header string and raw data bytes (header padded to 8 like writers do). */
function handBuilt(header: string, data: Uint8Array, pad = true): Buffer {
  let json = Buffer.from(header, 'utf8');
  if (pad && json.length % 8 !== 0) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

/** Little-endian bytes of the given values via DataView (independent of the code under test). */
function le(kind: 'f32' | 'i32' | 'u16' | 'f64', values: number[]): Uint8Array {
  const size = { f32: 4, i32: 4, u16: 2, f64: 8 }[kind];
  const dv = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (kind === 'f32') dv.setFloat32(i * size, v, true);
    else if (kind === 'i32') dv.setInt32(i * size, v, true);
    else if (kind === 'u16') dv.setUint16(i * size, v, true);
    else dv.setFloat64(i * size, v, true);
  });
  return new Uint8Array(dv.buffer);
}

test('F16 bit patterns convert to hand-computed values', () => {
  assert.equal(f16ToNumber(0x3c00), 1);
  assert.equal(f16ToNumber(0xc000), -2);
  assert.equal(f16ToNumber(0x7bff), 65504); // largest finite half
  assert.equal(f16ToNumber(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(f16ToNumber(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.equal(f16ToNumber(0x0400), 2 ** -14); // smallest normal
  assert.equal(f16ToNumber(0x3555), 0.333251953125);
  assert.equal(f16ToNumber(0x7c00), Infinity);
  assert.equal(f16ToNumber(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16ToNumber(0x7e00)));
  assert.ok(Number.isNaN(f16ToNumber(0x7c01)));
  assert.ok(Object.is(f16ToNumber(0x8000), -0));
  assert.ok(Object.is(f16ToNumber(0x8001), -(2 ** -24)));
});

test('F16 → F32 is exact for all 65536 patterns (checked against the textbook formula) and F32 → F16 inverts it',
  () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = f16ToFloat32Array(all);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 31;
      const frac = h & 1023;
      const want = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity)
      : sign * (1 + frac / 1024) * 2 ** (exp - 15);
      if (!Object.is(f[h], want)) assert.fail(`0x${h.toString(16)}: got ${f[h]}, want ${want}`);
    }
    const back = float32ToF16Array(f);
    for (let h = 0; h < 65536; h++) {
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNan ? (back[h]! & 0x7e00) !== 0x7e00 : back[h] !== h) assert.fail(
        `0x${h.toString(16)} round-tripped to 0x${back[h]!.toString(16)}`);
    }
  });

test('F32 → F16 and BF16 round to nearest, ties to even', () => {
  const h = (x: number) => float32ToF16Array(new Float32Array([x]))[0];
  assert.equal(h(1 + 2 ** -11), 0x3c00); // halfway, even below
  assert.equal(h(1 + 3 * 2 ** -11), 0x3c02); // halfway, even above
  assert.equal(h(65504), 0x7bff);
  assert.equal(h(65520), 0x7c00); // halfway to the next binade rounds to even → inf
  assert.equal(h(1e6), 0x7c00);
  assert.equal(h(2 ** -25), 0x0000); // halfway between 0 and the smallest subnormal → 0
  assert.equal(h(1.5 * 2 ** -25), 0x0001);
  assert.equal(h(-(2 ** -24)), 0x8001);
  assert.equal(h(2 ** -14 - 2 ** -25), 0x0400); // rounds up out of the subnormals
  const b = (x: number) => float32ToBf16Array(new Float32Array([x]))[0];
  assert.equal(b(1), 0x3f80);
  assert.equal(b(1 + 2 ** -8), 0x3f80);
  assert.equal(b(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(b(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bf16ToNumber(b(NaN)!)));
});

test('BF16 bit patterns convert exactly', () => {
  assert.equal(bf16ToNumber(0x3f80), 1);
  assert.equal(bf16ToNumber(0xc000), -2);
  assert.equal(bf16ToNumber(0x7f80), Infinity);
  assert.equal(bf16ToNumber(0x0001), 2 ** -133);
  assert.deepEqual([...bf16ToFloat32Array(new Uint16Array([0x3f80, 0x4049, 0x8000]))], [1, 3.140625, -0]);
});

test('a hand-built file parses: values, dtypes, shapes, metadata, F16/BF16 to float32 on request', () => {
  // Data: a F32 [2,2] at 0..16, b I32 [3] at 16..28, h F16 [5] at 28..38, g BF16 [1] at 38..40.
  const data = Buffer.concat([
    le('f32', [1.5, -2, 0.25, 1e-3]), le('i32', [7, -1, 2147483647]),
    le('u16', [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]), le('u16', [0x3f80]),
  ]);
  const header = '{"__metadata__":{"format":"pt","note":"hand made"},'
    + '"b":{"dtype":"I32","shape":[3],"data_offsets":[16,28]},'
    + '"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},'
    + '"h":{"dtype":"F16","shape":[5],"data_offsets":[28,38]},'
    + '"g":{"dtype":"BF16","shape":[1,1],"data_offsets":[38,40]}}';
  const file = tmpFile(handBuilt(header, data));
  for (const st of [readSafetensors(file), parseSafetensors(readFileSync(file))]) {
    assert.deepEqual(st.metadata, { format: 'pt', note: 'hand made' });
    assert.deepEqual([...st.tensors.keys()], ['a', 'b', 'h', 'g']); // file (offset) order
    const a = st.tensors.get('a')!;
    assert.equal(a.dtype, 'F32');
    assert.deepEqual(a.shape, [2, 2]);
    assert.ok(a.data instanceof Float32Array);
    assert.deepEqual([...a.data], [1.5, -2, 0.25, Math.fround(1e-3)]);
    assert.deepEqual([...st.tensors.get('b')!.data], [7, -1, 2147483647]);
    assert.deepEqual([...st.tensors.get('h')!.data], [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]); // raw bits by default
    assert.equal(st.tensors.get('h')!.dtype, 'F16');
  }
  const f = readSafetensors(file, { toFloat32: true });
  const h = f.tensors.get('h')!;
  assert.equal(h.dtype, 'F32');
  assert.equal(h.convertedFrom, 'F16');
  assert.deepEqual([...h.data], [1, -2, 65504, 2 ** -24, Infinity]);
  assert.deepEqual(f.tensors.get('g'),
    { dtype: 'F32', shape: [1, 1], data: new Float32Array([1]), convertedFrom: 'BF16' });
  assert.deepEqual(readSafetensorsHeader(file).entries.map((e) => e.name), ['a', 'b', 'h', 'g']);
});

test('misaligned tensor data is copied into an aligned array; aligned data is a zero-copy view', () => {
  // A 3-byte U8 tensor first puts the F32 tensor at data offset 3; the header (length 8k) keeps the data start aligned.
  const data = Buffer.concat([Buffer.from([1, 2, 3]), le('f32', [3.25, -1])]);
  const bytes = handBuilt(
    '{"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"x":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}}',
    data);
  const aligned = new Uint8Array(new ArrayBuffer(bytes.length));
  aligned.set(bytes);
  const st = parseSafetensors(aligned);
  const x = st.tensors.get('x')!.data as Float32Array;
  assert.equal(x.byteOffset % 4, 0);
  assert.deepEqual([...x], [3.25, -1]);
  assert.notEqual(x.buffer, aligned.buffer); // copied
  assert.equal(st.tensors.get('u')!.data.buffer, aligned.buffer); // U8 never needs a copy
  assert.deepEqual([...readSafetensors(tmpFile(bytes)).tensors.get('x')!.data], [3.25, -1]);

  const ok = serializeSafetensors({ y: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
  const view = parseSafetensors(ok).tensors.get('y')!.data;
  assert.equal(view.buffer, ok.buffer); // no copy when aligned
});

test('round trip of every dtype, scalars and empty tensors, in sorted contiguous order with an 8-aligned header',
  () => {
    const tensors: Record<string, TensorInput> = {
      f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, NaN, Infinity, -0]) },
      f64: { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
      f16: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7c00]) },
      f16fromf32: { dtype: 'F16', shape: [2], data: new Float32Array([0.5, 65504]) },
      bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xbf80]) },
      i64: { dtype: 'I64', shape: [3], data: new BigInt64Array([0n, -5n, 9007199254740993n]) },
      i32: { dtype: 'I32', shape: [1, 2], data: new Int32Array([-7, 42]) },
      u8: { dtype: 'U8', shape: [4], data: new Uint8Array([0, 1, 128, 255]) },
      bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([7]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      '10': { dtype: 'U8', shape: [1], data: new Uint8Array([10]) },
      '9': { dtype: 'U8', shape: [1], data: new Uint8Array([9]) },
    };
    const file = join(root, 'all.safetensors');
    const written = writeSafetensors(file, tensors, { format: 'pt' });
    const bytes = readFileSync(file);
    assert.equal(written.bytes, bytes.length);
    assert.equal(written.contentHash, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    assert.equal(contentHash(file), written.contentHash);
    assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-')), []);

    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const headerText = bytes.subarray(8, 8 + n).toString('utf8');
    assert.match(headerText, /} *$/); // padded with spaces
    const header = JSON.parse(headerText) as Record<string, { data_offsets: [number, number] }>;
    const names = Object.keys(tensors).sort();
    // Tensors in sorted name order, contiguous from 0 to the end of the file. ("10" < "9" as strings.)
    let offset = 0;
    for (const name of names) {
      assert.deepEqual(header[name]!.data_offsets[0], offset, name);
      offset = header[name]!.data_offsets[1];
    }
    assert.equal(8 + n + offset, bytes.length);
    assert.ok(headerText.indexOf('"10"') < headerText.indexOf('"9"')
    && headerText.indexOf('"9"') < headerText.indexOf('"bf16"'));

    for (const st of [readSafetensors(file), parseSafetensors(serializeSafetensors(tensors, { format: 'pt' }))]) {
      assert.deepEqual(st.metadata, { format: 'pt' });
      assert.deepEqual([...st.tensors.keys()], names);
      for (const [name, t] of Object.entries(tensors)) {
        const got = st.tensors.get(name)!;
        assert.equal(got.dtype, t.dtype, name);
        assert.deepEqual(got.shape, t.shape, name);
        const want = name === 'f16fromf32' ? new Uint16Array([0x3800, 0x7bff]) : t.data;
        assert.equal(got.data.constructor, want.constructor, name);
        assert.deepEqual([...got.data], [...want], name);
      }
    }
    // Overwriting an existing file is atomic too and leaves no temporaries.
    writeSafetensors(file, { only: tensors.u8! });
    assert.deepEqual([...readSafetensors(file).tensors.keys()], ['only']);
    assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-')), []);
  });

test('writing refuses mismatched data and reserved names, naming the tensor', () => {
  const file = join(root, 'bad-write.safetensors');
  const bad: [Record<string, TensorInput>, RegExp][] = [
    [{ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }, /"w".*3 elements but the data has 2/],
    [{ w: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }, /"w".*I32 needs a Int32Array, got Float32Array/],
    [{ w: { dtype: 'BOOL', shape: [1], data: new Uint8Array([2]) } }, /"w".*0 or 1/],
    [{ w: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } }, /"w".*shape/],
    [{ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }, /reserved/],
  ];
  for (const [tensors, re] of bad) {
    assert.throws(() => writeSafetensors(file, tensors), (e: Error) => e instanceof UserError
      && e.message.startsWith(file) && re.test(e.message));
  }
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.bad-write') || f === 'bad-write.safetensors'), []);
});

test('corrupt files give errors that name the file and say what is wrong', () => {
  const good = serializeSafetensors(
    { a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
      b: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } });
  const len = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /0 bytes, shorter than the 8-byte header length/],
    ['5 bytes', new Uint8Array(5), /5 bytes, shorter than the 8-byte/],
    ['header length past the end', Buffer.concat([len(1000), Buffer.from('{}      ')]),
      /header length \(1000 bytes\) runs past the end of the file \(16 bytes\)/],
    ['huge header length', Buffer.concat([len(2 ** 62), Buffer.from('{}')]), /runs past the end/],
    ['a PyTorch zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(60)]), /PyTorch zip checkpoint/],
    ['invalid JSON', handBuilt('{"a": {"dtype": "F32",', new Uint8Array(0)), /not valid JSON/],
    ['invalid UTF-8', Buffer.concat([len(8), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x20, 0x20, 0x20, 0x20])]),
      /not valid UTF-8/],
    ['header is an array', handBuilt('[1, 2]', new Uint8Array(0)), /must be a JSON object/],
    ['unknown dtype', handBuilt('{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', new Uint8Array(2)),
      /tensor "w" has dtype "F8_E4M3".*supported: F64, F32, F16, BF16, I64, I32, U8, BOOL/],
    ['bad shape', handBuilt('{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /tensor "w": shape must be/],
    ['bad offsets', handBuilt('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', new Uint8Array(8)),
      /tensor "w": data_offsets must be \[begin, end\]/],
    ['offsets out of order', handBuilt('{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', new Uint8Array(8)),
      /tensor "w": data_offsets \[8, 0\] are out of order/],
    ['size mismatch', handBuilt('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /tensor "w": shape \[3\] × F32 \(4 bytes\) needs 12 bytes but data_offsets \[0, 8\] span 8/],
    ['offsets past the data',
      handBuilt('{"w":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}}', new Uint8Array(8)),
      /truncated: tensor "w" needs bytes up to/],
    ['overlap',
      handBuilt(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        new Uint8Array(8)), /tensors "a" \[0, 8\) and "b" \[4, 8\) overlap/],
    ['bad metadata', handBuilt('{"__metadata__":{"epoch":3}}', new Uint8Array(0)),
      /"__metadata__" value "epoch" must be a string/],
    ['truncated data', good.subarray(0, good.length - 4), /data is truncated: tensor "b"/],
  ];
  for (const [what, bytes, re] of cases) {
    const file = tmpFile(bytes);
    const check = (e: unknown) => {
      assert.ok(e instanceof UserError, what);
      assert.ok(e.message.startsWith(`${file}: `), `${what}: ${e.message}`);
      assert.match(e.message, re, what);
      return true;
    };
    assert.throws(() => readSafetensors(file), check);
    assert.throws(() => parseSafetensors(bytes, { file }), check);
  }
  const missing = join(root, 'nope.safetensors');
  assert.throws(() => readSafetensors(missing), (e: Error) => e.message.startsWith(`${missing}: file not found`));
  assert.throws(() => readSafetensors(root), /is a folder/);
});

test('sharded checkpoints: all shards of a folder load through the index; inconsistencies are reported', () => {
  const dir = mkdtempSync(join(root, 'sharded-'));
  const t = (v: number): TensorInput => ({ dtype: 'F32', shape: [2], data: new Float32Array([v, -v]) });
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a: t(1), b: t(2) }, { format: 'pt' });
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'),
    { c: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) } });
  const index = (map: Record<string, string>) => writeFileSync(join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: 18 }, weight_map: map }));
  index({ a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors',
    c: 'model-00002-of-00002.safetensors' });

  for (const st of [readShardedSafetensors(dir, { toFloat32: true }), readSafetensorsDir(dir, { toFloat32: true })]) {
    assert.deepEqual([...st.tensors.keys()].sort(), ['a', 'b', 'c']);
    assert.deepEqual([...st.tensors.get('b')!.data], [2, -2]);
    assert.deepEqual([...st.tensors.get('c')!.data], [1]);
    assert.equal(st.sourceFile.get('c'), join(dir, 'model-00002-of-00002.safetensors'));
    assert.deepEqual(st.metadata, { format: 'pt' });
  }

  index({ a: 'model-00001-of-00002.safetensors', c: 'model-00003-of-00003.safetensors' });
  assert.throws(() => readShardedSafetensors(dir), /model-00003-of-00003\.safetensors: shard not found.*"c"/);
  index({ a: 'model-00002-of-00002.safetensors' });
  assert.throws(() => readShardedSafetensors(dir),
    new RegExp(/model-00002-of-00002\.safetensors: tensor "a" is listed in .*index\.json for this shard /.source +
      /but the shard does not contain it/.source));
  index({ a: '../outside.safetensors' });
  assert.throws(() => readShardedSafetensors(dir), /weight_map\["a"\] points outside the checkpoint folder/);
  writeSafetensors(join(dir, 'dup.safetensors'), { a: t(9), x: t(8) });
  index({ a: 'model-00001-of-00002.safetensors', x: 'dup.safetensors' });
  assert.throws(() => readShardedSafetensors(dir),
    /dup\.safetensors: tensor "a" is also in .*model-00001-of-00002\.safetensors/);
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": ');
  assert.throws(() => readShardedSafetensors(dir), /model\.safetensors\.index\.json: is not valid JSON/);
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{"shards": []}');
  assert.throws(() => readShardedSafetensors(dir), /must be an object with a "weight_map"/);
  const empty = mkdtempSync(join(root, 'empty-'));
  assert.throws(() => readSafetensorsDir(empty),
    /model\.safetensors: not found, and there is no model\.safetensors\.index\.json/);
});
