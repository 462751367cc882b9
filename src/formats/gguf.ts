// GGUF (llama.cpp's model format), read and written by streaming: the header is parsed from
// ranged reads of growing chunks, tensor data is fetched by element ranges, and output is
// written header first, since every size is known from the plan. Layout rules follow llama.cpp's
// ggml/src/gguf.cpp; versions 1 (32-bit counts and lengths), 2 and 3 are read, version 3 written.
import { FormatError } from '../errors.js';
import { GGML_TYPE, ggmlTypeInfo } from './ggml-blocks.js';
import { type ByteSink, type ByteSource, readFloat32Range, type TensorBytes, writeTensorBytes } from './io.js';

export {
  encodeF16, encodeQ4_0, encodeQ4_0Chunk, encodeQ8_0, encodeQ8_0Chunk, GGML_TYPE, ggmlTypeInfo, LLAMA_FTYPE,
} from './ggml-blocks.js';
export type { GgmlTypeInfo, GgmlTypeName } from './ggml-blocks.js';

/**
 * GGUF metadata value type ids (`enum gguf_type` in gguf.h).
 *
 * @example
 * file.metadata.get('general.alignment')?.type === GGUF_VALUE_TYPE.UINT32;
 */
export const GGUF_VALUE_TYPE = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9,
  UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

const T = GGUF_VALUE_TYPE;

/**
 * A metadata value. `value` is a number for 8/16/32-bit integers and floats, a bigint for 64-bit
 * integers, a boolean, a string, or for arrays a {@link GgufArray} whose items follow the same
 * rules (arrays may nest). `raw` holds the value's bytes as GGUF v3 stores them after the type id,
 * exactly as read (float bit patterns and all); the writer copies it when present, so drop it
 * when you change `value`.
 *
 * @example
 * const v: GgufValue = { type: GGUF_VALUE_TYPE.STRING, value: 'llama' };
 */
export interface GgufValue {
  type: number;
  value: unknown;
  raw?: Uint8Array;
}

/** An array value: the item type id and the items. */
export interface GgufArray {
  itemType: number;
  items: unknown[];
}

/**
 * A tensor of a GGUF file. `shape` is row-major, outermost first: the reverse of ggml's `ne[]`,
 * so the last axis is the one ggml's blocks run along. `offset` is absolute in the file.
 *
 * @example
 * const rowLength = tensor.shape.at(-1);
 */
export interface GgufTensor {
  name: string;
  shape: number[];
  ggmlType: number;
  typeName: string;
  offset: number;
  byteLength: number;
  /** F32 or F16: values that {@link readGgufTensorF32} can give and the quantizer can take. */
  quantizable: boolean;
}

/**
 * A parsed GGUF header; tensor data stays in `source` until asked for.
 *
 * @example
 * const file = await readGguf(source);
 * file.metadata.get('general.architecture')?.value; // 'llama'
 */
export interface GgufFile {
  format: 'gguf';
  version: 1 | 2 | 3;
  source: ByteSource;
  /** In file order. */
  metadata: Map<string, GgufValue>;
  /** In file order. */
  tensors: GgufTensor[];
  alignment: number;
  /** Where the data section starts: the end of the tensor infos, padded to `alignment`. */
  dataOffset: number;
}

const MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_NESTING = 64;
const DEFAULT_MAX_HEADER = 256 * 2 ** 20;
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 8 * 2 ** 20;
const KEY_ALIGNMENT = 'general.alignment';
const KEY_FILE_TYPE = 'general.file_type';
const KEY_QUANT_VERSION = 'general.quantization_version';
const QUANT_VERSION = 2; // GGML_QNT_VERSION

/** Bytes of each fixed-size value type. */
const SCALAR_SIZE = new Map<number, number>([
  [T.UINT8, 1], [T.INT8, 1], [T.UINT16, 2], [T.INT16, 2], [T.UINT32, 4], [T.INT32, 4], [T.FLOAT32, 4],
  [T.BOOL, 1], [T.UINT64, 8], [T.INT64, 8], [T.FLOAT64, 8],
]);

