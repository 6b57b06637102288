// Reader and writer for the safetensors format (https://huggingface.co/docs/safetensors), written from its description:
//
//   [8 bytes: header length N, unsigned little-endian] [N bytes: UTF-8 JSON header] [data bytes]
//   header = { "__metadata__"?: {string: string}, name: {dtype, shape, data_offsets: [begin, end]}, ... }
//
// Offsets are relative to the start of the data bytes; tensor data is row-major and little-endian.
// Files are read tensor by tensor straight into fresh (hence aligned) typed arrays, so a multi-GB checkpoint is never
// held twice in memory and never needs one Buffer larger than Node allows. Writes are atomic (temp file + rename).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { assertRegularFile, readTextLimited } from '../../shared/readLimited';
import { UserError, userError } from '../../shared/userError';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { bf16ToFloat32Array, f16ToFloat32Array, float32ToBf16Array, float32ToF16Array } from './float16';
import { isObject } from '../../shared/schemaParts';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };
export const DTYPES = Object.keys(DTYPE_BYTES) as Dtype[];

/** F16 and BF16 hold raw 16-bit patterns (Uint16Array); BOOL holds 0/1 bytes (Uint8Array). */
export type TensorData = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
  /** Set when `toFloat32` turned a half-precision tensor into F32 data; `dtype` is then 'F32'. */
  convertedFrom?: 'F16' | 'BF16';
}

/** A tensor to write. F16/BF16 data may be raw bits (Uint16Array) or Float32Array (rounded to nearest even). */
export interface TensorInput {
  dtype: Dtype;
  shape: readonly number[];
  data: TensorData;
}

export interface SafetensorsContents {
  /** In file order (by data offset). */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** Which file each tensor came from (several for sharded checkpoints). */
  sourceFile: Map<string, string>;
}

export interface ReadOptions {
  /** Convert F16 and BF16 tensors to Float32Array (exact). Other dtypes are left as stored. */
  toFloat32?: boolean;
}

/** A problem with a .safetensors file (or its index): the file, and what is wrong with it. */
const fileError = (file: string, message: string): UserError => userError(file, message, 'file');

const REEXPORT = 're-download the file or re-export it with a safetensors writer (e.g. save_pretrained / save_file)';
/** The reference implementation refuses larger headers too; a bigger "length" means this is not a safetensors file. */
const MAX_HEADER_BYTES = 100_000_000;

// ---------------------------------------------------------------------------------------------------------------
// Header

interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Sorted by data offset. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  /** Absolute file offset of the data bytes (8 + header length). */
  dataStart: number;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function assertLittleEndianHost(file: string): void {
  if (endianness() !== 'LE') throw fileError(file,
    'this machine is big-endian; safetensors data is little-endian and byte swapping is not implemented');
}

