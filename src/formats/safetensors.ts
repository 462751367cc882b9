// safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of UTF-8
// JSON mapping each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to
// the byte after the header) plus an optional "__metadata__" string map, then the data section.
// The reader validates the way the reference implementation does (tensor.rs `read_metadata` and
// `validate`): offsets sorted, each tensor starting where the previous one ended, sizes equal to
// shape × dtype, and the last tensor ending exactly at the end of the file. Data is only ever read
// by ranges, so a multi-GB file is never held whole.
import { FormatError } from '../errors.js';
import { type ByteSink, type ByteSource, type FloatDtype, readFloat32Range, type TensorBytes, writeTensorBytes } from './io.js';

/**
 * Bytes per element of every dtype the safetensors spec allows. The OCP microscaling types F4 and
 * F6_* are sub-byte (0.5 and 0.75 bytes); a tensor of them must fill whole bytes.
 *
 * @example
 * SAFETENSORS_DTYPES['BF16']; // 2
 */
export const SAFETENSORS_DTYPES: Record<string, number> = {
  BOOL: 1,
  F4: 0.5,
  F6_E2M3: 0.75,
  F6_E3M2: 0.75,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2FNUZ: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  C64: 8,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The reference implementation's limit on the header, also the default here. */
const DEFAULT_MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const QUANTIZABLE = new Set(['F32', 'F16', 'BF16']);

/**
 * One tensor of a safetensors file. `offset` is absolute (header included); `quantizable` is true
 * for F32, F16 and BF16.
 *
 * @example
 * const t: SafetensorsTensor = { name: 'fc.weight', dtype: 'F32', shape: [2, 3], offset: 72, byteLength: 24, quantizable: true };
 */
export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  offset: number;
  byteLength: number;
  quantizable: boolean;
}

/**
 * A validated safetensors header; tensor data stays in `source` until asked for. `tensors` are in
 * data order, which need not be the header's order.
 *
 * @example
 * const file: SafetensorsFile = await readSafetensors(bytesSource(bytes, 'model.safetensors'));
 */
export interface SafetensorsFile {
  format: 'safetensors';
  source: ByteSource;
  headerLength: number;
  metadata: Record<string, string> | undefined;
  tensors: SafetensorsTensor[];
}

/**
 * A tensor to be written: `byteLength` must equal shape × dtype size.
 *
 * @example
 * const out: OutputTensor = { name: 'fc.weight_scale', dtype: 'F16', shape: [32, 1], byteLength: 64 };
 */
export interface OutputTensor {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
}

/** Past this many bits a tensor is larger than any file (2^64 bytes). */
const MAX_BITS = 2n ** 67n;

/**
 * Bits of `shape` × `dtype`, exactly (BigInt: a hostile shape may overflow 2^53), or undefined
 * past 2^64 bytes: the product stops growing there, so a shape of a million huge dimensions costs
 * no more than a short one.
 */
function bitLength(shape: readonly number[], dtype: string): bigint | undefined {
  if (shape.includes(0)) return 0n;
  let bits = BigInt(Math.round((SAFETENSORS_DTYPES[dtype] ?? 0) * 8));
  for (const d of shape) {
    bits *= BigInt(d);
    if (bits > MAX_BITS) return undefined;
  }
  return bits;
}

/** A value as it appears in a message: JSON, cut short. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/**
 * The reference parses the header with serde_json, whose recursion limit is 128; a valid header
 * nests three deep (the object, an entry, its shape).
 */
const MAX_JSON_DEPTH = 128;

/**
 * Looks through the header's JSON text, without recursion, for what JSON.parse would hide or choke
 * on: nesting deeper than MAX_JSON_DEPTH, and a key given twice in one object (JSON.parse keeps the
 * last silently, so a tensor could be declared twice). Syntax errors are left to JSON.parse.
 */