type Where = { tensor?: string; field?: string };

const utf8 = new TextDecoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** A growable byte buffer: header output, and the v3 bytes of values as they are read. */
function byteBuilder() {
  let buf = new Uint8Array(256);
  let view = new DataView(buf.buffer);
  let length = 0;
  const room = (n: number) => {
    if (length + n <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, length + n));
    next.set(buf.subarray(0, length));
    buf = next;
    view = new DataView(buf.buffer);
  };
  return {
    get length() {
      return length;
    },
    bytes(b: Uint8Array) {
      room(b.length);
      buf.set(b, length);
      length += b.length;
    },
    u32(v: number) {
      room(4);
      view.setUint32(length, v, true);
      length += 4;
    },
    u64(v: number | bigint) {
      room(8);
      view.setBigUint64(length, BigInt(v), true);
      length += 8;
    },
    string(s: string) {
      const b = utf8Encoder.encode(s);
      this.u64(b.length);
      this.bytes(b);
    },
    zeros(n: number) {
      room(n);
      buf.fill(0, length, length + n);
      length += n;
    },
    result(): Uint8Array {
      return buf.slice(0, length);
    },
  };
}

type ByteBuilder = ReturnType<typeof byteBuilder>;

/**
 * Sequential reads of the header from ranged reads of growing chunks, so that a large file is never
 * read whole and a small header costs one read. Consumed bytes are dropped at each refill.
 */
function headerReader(source: ByteSource, limit: number, version: () => number) {
  let buf = new Uint8Array(0);
  let view = new DataView(buf.buffer);
  let start = 0; // file offset of buf[0]
  let pos = 0;
  let chunk = FIRST_CHUNK;
  const fail = (message: string, where: Where) => new FormatError(message, { file: source.name, ...where });
  const take = (n: number) => {
    const at = pos - start;
    pos += n;
    return at;
  };

  const r = {
    fail,
    get pos() {
      return pos;
    },
    /** Bytes the header may still use: up to the end of the file and of `maxHeaderBytes`. */
    get left() {
      return Math.min(source.size, limit) - pos;
    },
    /** Buffers the next `n` bytes, or says why they cannot be header bytes. */
    async need(n: number, where: Where): Promise<void> {
      const end = start + buf.length;
      if (pos + n <= end) return;
      if (pos + n > source.size) {
        throw fail(`header needs bytes up to ${pos + n} but the file has only ${source.size} (truncated?)`, where);
      }
      if (pos + n > limit) {
        throw fail(`header runs past maxHeaderBytes (${limit} bytes); raise the limit if the file is trusted`, where);
      }
      const fetchEnd = Math.min(source.size, limit, Math.max(pos + n, end + chunk));
      const fresh = await source.read(end, fetchEnd - end);
      const kept = buf.subarray(pos - start);
      const next = new Uint8Array(kept.length + fresh.length);
      next.set(kept);
      next.set(fresh, kept.length);
      buf = next;
      view = new DataView(buf.buffer);
      start = pos;
      chunk = Math.min(chunk * 2, MAX_CHUNK);
    },
    u32: () => view.getUint32(take(4), true),
    u64: () => view.getBigUint64(take(8), true),
    bytes(n: number): Uint8Array {
      const at = take(n);
      return buf.slice(at, at + n);
    },
    /** A count or length: 32-bit in GGUF v1, 64-bit since; at least `minItemBytes` each must fit. */
    async count(what: string, minItemBytes: number, where: Where): Promise<number> {
      const v1 = version() === 1;
      await r.need(v1 ? 4 : 8, where);
      const n = v1 ? BigInt(r.u32()) : r.u64();
      if (n * BigInt(minItemBytes) > BigInt(r.left)) {
        const end = source.size <= limit ? 'the end of the file' : 'maxHeaderBytes';
        throw fail(
          `${what} ${n} is absurd or the file truncated: it needs at least ${n * BigInt(minItemBytes)} bytes but ${r.left} are left before ${end}`,
          where,
        );
      }
      return Number(n);
    },
    /**
     * The next string when it is already buffered, else undefined (and nothing consumed): long
     * string arrays (tokenizer vocabularies) then cost no promise per item.
     */
    bufferedString(out: ByteBuilder): string | undefined {
      const lengthBytes = version() === 1 ? 4 : 8;
      const at = pos - start;
      const available = buf.length - at;
      if (available < lengthBytes) return undefined;
      const n = lengthBytes === 4 ? view.getUint32(at, true) : view.getBigUint64(at, true);
      if (n > available - lengthBytes) return undefined;
      take(lengthBytes);
      const b = r.bytes(Number(n));
      out.u64(b.length);
      out.bytes(b);
      return utf8.decode(b);
    },
    /** A string value; its v3 encoding is appended to `out`. Invalid UTF-8 is kept in `out` as read. */
    async string(where: Where, out?: ByteBuilder): Promise<string> {
      const n = await r.count('string length', 1, where);
      await r.need(n, where);
      const b = r.bytes(n);
      out?.u64(n);
      out?.bytes(b);
      return utf8.decode(b);
    },
    /**
     * A key or tensor name: valid UTF-8, or two different byte strings could decode to one name
     * and the writer would change a name it copies.
     */
    async name(where: Where): Promise<string> {
      const n = await r.count('string length', 1, where);
      await r.need(n, where);
      try {
        return strictUtf8.decode(r.bytes(n));
      } catch {
        throw fail('is not valid UTF-8', where);
      }
    },
  };
  return r;
}