function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw fileError(file, `the file is ${fileSize} bytes, shorter than the 8-byte header length every ` +
      `safetensors file starts with; it is empty or truncated: ${REEXPORT}`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    const zip = first8[0] === 0x50 && first8[1] === 0x4b; // "PK": a PyTorch .bin/.pt zip archive
    const hint = zip ? ' It looks like a PyTorch zip checkpoint (.bin/.pt), not safetensors: convert it with ' +
      'safetensors.torch.save_file.' : '';
    throw fileError(file, `the header length (${n} bytes) runs past the end of the file (${fileSize} ` +
      `bytes): the file is truncated or not a safetensors file.${hint} Fix: ${REEXPORT}`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) throw fileError(file,
    `the header length (${n} bytes) is over the ${MAX_HEADER_BYTES}-byte limit: this is not a safetensors file. Fix: ` +
    `${REEXPORT}`);
  return Number(n);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseHeader(bytes: Uint8Array, file: string, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + bytes.length;
  const dataSize = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fileError(file, `the ${bytes.length}-byte header is not valid UTF-8: the file is corrupt. Fix: ` +
      `${REEXPORT}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const start = JSON.stringify(text.slice(0, 60));
    throw fileError(file, `the header is not valid JSON (${(e as Error).message}; it starts ${start}): ` +
      `the file is corrupt or not a safetensors file. Fix: ${REEXPORT}`);
  }
  if (!isObject(json)) throw fileError(file,
    `the header must be a JSON object of tensors, got ${Array.isArray(json) ? 'an array'
      : typeof json}. Fix: ${REEXPORT}`);

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!isObject(v)) throw fileError(file,
        `"__metadata__" must be an object of strings, got ${JSON.stringify(v)}. Fix: ${REEXPORT}`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw fileError(file,
          `"__metadata__" value "${k}" must be a string, got ${JSON.stringify(s)}. Fix: ${REEXPORT}`);
        metadata[k] = s;
      }
      continue;
    }
    const bad = (what: string) => fileError(file, `tensor "${name}": ${what}. Fix: ${REEXPORT}`);
    if (!isObject(v)) throw bad(`its header entry must be an object {dtype, shape, data_offsets}, got ` +
      `${JSON.stringify(v)}`);
    const { dtype, shape, data_offsets: offsets } = v;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      throw fileError(file, `tensor "${name}" has dtype ${JSON.stringify(dtype)}, which this reader does ` +
        `not support (supported: ${DTYPES.join(', ')}). Fix: convert that tensor to one of these before exporting ` +
        `(e.g. tensor.float()).`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(
      `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw bad(`data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw bad(`data_offsets [${begin}, ${end}] are out of order (begin > end)`);
    const count = elementCount(shape as number[]);
    const bytesPer = DTYPE_BYTES[dtype as Dtype];
    if (!Number.isSafeInteger(count * bytesPer) || count * bytesPer !== end - begin) {
      throw bad(`shape [${(shape as number[]).join(', ')}] × ${dtype} (${bytesPer} bytes) needs ${count * bytesPer} ` +
        `bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as Dtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);

  const last = entries.reduce((m, e) => Math.max(m, e.end), 0);
  if (last > dataSize) {
    const culprit = entries.find((e) => e.end > dataSize)!;
    throw fileError(file, `the data is truncated: tensor "${culprit.name}" needs bytes up to ` +
      `${dataStart + culprit.end} and the header says the data runs to ${dataStart
      + last}, but the file has only ${fileSize} bytes. Fix: ${REEXPORT}`);
  }
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1]!;
    const b = entries[i]!;
    if (b.begin < a.end) {
      throw fileError(file, `tensors "${a.name}" [${a.begin}, ${a.end}) and "${b.name}" [${b.begin}, ` +
        `${b.end}) overlap in the data section. Fix: ${REEXPORT}`);
    }
  }
  return { entries, metadata, dataStart };
}

function typedView(dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData {
  switch (dtype) {
    case 'F64': return new Float64Array(buffer, byteOffset, length);
    case 'F32': return new Float32Array(buffer, byteOffset, length);
    case 'F16':
    case 'BF16': return new Uint16Array(buffer, byteOffset, length);
    case 'I64': return new BigInt64Array(buffer, byteOffset, length);
    case 'I32': return new Int32Array(buffer, byteOffset, length);
    case 'U8':
    case 'BOOL': return new Uint8Array(buffer, byteOffset, length);
  }
}

function finishTensor(e: HeaderEntry, data: TensorData, opts: ReadOptions): Tensor {
  if (opts.toFloat32 && (e.dtype === 'F16' || e.dtype === 'BF16')) {
    const bits = data as Uint16Array;
    const f32 = e.dtype === 'F16' ? f16ToFloat32Array(bits) : bf16ToFloat32Array(bits);
    return { dtype: 'F32', shape: e.shape, data: f32, convertedFrom: e.dtype };
  }
  return { dtype: e.dtype, shape: e.shape, data };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/**
 * Parses safetensors bytes already in memory. Tensor data are views into `bytes` (no copy) where the offset is
 * aligned for the dtype, else fresh copies. `file` only labels error messages.
 */
export function parseSafetensors(bytes: Uint8Array, opts: ReadOptions & { file?: string } = {}): SafetensorsContents {
  const file = opts.file ?? '<buffer>';
  assertLittleEndianHost(file);
  const n = headerLength(bytes.subarray(0, 8), bytes.length, file);
  const header = parseHeader(bytes.subarray(8, 8 + n), file, bytes.length);
  const out: SafetensorsContents = { tensors: new Map(), metadata: header.metadata, sourceFile: new Map() };
  for (const e of header.entries) {
    const start = header.dataStart + e.begin;
    const count = elementCount(e.shape);
    const bytesPer = DTYPE_BYTES[e.dtype];
    let data: TensorData;
    if ((bytes.byteOffset + start) % bytesPer === 0) data = typedView(e.dtype, bytes.buffer, bytes.byteOffset + start,
      count);
    else {
      const copy = new Uint8Array(e.end - e.begin); // fresh buffer at offset 0: aligned for every dtype
      copy.set(bytes.subarray(start, start + copy.length));
      data = typedView(e.dtype, copy.buffer, 0, count);
    }
    out.tensors.set(e.name, finishTensor(e, data, opts));
    out.sourceFile.set(e.name, file);
  }
  return out;
}

function readExactly(fd: number, target: Uint8Array, position: number, file: string, what: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(target.length - done, 1 << 30), position + done);
    if (n === 0) throw fileError(file,
      `the file ended while reading ${what} (it changed or was truncated while being read); check that nothing else ` +
      `is writing it and try again`);
    done += n;
  }
}