function checkJsonShape(file: string, text: string): void {
  // One entry per open container: the keys seen (an object) or null (an array).
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  let tensor: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text.charCodeAt(j) !== 0x22) {
        if (text.charCodeAt(j) === 0x5c) {
          escaped = true;
          j++;
        }
        j++;
      }
      if (expectKey) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        } catch {
          return;
        }
        const keys = open.at(-1) as Set<string>;
        if (keys.has(key)) {
          if (open.length === 1) throw new FormatError('is declared more than once in the header', { file, tensor: key });
          throw new FormatError(`key ${preview(key)} appears twice in one object`, {
            file, field: 'header', ...(tensor === undefined || tensor === METADATA_KEY ? {} : { tensor }),
          });
        }
        keys.add(key);
        if (open.length === 1) tensor = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (open.length >= MAX_JSON_DEPTH) {
        throw new FormatError(`JSON nests more than ${MAX_JSON_DEPTH} deep`, { file, field: 'header' });
      }
      open.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = open.at(-1) instanceof Set;
    }
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one header entry and returns it with offsets relative to the data section. */
function parseEntry(file: string, name: string, entry: unknown): { name: string; dtype: string; shape: number[]; begin: number; end: number } {
  const fail = (message: string, field?: string): never => {
    throw new FormatError(message, { file, tensor: name, ...(field ? { field } : {}) });
  };
  if (!isPlainObject(entry)) return fail(`header entry must be an object with dtype, shape and data_offsets; got ${preview(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) {
    return fail(`unknown dtype ${preview(dtype)}; safetensors allows ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`, 'dtype');
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    return fail(`shape must be an array of non-negative integers; got ${preview(shape)}`, 'shape');
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return fail(`data_offsets must be [begin, end], two non-negative integers; got ${preview(offsets)}`, 'data_offsets');
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) return fail(`data_offsets [${begin}, ${end}] end before they begin`, 'data_offsets');
  const bits = bitLength(shape, dtype);
  if (bits === undefined) return fail(`shape ${preview(shape)} of ${dtype} is larger than any file (past 2^64 bytes)`, 'shape');
  if (bits % 8n !== 0n) {
    return fail(`shape ${preview(shape)} of ${dtype} is ${bits} bits, not a whole number of bytes`, 'shape');
  }
  if (bits / 8n !== BigInt(end - begin)) {
    return fail(
      `shape ${preview(shape)} of ${dtype} needs ${bits / 8n} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      'data_offsets',
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function parseMetadata(file: string, value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    throw new FormatError(`must be an object of string values; got ${preview(value)}`, { file, field: METADATA_KEY });
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new FormatError(`value of '${key.length > 120 ? `${key.slice(0, 120)}…` : key}' must be a string; got ${preview(v)}`, {
        file, field: METADATA_KEY,
      });
    }
  }
  return { ...(value as Record<string, string>) };
}

/**
 * Reads and validates the header of a safetensors file: the header length (bounded by
 * `maxHeaderBytes`, default 100 MB, and by the file), UTF-8 JSON object, known dtypes, sizes that
 * match shape × dtype, and data offsets that cover the data section in order with no gap or
 * overlap. Every problem is a `FormatError` naming the file and the tensor or field.
 *
 * @example
 * const file = await readSafetensors(blobSource(input.files[0]));
 * for (const t of file.tensors) console.log(t.name, t.dtype, t.shape);
 */