type HeaderReader = ReturnType<typeof headerReader>;

/** Decodes `count` fixed-size values of `type` from `bytes`. */
function decodeScalars(type: number, bytes: Uint8Array, count: number): unknown[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = SCALAR_SIZE.get(type) as number;
  const get: (at: number) => unknown = {
    [T.UINT8]: (at: number) => view.getUint8(at),
    [T.INT8]: (at: number) => view.getInt8(at),
    [T.UINT16]: (at: number) => view.getUint16(at, true),
    [T.INT16]: (at: number) => view.getInt16(at, true),
    [T.UINT32]: (at: number) => view.getUint32(at, true),
    [T.INT32]: (at: number) => view.getInt32(at, true),
    [T.FLOAT32]: (at: number) => view.getFloat32(at, true),
    [T.BOOL]: (at: number) => view.getUint8(at) !== 0,
    [T.UINT64]: (at: number) => view.getBigUint64(at, true),
    [T.INT64]: (at: number) => view.getBigInt64(at, true),
    [T.FLOAT64]: (at: number) => view.getFloat64(at, true),
  }[type] as (at: number) => unknown;
  const items = new Array<unknown>(count);
  for (let i = 0; i < count; i++) items[i] = get(i * size);
  return items;
}

/** The fewest bytes one value of `type` can take: bounds array lengths before trusting them. */
function minValueBytes(type: number, v1: boolean): number {
  const len = v1 ? 4 : 8;
  if (type === T.STRING) return len;
  if (type === T.ARRAY) return 4 + len;
  return SCALAR_SIZE.get(type) ?? 1;
}

