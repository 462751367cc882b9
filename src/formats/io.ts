// Byte sources and sinks the format readers and writers stream through, so that a multi-GB file
// is never held whole: a Node file handle or a browser Blob behind the same interface.
import { f16ToF32BitsTable } from '../cpu/float.js';
import { FormatError } from '../errors.js';

/** Random-access bytes. `name` is what errors call the file. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes from `offset`; a short read is a FormatError naming the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: exactly `target.length` bytes from `offset` into `target`, for a source that can
   * read into memory it is given (a file); float32 tensors are then read straight into place.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
}

/** Sequential output. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * One tensor's bytes as a writer takes them: all at once, or in pieces (an array, a generator,
 * an async generator) written as they come, so that a tensor need never be held whole.
 */
export type TensorBytes = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes a tensor's bytes to `sink` piece by piece, refusing them (through `fail`, given what was
 * produced) as soon as they run past `expected` bytes, or at the end if they fall short; nothing
 * past `expected` is ever written.
 */
export async function writeTensorBytes(
  sink: ByteSink, bytes: TensorBytes, expected: number, fail: (produced: string) => Error,
): Promise<void> {
  if (ArrayBuffer.isView(bytes)) {
    if (bytes.byteLength !== expected) throw fail(String(bytes.byteLength));
    await sink.write(bytes);
    return;
  }
  let written = 0;
  for await (const piece of bytes) {
    if (written + piece.byteLength > expected) throw fail(`at least ${written + piece.byteLength}`);
    await sink.write(piece);
    written += piece.byteLength;
  }
  if (written !== expected) throw fail(String(written));
}

/** A Blob (a browser File) as a ByteSource, read by `Blob.slice` ranges. */
export function blobSource(blob: Blob, name = (blob as { name?: string }).name ?? 'blob'): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** Element types read as float32. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** Bytes read per call: a large tensor is widened a piece at a time, never read whole. */
const READ_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Elements `start` … `start + length − 1` of a little-endian F32, F16 or BF16 tensor of `count`
 * elements at `offset`, as float32: exact, every bit pattern kept (NaN payloads included, as numpy
 * and PyTorch widen). Only those elements' bytes are read. A range outside the tensor is a
 * FormatError naming `where`.
 */
export async function readFloat32Range(
  source: ByteSource, where: { file: string; tensor: string }, offset: number, dtype: FloatDtype, count: number,
  start: number, length: number,
): Promise<Float32Array> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > count) {
    throw new FormatError(`elements ${start}..${start + length} asked for, but the tensor has ${count}`, where);
  }
  const size = dtype === 'F32' ? 4 : 2;
  const out = new Float32Array(length);
  const bits = new Uint32Array(out.buffer);
  const table = dtype === 'F16' ? f16ToF32BitsTable() : undefined;
  const chunkElements = Math.floor(READ_CHUNK_BYTES / size);
  for (let first = 0; first < length; first += chunkElements) {
    const n = Math.min(chunkElements, length - first);
    const at = offset + (start + first) * size;
    if (size === 4) {
      // Little-endian like every host WebGPU runs on: the bytes are the values, read into place
      // or copied there once (the result is aligned wherever they lie).
      const place = new Uint8Array(out.buffer, first * 4, n * 4);
      if (source.readInto) await source.readInto(at, place);
      else place.set(await source.read(at, n * 4));
      continue;
    }
    const bytes = await source.read(at, n * size);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (table) {
      for (let i = 0; i < n; i++) bits[first + i] = table[view.getUint16(i * 2, true)] as number;
    } else {
      // bfloat16 is the top half of a float32.
      for (let i = 0; i < n; i++) bits[first + i] = view.getUint16(i * 2, true) << 16;
    }
  }
  return out;
}

/** In-memory bytes as a ByteSource (tests, small files already loaded). */
export function bytesSource(bytes: Uint8Array, name = 'bytes'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** Collects everything written: the parts as written (usable as Blob parts), or joined by `bytes()`. */
export function memorySink(): ByteSink & { parts: Uint8Array[]; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    parts,
    async write(chunk) {
      parts.push(chunk.slice());
    },
    bytes() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.byteLength;
      }
      return out;
    },
  };
}

export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new FormatError(`wants bytes ${offset}..${offset + length} but the file has ${size} bytes (truncated?)`, {
      file: name,
    });
  }
}