export async function readSafetensors(source: ByteSource, options?: { maxHeaderBytes?: number }): Promise<SafetensorsFile> {
  const file = source.name;
  const limit = options?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!isCount(limit)) throw new FormatError(`options.maxHeaderBytes must be a non-negative integer; got ${limit}`, { file });
  if (source.size < 8) {
    throw new FormatError(`is ${source.size} bytes long; a safetensors file starts with an 8-byte header length`, {
      file, field: 'header length',
    });
  }
  const prefix = await source.read(0, 8);
  const declared = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(limit)) {
    throw new FormatError(`header length ${declared} exceeds the limit of ${limit} bytes (corrupt, or not safetensors)`, {
      file, field: 'header length',
    });
  }
  const headerLength = Number(declared);
  if (8 + headerLength > source.size) {
    throw new FormatError(`header length ${headerLength} runs past the end of the file (${source.size} bytes)`, {
      file, field: 'header length',
    });
  }
  const headerBytes = await source.read(8, headerLength);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new FormatError('header is not valid UTF-8', { file, field: 'header' });
  }
  // The reference rejects a header that does not open with '{' (InvalidHeaderStart).
  if (!text.startsWith('{')) {
    throw new FormatError(`header must be a JSON object starting with '{'; it starts with ${JSON.stringify(text.slice(0, 16))}`, {
      file, field: 'header',
    });
  }
  checkJsonShape(file, text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`header is not valid JSON (${(err as Error).message})`, { file, field: 'header' });
  }
  if (!isPlainObject(json)) throw new FormatError('header must be a JSON object', { file, field: 'header' });

  const metadata = parseMetadata(file, json[METADATA_KEY]);
  const entries = Object.entries(json)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, entry]) => parseEntry(file, name, entry))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);

  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  let expected = 0;
  let previous: string | undefined;
  for (const e of entries) {
    const where = { file, tensor: e.name, field: 'data_offsets' };
    if (e.begin < expected) {
      throw new FormatError(`data_offsets [${e.begin}, ${e.end}] overlap tensor '${previous}', which ends at ${expected}`, where);
    }
    if (e.begin > expected) {
      throw new FormatError(
        `data_offsets [${e.begin}, ${e.end}] leave a gap: bytes ${expected}..${e.begin} belong to no tensor`,
        where,
      );
    }
    if (e.end > dataSize) {
      throw new FormatError(
        `data_offsets [${e.begin}, ${e.end}] run past the end of the data section (${dataSize} bytes): the file is truncated or the offsets are wrong`,
        where,
      );
    }
    expected = e.end;
    previous = e.name;
  }
  if (expected !== dataSize) {
    throw new FormatError(
      `the tensors end at data byte ${expected} but the data section has ${dataSize} bytes: trailing bytes belong to no tensor`,
      { file, field: 'data_offsets' },
    );
  }
  return {
    format: 'safetensors',
    source,
    headerLength,
    metadata,
    tensors: entries.map((e) => ({
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      offset: dataStart + e.begin,
      byteLength: e.end - e.begin,
      quantizable: QUANTIZABLE.has(e.dtype),
    })),
  };
}

/**
 * A quantizable tensor's values as float32: F32 as is, F16 and BF16 widened exactly (every
 * bit pattern, NaN payloads included). Reads the tensor's byte range in chunks; any other dtype is a
 * FormatError.
 *
 * @example
 * const file = await readSafetensors(source);
 * const w = await readSafetensorsF32(file, file.tensors[0]);
 */
export async function readSafetensorsF32(file: SafetensorsFile, tensor: SafetensorsTensor): Promise<Float32Array> {
  const size = SAFETENSORS_DTYPES[tensor.dtype] ?? 1;
  return readSafetensorsF32Range(file, tensor, 0, tensor.byteLength / size);
}

/**
 * Elements `start` … `start + length − 1` (row-major) of a quantizable tensor as float32, widened
 * as {@link readSafetensorsF32} widens them; only their bytes are read. A range outside the
 * tensor, or a dtype other than F32, F16 or BF16, is a FormatError.
 *
 * @example
 * const firstRows = await readSafetensorsF32Range(file, tensor, 0, 4 * tensor.shape[1]);
 */