/** Reads one value of `type`, appending its v3 encoding to `out`. */
async function readValue(r: HeaderReader, type: number, out: ByteBuilder, where: Where, v1: boolean, depth: number): Promise<unknown> {
  const size = SCALAR_SIZE.get(type);
  if (size !== undefined) {
    await r.need(size, where);
    const b = r.bytes(size);
    out.bytes(b);
    return decodeScalars(type, b, 1)[0];
  }
  if (type === T.STRING) return r.string(where, out);
  if (type !== T.ARRAY) throw r.fail(`unknown GGUF value type ${type}`, where);
  if (depth >= MAX_NESTING) throw r.fail(`arrays nested more than ${MAX_NESTING} deep`, where);
  await r.need(4, where);
  const itemType = r.u32();
  if (!SCALAR_SIZE.has(itemType) && itemType !== T.STRING && itemType !== T.ARRAY) {
    throw r.fail(`array of unknown GGUF value type ${itemType}`, where);
  }
  const n = await r.count('array length', minValueBytes(itemType, v1), where);
  out.u32(itemType);
  out.u64(n);
  const itemSize = SCALAR_SIZE.get(itemType);
  if (itemSize !== undefined) {
    await r.need(n * itemSize, where);
    const b = r.bytes(n * itemSize);
    out.bytes(b);
    return { itemType, items: decodeScalars(itemType, b, n) } satisfies GgufArray;
  }
  const items = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    items[i] = (itemType === T.STRING ? r.bufferedString(out) : undefined) ?? await readValue(r, itemType, out, where, v1, depth + 1);
  }
  return { itemType, items } satisfies GgufArray;
}

/** A 64-bit header integer as a number, refused past 2^53 (and past 2^63, negative as ggml's int64). */
function safeNumber(r: HeaderReader, v: bigint, what: string, where: Where): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw r.fail(`${what} ${v} is out of range`, where);
  return Number(v);
}

const alignUp = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

/** Reads tensor info `i` (name, dims, type, offset relative to the data section) and checks its sizes. */
async function readTensorInfo(r: HeaderReader, i: number, v1: boolean) {
  const name = await r.name({ field: `tensor #${i} name` });
  const at = (field: string): Where => ({ tensor: name, field });
  await r.need(4, at('n_dims'));
  const nDims = r.u32();
  if (nDims > MAX_DIMS) throw r.fail(`has ${nDims} dimensions; ggml allows at most ${MAX_DIMS}`, at('n_dims'));
  await r.need(nDims * (v1 ? 4 : 8), at('ne'));
  const ne: number[] = [];
  for (let j = 0; j < nDims; j++) {
    const d = safeNumber(r, v1 ? BigInt(r.u32()) : r.u64(), `ne[${j}]`, at('ne'));
    if (d === 0) throw r.fail(`ne[${j}] is 0; a tensor with no elements cannot be quantized or stored`, at('ne'));
    ne.push(d);
  }
  await r.need(4, at('type'));
  const ggmlType = r.u32();
  const info = ggmlTypeInfo(ggmlType);
  if (!info) throw r.fail(`unknown ggml type ${ggmlType}`, at('type'));
  await r.need(8, at('offset'));
  const relOffset = safeNumber(r, r.u64(), 'offset', at('offset'));
  const elements = ne.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(elements)) throw r.fail(`ne [${ne.join(', ')}] has too many elements`, at('ne'));
  const rowLength = ne[0] ?? 1;
  if (rowLength % info.blockSize !== 0) {
    throw r.fail(`rows of ${rowLength} elements are not a multiple of ${info.name}'s block of ${info.blockSize}`, at('ne'));
  }
  const byteLength = (elements / info.blockSize) * info.typeSize;
  if (!Number.isSafeInteger(byteLength)) throw r.fail(`${byteLength} bytes is out of range`, at('ne'));
  return { name, shape: ne.reverse(), ggmlType, typeName: info.name, relOffset, byteLength };
}

/** `general.alignment` if present: a u32 power of two, as llama.cpp demands. */
function alignmentOf(r: HeaderReader, metadata: Map<string, GgufValue>): number {
  const v = metadata.get(KEY_ALIGNMENT);
  if (!v) return DEFAULT_ALIGNMENT;
  const where = { field: KEY_ALIGNMENT };
  if (v.type !== T.UINT32) throw r.fail(`must be a u32; its value type is ${v.type}`, where);
  const a = v.value as number;
  if (a === 0 || (a & (a - 1)) !== 0) throw r.fail(`${a} is not a power of two`, where);
  return a;
}