function openForRead(file: string): number {
  let fd: number;
  try {
    // Checked before opening: opening a FIFO blocks until a writer appears, and a device never ends.
    assertRegularFile(file, 'weights');
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fileError(file,
      'file not found; check the path (a checkpoint folder holds model.safetensors or model.safetensors.index.json ' +
      'plus its shards)');
    if (code === 'EISDIR') throw fileError(file,
      'is a folder, not a .safetensors file; pass the file inside it');
    if (e instanceof UserError) throw e; // not a regular file, or over the size limit: already names the file
    throw fileError(file, `cannot be opened (${(e as Error).message}); check the path and its permissions`);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw fileError(file, 'is a folder, not a .safetensors file; pass the file inside it');
  }
  return fd;
}

function readHeaderFd(fd: number, file: string): { header: SafetensorsHeader; size: number } {
  const size = fstatSync(fd).size;
  const first8 = new Uint8Array(8);
  if (size >= 8) readExactly(fd, first8, 0, file, 'the header length');
  const n = headerLength(first8, size, file);
  const headerBytes = new Uint8Array(n);
  readExactly(fd, headerBytes, 8, file, 'the header');
  return { header: parseHeader(headerBytes, file, size), size };
}

/** Reads and validates only the header (names, dtypes, shapes, offsets): cheap even for multi-GB files. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForRead(file);
  try {
    return readHeaderFd(fd, file).header;
  } finally {
    closeSync(fd);
  }
}

/** Reads a .safetensors file; each tensor is read once, directly into its own typed array. */
export function readSafetensors(file: string, opts: ReadOptions = {}): SafetensorsContents {
  assertLittleEndianHost(file);
  const fd = openForRead(file);
  try {
    const { header } = readHeaderFd(fd, file);
    const out: SafetensorsContents = { tensors: new Map(), metadata: header.metadata, sourceFile: new Map() };
    for (const e of header.entries) {
      const raw = new Uint8Array(e.end - e.begin);
      readExactly(fd, raw, header.dataStart + e.begin, file, `tensor "${e.name}"`);
      const data = typedView(e.dtype, raw.buffer, 0, elementCount(e.shape));
      out.tensors.set(e.name, finishTensor(e, data, opts));
      out.sourceFile.set(e.name, file);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/**
 * Loads every shard listed in `dir/model.safetensors.index.json` ({"weight_map": {tensor: shard file}}) into one
 * set of tensors. Tensors a shard holds but the map does not list are loaded too; a tensor in two shards is an error.
 */
export function readShardedSafetensors(dir: string,
  opts: ReadOptions & { indexFile?: string } = {}): SafetensorsContents {
  const { indexPath, byShard } = readShardIndex(dir, opts.indexFile);
  const out: SafetensorsContents = { tensors: new Map(), metadata: {}, sourceFile: new Map() };
  for (const [shard, names] of byShard) {
    const shardPath = join(dir, shard);
    if (!existsSync(shardPath)) {
      throw fileError(shardPath, `shard not found, but ${indexPath} maps ${names.length} tensor(s) to it ` +
        `(e.g. "${names[0]}"); download the missing shard`);
    }
    const part = readSafetensors(shardPath, opts);
    for (const name of names) {
      if (!part.tensors.has(name)) throw fileError(shardPath,
        `tensor "${name}" is listed in ${indexPath} for this shard but the shard does not contain it; the index and ` +
        `shards are from different exports, re-download them`);
    }
    for (const [name, t] of part.tensors) {
      const prev = out.sourceFile.get(name);
      if (prev !== undefined) throw fileError(shardPath,
        `tensor "${name}" is also in ${prev}; a tensor must be stored in exactly one shard, re-export the checkpoint`);
      out.tensors.set(name, t);
      out.sourceFile.set(name, shardPath);
    }
    for (const [k, v] of Object.entries(part.metadata)) if (!(k in out.metadata)) out.metadata[k] = v;
  }
  return out;
}

/** A tensor as a header describes it, without its data. */
export interface TensorHeader {
  dtype: Dtype;
  shape: number[];
  /** The file that holds it. */
  file: string;
}

/**
 * The tensors of a folder (model.safetensors or the sharded index) from the headers alone: names, dtypes, shapes
 * and files, without reading any tensor data, so they can be checked against config.json and the machine's memory
 * before anything large is allocated.
 */
export function readSafetensorsDirHeaders(dir: string): Map<string, TensorHeader> {
  const out = new Map<string, TensorHeader>();
  const add = (file: string) => {
    for (const e of readSafetensorsHeader(file).entries) {
      const prev = out.get(e.name);
      if (prev) throw fileError(file,
        `tensor "${e.name}" is also in ${prev.file}; a tensor must be stored in exactly one shard, re-export the ` +
        `checkpoint`);
      out.set(e.name, { dtype: e.dtype, shape: e.shape, file });
    }
  };
  const single = join(dir, SAFETENSORS_FILE);
  if (existsSync(single)) add(single);
  else if (existsSync(join(dir, SAFETENSORS_INDEX_FILE))) {
    const { indexPath, byShard } = readShardIndex(dir);
    for (const [shard, names] of byShard) {
      const shardPath = join(dir, shard);
      if (!existsSync(shardPath)) throw fileError(shardPath,
        `shard not found, but ${indexPath} maps ${names.length} tensor(s) to it (e.g. "${names[
          0]}"); download the missing shard`);
      add(shardPath);
    }
  } else {
    readSafetensorsDir(dir); // throws the "not found" error
  }
  return out;
}

/** The shard index of a sharded folder: which tensors each shard file holds. */
function readShardIndex(dir: string,
  indexFile = SAFETENSORS_INDEX_FILE): { indexPath: string; byShard: Map<string, string[]> } {
  const indexPath = join(dir, indexFile);
  let index: unknown;
  try {
    index = JSON.parse(readTextLimited(indexPath, 'index'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw fileError(indexPath,
      'shard index not found; a sharded checkpoint folder needs this file next to its shards');
    throw fileError(indexPath, `is not valid JSON (${(e as Error).message}); re-download it or re-save ` +
      `the checkpoint`);
  }
  const weightMap = isObject(index) ? index.weight_map : undefined;
  if (!isObject(weightMap)) throw fileError(indexPath,
    'must be an object with a "weight_map" object {tensor name: shard file name}; re-download it or re-save the ' +
    'checkpoint');

  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') throw fileError(indexPath,
      `weight_map["${name}"] must be a shard file name, got ${JSON.stringify(shard)}; fix the index`);
    const rel = relative(resolve(dir), resolve(dir, shard));
    if (isAbsolute(shard) || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw fileError(indexPath, `weight_map["${name}"] points outside the checkpoint folder ` +
        `(${JSON.stringify(shard)}); shards must sit in the folder`);
    }
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  return { indexPath, byShard };
}

/** A folder's tensors: `model.safetensors` if present (as transformers prefers), else the sharded index. */
export function readSafetensorsDir(dir: string, opts: ReadOptions = {}): SafetensorsContents {
  const single = join(dir, SAFETENSORS_FILE);
  if (existsSync(single)) return readSafetensors(single, opts);
  if (existsSync(join(dir, SAFETENSORS_INDEX_FILE))) return readShardedSafetensors(dir, opts);
  throw fileError(single, `not found, and there is no ${SAFETENSORS_INDEX_FILE} for a sharded checkpoint ` +
    `either; pick a folder holding the weights (PyTorch .bin checkpoints must be converted to safetensors first)`);
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

function tensorBytes(name: string, t: TensorInput, file: string): Uint8Array {
  const bad = (what: string) => fileError(file, `cannot write tensor "${name}": ${what}`);
  if (!(t.dtype in DTYPE_BYTES)) throw bad(
    `unknown dtype ${JSON.stringify(t.dtype)} (supported: ${DTYPES.join(', ')})`);
  if (!t.shape.every(isCount)) throw bad(`shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
  const count = elementCount(t.shape);
  let data = t.data;
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && data instanceof Float32Array) {
    data = t.dtype === 'F16' ? float32ToF16Array(data) : float32ToBf16Array(data);
  }
  const fits: Record<Dtype, [string, boolean]> = {
    F64: ['Float64Array', data instanceof Float64Array],
    F32: ['Float32Array', data instanceof Float32Array],
    F16: ['Uint16Array (raw bits) or Float32Array', data instanceof Uint16Array],
    BF16: ['Uint16Array (raw bits) or Float32Array', data instanceof Uint16Array],
    I64: ['BigInt64Array', data instanceof BigInt64Array],
    I32: ['Int32Array', data instanceof Int32Array],
    U8: ['Uint8Array', data instanceof Uint8Array],
    BOOL: ['Uint8Array of 0/1', data instanceof Uint8Array],
  };
  const [needs, ok] = fits[t.dtype];
  if (!ok) throw bad(`dtype ${t.dtype} needs a ${needs}, got ${data.constructor.name}`);
  if (data.length !== count) throw bad(`shape [${t.shape.join(', ')}] has ${count} elements but the data has ` +
    `${data.length}`);
  if (t.dtype === 'BOOL' && (data as Uint8Array).some((b) => b > 1)) throw bad('BOOL data must be 0 or 1 bytes');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The file as a list of chunks (header, then each tensor's bytes without copying), tensors in sorted name order. */
export function safetensorsChunks(
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
  file = '<buffer>',
): Uint8Array[] {
  assertLittleEndianHost(file);
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Built by hand, not JSON.stringify of an object: that would move integer-like tensor names ("0") to the front.
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw fileError(file,
        `metadata "${k}" must be a string, got ${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (name === '__metadata__' || name === '') throw fileError(file,
      `cannot write a tensor named ${JSON.stringify(name)}: the name is reserved or empty`);
    if (seen.has(name)) throw fileError(file, `tensor "${name}" is given twice`);
    seen.add(name);
    const bytes = tensorBytes(name, t, file);
    parts.push(
      `${JSON.stringify(name)}:${JSON.stringify(
        { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] })}`);
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8; // spaces keep the data 8-byte aligned
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return [header, ...chunks];
}

export function serializeSafetensors(tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>): Buffer {
  return Buffer.concat(safetensorsChunks(tensors, metadata));
}

/** Writes a .safetensors file atomically; returns its size and `sha256:<hex>` content hash. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): { bytes: number; contentHash: string } {
  const { bytes, contentHash } = writeFileAtomicSync(file, safetensorsChunks(tensors, metadata, file));
  return { bytes, contentHash };
}

/** `sha256:<hex>` of a file's bytes, read in chunks (for manifests). */
export function contentHash(file: string): string {
  const hash = createHash('sha256');
  const fd = openForRead(file);
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}