export async function readSafetensorsF32Range(
  file: SafetensorsFile, tensor: SafetensorsTensor, start: number, length: number,
): Promise<Float32Array> {
  const where = { file: file.source.name, tensor: tensor.name };
  if (!QUANTIZABLE.has(tensor.dtype)) {
    throw new FormatError(`is ${tensor.dtype}; only F32, F16 and BF16 can be read as float32`, { ...where, field: 'dtype' });
  }
  const size = SAFETENSORS_DTYPES[tensor.dtype] as number;
  return readFloat32Range(file.source, where, tensor.offset, tensor.dtype as FloatDtype, tensor.byteLength / size, start, length);
}

function checkOutput(file: string, t: OutputTensor, seen: Set<string>): void {
  const where = { file, tensor: t.name };
  if (t.name === METADATA_KEY) throw new FormatError(`'${METADATA_KEY}' is reserved for the metadata map`, where);
  if (seen.has(t.name)) throw new FormatError('appears twice in the output', where);
  seen.add(t.name);
  if (!(t.dtype in SAFETENSORS_DTYPES)) {
    throw new FormatError(`unknown dtype ${JSON.stringify(t.dtype)}`, { ...where, field: 'dtype' });
  }
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
    throw new FormatError(`shape must be non-negative integers; got ${JSON.stringify(t.shape)}`, { ...where, field: 'shape' });
  }
  const bits = bitLength(t.shape, t.dtype);
  if (bits === undefined || bits % 8n !== 0n || bits / 8n !== BigInt(t.byteLength)) {
    throw new FormatError(
      `byteLength ${t.byteLength} does not match shape ${preview(t.shape)} of ${t.dtype} (${bits ?? 'past 2^67'} bits)`,
      { ...where, field: 'byteLength' },
    );
  }
}

/**
 * The header of a safetensors file holding `tensors` in the order given: the u64 little-endian
 * length, then the JSON padded with spaces to a multiple of 8 bytes (as the reference writer does,
 * so the data section starts 8-byte aligned), with consecutive `data_offsets`.
 *
 * @example
 * const header = safetensorsHeader([{ name: 'w', dtype: 'F32', shape: [2], byteLength: 8 }], { format: 'pt' });
 */
export function safetensorsHeader(tensors: OutputTensor[], metadata?: Record<string, string>): Uint8Array {
  const file = 'safetensors output';
  const seen = new Set<string>();
  // Built by hand, not with JSON.stringify of one object: JS objects put integer-like keys first,
  // and the entries must stay in the order given.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [key, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new FormatError(`value of '${key}' must be a string; got ${JSON.stringify(v)}`, { file, field: METADATA_KEY });
      }
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const t of tensors) {
    checkOutput(file, t, seen);
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/**
 * Writes a safetensors file to `sink`: the header first (every size is known up front), then the
 * bytes of each tensor in order, asking `produce(i)` for tensor `i` only when it is due. `produce`
 * may give the bytes whole or in pieces ({@link TensorBytes}), each written as it comes, so that a
 * tensor need not be in memory whole. Bytes that do not add up to the tensor's length are a
 * FormatError naming the tensor. Returns the file's length in bytes.
 *
 * @example
 * const sink = memorySink();
 * await writeSafetensors(sink, [{ name: 'w', dtype: 'F32', shape: [2], byteLength: 8 }], undefined,
 *   async () => new Uint8Array(new Float32Array([1, 2]).buffer));
 */
export async function writeSafetensors(
  sink: ByteSink,
  tensors: OutputTensor[],
  metadata: Record<string, string> | undefined,
  produce: (index: number) => TensorBytes | Promise<TensorBytes>,
): Promise<number> {
  const header = safetensorsHeader(tensors, metadata);
  await sink.write(header);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i] as OutputTensor;
    await writeTensorBytes(sink, await produce(i), t.byteLength, (produced) => new FormatError(
      `produced ${produced} bytes but the header promised ${t.byteLength}`,
      { file: (sink as { name?: string }).name ?? 'safetensors output', tensor: t.name, field: 'byteLength' },
    ));
  }
  return header.byteLength + tensors.reduce((n, t) => n + t.byteLength, 0);
}