/**
 * Reads and validates a GGUF header (v1, v2 or v3) through ranged reads of `source`, never the
 * whole file: metadata in file order, tensor infos with row-major shapes, alignment and the data
 * offset. Every count, length, dimension, type and offset is checked before it is trusted, and a
 * problem is a FormatError naming the file and the field or tensor.
 *
 * @example
 * const file = await readGguf(await openFileSource('model.gguf'));
 * for (const t of file.tensors) console.log(t.name, t.typeName, t.shape);
 */
export async function readGguf(source: ByteSource, options: { maxHeaderBytes?: number } = {}): Promise<GgufFile> {
  const limit = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new FormatError(`maxHeaderBytes must be a positive integer; got ${limit}`, { file: source.name, field: 'maxHeaderBytes' });
  }
  let version = 0;
  const r = headerReader(source, limit, () => version);

  await r.need(4, { field: 'magic' });
  const magic = r.bytes(4);
  if (magic.some((b, i) => b !== MAGIC[i])) {
    throw r.fail(`bad magic ${[...magic].map((b) => b.toString(16).padStart(2, '0')).join(' ')}; a GGUF file starts with "GGUF"`, {
      field: 'magic',
    });
  }
  await r.need(4, { field: 'version' });
  version = r.u32();
  if (version !== 1 && version !== 2 && version !== 3) {
    const hint = version !== 0 && (version & 0xffff) === 0 ? ' (a big-endian file? only little-endian GGUF is supported)' : '';
    throw r.fail(`unsupported GGUF version ${version}${hint}; versions 1, 2 and 3 can be read`, { field: 'version' });
  }
  const v1 = version === 1;
  const lengthBytes = v1 ? 4 : 8;
  // The smallest tensor info: an empty name, n_dims, type and offset; the smallest pair: a
  // one-character key, the type id and a one-byte value.
  const tensorCount = await r.count('tensor count', lengthBytes + 4 + 4 + 8, { field: 'tensor_count' });
  const kvCount = await r.count('metadata count', lengthBytes + 1 + 4 + 1, { field: 'kv_count' });

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await r.name({ field: `metadata #${i} key` });
    if (key === '') throw r.fail('empty key', { field: `metadata #${i} key` });
    if (metadata.has(key)) throw r.fail('duplicate key', { field: key });
    await r.need(4, { field: key });
    const type = r.u32();
    const out = byteBuilder();
    const value = await readValue(r, type, out, { field: key }, v1, 0);
    metadata.set(key, { type, value, raw: out.result() });
  }
  const alignment = alignmentOf(r, metadata);

  const infos: Awaited<ReturnType<typeof readTensorInfo>>[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const info = await readTensorInfo(r, i, v1);
    if (names.has(info.name)) throw r.fail('duplicate tensor name', { tensor: info.name });
    names.add(info.name);
    infos.push(info);
  }
  const dataOffset = alignUp(r.pos, alignment);
  // llama.cpp's writer pads the header to the alignment in the file; a data section that starts
  // past the end is a corrupt file, or an alignment chosen to make a rewrite pad gigabytes.
  if (dataOffset > source.size) {
    throw r.fail(`the data section starts at ${dataOffset} (the header padded to the alignment ${alignment}), past the end of the file at ${source.size}`, {
      field: KEY_ALIGNMENT,
    });
  }

  const tensors: GgufTensor[] = infos.map(({ relOffset, ...t }) => {
    const where = { tensor: t.name, field: 'offset' };
    if (relOffset % alignment !== 0) throw r.fail(`offset ${relOffset} is not a multiple of the alignment ${alignment}`, where);
    // Both terms are checked against the file before they are added, so the sum cannot round.
    if (relOffset > source.size - dataOffset || t.byteLength > source.size - dataOffset - relOffset) {
      const end = BigInt(dataOffset) + BigInt(relOffset) + BigInt(t.byteLength);
      throw r.fail(`data (bytes ${dataOffset + relOffset}..${end}) runs past the end of the file at ${source.size} (truncated?)`, where);
    }
    return { ...t, offset: dataOffset + relOffset, quantizable: t.ggmlType === GGML_TYPE.F32 || t.ggmlType === GGML_TYPE.F16 };
  });
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  byOffset.forEach((t, i) => {
    const prev = byOffset[i - 1];
    if (prev && t.offset < prev.offset + prev.byteLength) {
      throw r.fail(`data at ${t.offset} overlaps tensor '${prev.name}' (bytes ${prev.offset}..${prev.offset + prev.byteLength})`, {
        tensor: t.name, field: 'offset',
      });
    }
  });
  return { format: 'gguf', version, source, metadata, tensors, alignment, dataOffset };
}

/**
 * A tensor's values as float32: F32 as stored, F16 widened exactly. Other types are a FormatError.
 *
 * @example
 * const x = await readGgufTensorF32(file, file.tensors[0]);
 */
export async function readGgufTensorF32(file: GgufFile, tensor: GgufTensor): Promise<Float32Array> {
  return readGgufTensorF32Range(file, tensor, 0, tensor.shape.reduce((a, b) => a * b, 1));
}

/**
 * Elements `start` … `start + length − 1` (row-major) of an F32 or F16 tensor as float32, widened
 * as {@link readGgufTensorF32} widens them; only their bytes are read. A range outside the tensor,
 * or another type, is a FormatError.
 *
 * @example
 * const firstRow = await readGgufTensorF32Range(file, tensor, 0, tensor.shape.at(-1));
 */
export async function readGgufTensorF32Range(file: GgufFile, tensor: GgufTensor, start: number, length: number): Promise<Float32Array> {
  const where = { file: file.source.name, tensor: tensor.name };
  const size = tensor.ggmlType === GGML_TYPE.F32 ? 4 : tensor.ggmlType === GGML_TYPE.F16 ? 2 : 0;
  if (size === 0) throw new FormatError(`is ${tensor.typeName}; only F32 and F16 tensors can be read as float32`, where);
  return readFloat32Range(file.source, where, tensor.offset, size === 4 ? 'F32' : 'F16', tensor.byteLength / size, start, length);
}

/** What to write for one input tensor: its bytes unchanged, or converted to a type. */
export type GgufOutputType = 'keep' | 'F32' | 'F16' | 'Q8_0' | 'Q4_0';

/** Every type a tensor can be written as: the scheme types above, the K-quants and their Q5 fallbacks. */
export type GgufTensorType = GgufOutputType | 'Q5_0' | 'Q5_1' | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/**
 * A planned output file: the whole header (up to the aligned start of the data) and where each
 * tensor goes, relative to the data start.
 */
export interface GgufLayout {
  header: Uint8Array;
  entries: { name: string; ggmlType: number; byteLength: number; offset: number }[];
  totalBytes: number;
}

/** The bytes of a fixed-size value built by hand, or undefined when `value` does not fit `type`. */
function scalarBytes(type: number, value: unknown): Uint8Array | undefined {
  const b = new Uint8Array(SCALAR_SIZE.get(type) as number);
  const view = new DataView(b.buffer);
  const int = (min: number, max: number) => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  const big = (min: bigint, max: bigint) => typeof value === 'bigint' && value >= min && value <= max;
  const n = value as number;
  switch (type) {
    case T.UINT8: if (!int(0, 0xff)) return undefined; view.setUint8(0, n); break;
    case T.INT8: if (!int(-0x80, 0x7f)) return undefined; view.setInt8(0, n); break;
    case T.UINT16: if (!int(0, 0xffff)) return undefined; view.setUint16(0, n, true); break;
    case T.INT16: if (!int(-0x8000, 0x7fff)) return undefined; view.setInt16(0, n, true); break;
    case T.UINT32: if (!int(0, 0xffffffff)) return undefined; view.setUint32(0, n, true); break;
    case T.INT32: if (!int(-(2 ** 31), 2 ** 31 - 1)) return undefined; view.setInt32(0, n, true); break;
    case T.FLOAT32: if (typeof value !== 'number') return undefined; view.setFloat32(0, n, true); break;
    case T.FLOAT64: if (typeof value !== 'number') return undefined; view.setFloat64(0, n, true); break;
    case T.BOOL: if (typeof value !== 'boolean') return undefined; view.setUint8(0, value ? 1 : 0); break;
    case T.UINT64: if (!big(0n, 2n ** 64n - 1n)) return undefined; view.setBigUint64(0, value as bigint, true); break;
    default: if (!big(-(2n ** 63n), 2n ** 63n - 1n)) return undefined; view.setBigInt64(0, value as bigint, true);
  }
  return b;
}

/** Appends a value built by hand (one without `raw`), checking that it fits its type. */
function encodeValue(out: ByteBuilder, type: number, value: unknown, fail: (message: string) => FormatError): void {
  if (SCALAR_SIZE.has(type)) {
    const b = scalarBytes(type, value);
    if (!b) throw fail(`${String(value)} is not a value of GGUF type ${type}`);
    out.bytes(b);
  } else if (type === T.STRING) {
    if (typeof value !== 'string') throw fail(`a string value must be a string; got ${typeof value}`);
    out.string(value);
  } else if (type === T.ARRAY) {
    const arr = value as Partial<GgufArray> | null;
    if (typeof arr !== 'object' || arr === null || typeof arr.itemType !== 'number' || !Array.isArray(arr.items)) {
      throw fail('an array value must be { itemType, items }');
    }
    out.u32(arr.itemType);
    out.u64(arr.items.length);
    for (const item of arr.items) encodeValue(out, arr.itemType, item, fail);
  } else {
    throw fail(`unknown GGUF value type ${type}`);
  }
}

const OUTPUT_TYPES: Record<Exclude<GgufTensorType, 'keep'>, number> = {
  F32: GGML_TYPE.F32, F16: GGML_TYPE.F16, Q8_0: GGML_TYPE.Q8_0, Q4_0: GGML_TYPE.Q4_0, Q5_0: GGML_TYPE.Q5_0,
  Q5_1: GGML_TYPE.Q5_1, Q2_K: GGML_TYPE.Q2_K, Q3_K: GGML_TYPE.Q3_K, Q4_K: GGML_TYPE.Q4_K, Q5_K: GGML_TYPE.Q5_K,
  Q6_K: GGML_TYPE.Q6_K,
};

/**
 * Plans a GGUF v3 output from `file`: one output type per tensor (same order as `file.tensors`).
 * Metadata is copied byte for byte in order, except that `general.file_type` becomes `fileType`
 * and `general.quantization_version` becomes 2 (both u32, appended if missing); the alignment is
 * kept. Converting needs an F32 or F16 source, and Q8_0 / Q4_0 need rows that are a multiple of
 * 32. Tensors follow one another in order, each padded with zeros to the alignment, as llama.cpp
 * writes them.
 *
 * @example
 * const layout = planGgufOutput(file, file.tensors.map((t) => (t.shape.length >= 2 ? 'Q8_0' : 'keep')), LLAMA_FTYPE.MOSTLY_Q8_0);
 */
export function planGgufOutput(file: GgufFile, outputs: readonly GgufTensorType[], fileType: number): GgufLayout {
  const name = file.source.name;
  if (outputs.length !== file.tensors.length) {
    throw new FormatError(`outputs has ${outputs.length} entries for ${file.tensors.length} tensors`, { file: name, field: 'outputs' });
  }
  if (!Number.isInteger(fileType) || fileType < 0 || fileType > 0xffffffff) {
    throw new FormatError(`fileType must be a u32; got ${fileType}`, { file: name, field: KEY_FILE_TYPE });
  }
  let offset = 0;
  const entries = file.tensors.map((t, i) => {
    const output = outputs[i] as GgufTensorType;
    const fail = (message: string) => new FormatError(message, { file: name, tensor: t.name, field: 'outputs' });
    let ggmlType = t.ggmlType;
    let byteLength = t.byteLength;
    if (output !== 'keep') {
      const target = OUTPUT_TYPES[output] as number | undefined;
      if (target === undefined) throw fail(`unknown output type ${String(output)}`);
      if (!t.quantizable) throw fail(`is ${t.typeName}; only F32 and F16 tensors can be converted to ${output}`);
      const info = ggmlTypeInfo(target);
      const rowLength = t.shape.at(-1) ?? 1;
      if (!info || rowLength % info.blockSize !== 0) {
        throw fail(`rows of ${rowLength} elements are not a multiple of ${output}'s block of ${info?.blockSize}`);
      }
      ggmlType = target;
      byteLength = (t.shape.reduce((a, b) => a * b, 1) / info.blockSize) * info.typeSize;
    }
    const entry = { name: t.name, ggmlType, byteLength, offset };
    offset = alignUp(offset + byteLength, file.alignment);
    return entry;
  });

  const out = byteBuilder();
  out.bytes(new Uint8Array(MAGIC));
  out.u32(3);
  out.u64(file.tensors.length);
  const forced = new Map([[KEY_FILE_TYPE, fileType], [KEY_QUANT_VERSION, QUANT_VERSION]]);
  const added = [...forced.keys()].filter((k) => !file.metadata.has(k));
  out.u64(file.metadata.size + added.length);
  for (const [key, v] of file.metadata) {
    out.string(key);
    const u32 = forced.get(key);
    if (u32 !== undefined) {
      out.u32(T.UINT32);
      out.u32(u32);
    } else {
      out.u32(v.type);
      if (v.raw) out.bytes(v.raw);
      else encodeValue(out, v.type, v.value, (message) => new FormatError(message, { file: name, field: key }));
    }
  }
  for (const key of added) {
    out.string(key);
    out.u32(T.UINT32);
    out.u32(forced.get(key) as number);
  }
  file.tensors.forEach((t, i) => {
    const e = entries[i] as GgufLayout['entries'][number];
    out.string(t.name);
    out.u32(t.shape.length);
    for (let j = t.shape.length - 1; j >= 0; j--) out.u64(t.shape[j] as number);
    out.u32(e.ggmlType);
    out.u64(e.offset);
  });
  out.zeros(alignUp(out.length, file.alignment) - out.length);
  const header = out.result();
  return { header, entries, totalBytes: header.length + offset };
}

/**
 * Writes a planned GGUF file to `sink`: the header, then each tensor's bytes from `produce(index)`
 * in order, with zero padding to the alignment. `produce` may give the bytes whole or in pieces
 * ({@link TensorBytes}), each written as it comes, so that a tensor need not be in memory whole.
 *
 * @example
 * await writeGguf(sink, layout, async (i) => file.source.read(file.tensors[i].offset, file.tensors[i].byteLength));
 */
export async function writeGguf(
  sink: ByteSink, layout: GgufLayout, produce: (index: number) => TensorBytes | Promise<TensorBytes>,
): Promise<void> {
  await sink.write(layout.header);
  let at = 0;
  const dataBytes = layout.totalBytes - layout.header.length;
  for (const [i, e] of layout.entries.entries()) {
    const where = { file: 'GGUF output', tensor: e.name };
    if (e.offset < at) throw new FormatError(`layout offset ${e.offset} overlaps the previous tensor`, { ...where, field: 'offset' });
    if (e.offset > at) await sink.write(new Uint8Array(e.offset - at));
    await writeTensorBytes(sink, await produce(i), e.byteLength, (produced) => new FormatError(
      `produce gave ${produced} bytes but the layout has ${e.byteLength}`, { ...where, field: 'byteLength' },
    ));
    at = e.offset + e.byteLength;
  }
  if (dataBytes > at) await sink.write(new Uint8Array(dataBytes - at));
}
