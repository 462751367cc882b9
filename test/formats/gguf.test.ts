// GGUF reading and writing. Expected values come from outside the code under test: the fixture's
// documented facts (models/README.md, Karpathy's stories260K config), llama.cpp's reference
// quantizers re-implemented below in plain float32 arithmetic, IEEE binary16 facts, and GGUF files
// laid out by hand with DataView.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quantize } from '../../src/api.js';
import { FormatError, QuantizationError } from '../../src/errors.js';
import {
  encodeF16, encodeQ4_0, encodeQ4_0Chunk, encodeQ8_0, encodeQ8_0Chunk, GGML_TYPE, type GgufFile, type GgufLayout, type GgufOutputType,
  GGUF_VALUE_TYPE, LLAMA_FTYPE, planGgufOutput, readGguf, readGgufTensorF32, readGgufTensorF32Range, writeGguf,
} from '../../src/formats/gguf.js';
import { type ByteSource, bytesSource, memorySink } from '../../src/formats/io.js';
import { openFileSource } from '../../src/node/files.js';
import type { QuantScheme } from '../../src/types.js';
import { loadOracle } from '../data/oracle.js';

const FIXTURE_PATH = new URL('../../models/stories260K.gguf', import.meta.url);
const FIXTURE = new Uint8Array(readFileSync(FIXTURE_PATH));
const Q8: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
const Q4: QuantScheme = { ...Q8, dtype: 'int4' };
const V = GGUF_VALUE_TYPE;

// ---------------------------------------------------------------------------------------------
// llama.cpp's reference rules, written independently of src/: float32 at every step.

const f32 = Math.fround;
const scratch = new DataView(new ArrayBuffer(4));
const bitsOf = (x: number) => (scratch.setFloat32(0, x), scratch.getUint32(0));
const fromBits = (b: number) => (scratch.setUint32(0, b >>> 0), scratch.getFloat32(0));

/**
 * float32 → float16 bits by the float32-addition trick of Maratyszcza/FP16's
 * `fp16_ieee_from_fp32_value`, which ggml uses as its portable GGML_FP32_TO_FP16: adding a power
 * of two lets the FPU's round-to-nearest-even do the rounding.
 */
function fp16(x: number): number {
  let base = f32(f32(Math.abs(x) * fromBits(0x77800000)) * fromBits(0x08800000)); // ·2^112 ·2^-110
  const w = bitsOf(x);
  const shl1 = (w * 2) % 2 ** 32;
  const sign = w >= 0x80000000 ? 0x8000 : 0;
  const bias = Math.max(Math.floor(shl1 / 2 ** 24) * 2 ** 24, 0x71000000);
  base = f32(fromBits(bias / 2 + 0x07800000) + base);
  const bits = bitsOf(base);
  const nonsign = ((bits >>> 13) & 0x7c00) + (bits & 0xfff);
  return (sign | (shl1 > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

/** IEEE binary16 bits → value. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
}

/** C `roundf`: halves away from zero. */
const roundf = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

/** quantize_row_q8_0_ref (ggml-quants.c). */
function q8Reference(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j] as number));
    const d = f32(amax / 127);
    const id = d !== 0 ? f32(1 / d) : 0;
    view.setUint16(b * 34, fp16(d), true);
    for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, roundf(f32((x[b * 32 + j] as number) * id)));
  }
  return out;
}

/** quantize_row_q4_0_ref (ggml-quants.c): `(int8_t)(x0 + 8.5f)` truncates a float32 sum. */
function q4Reference(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f32(max / -8);
    const id = d !== 0 ? f32(1 / d) : 0;
    view.setUint16(b * 18, fp16(d), true);
    for (let j = 0; j < 16; j++) {
      const x0 = f32((x[b * 32 + j] as number) * id);
      const x1 = f32((x[b * 32 + 16 + j] as number) * id);
      const xi0 = Math.min(15, Math.trunc(f32(x0 + 8.5)));
      const xi1 = Math.min(15, Math.trunc(f32(x1 + 8.5)));
      out[b * 18 + 2 + j] = xi0 | (xi1 << 4);
    }
  }
  return out;
}

/** Index of the first differing byte, or -1. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------
// A tiny GGUF writer of the test's own: every field laid out by hand.

function byteWriter(version: number) {
  const out: number[] = [];
  const put = (n: number, f: (d: DataView) => void) => {
    const d = new DataView(new ArrayBuffer(n));
    f(d);
    for (let i = 0; i < n; i++) out.push(d.getUint8(i));
  };
  const w = {
    get length() {
      return out.length;
    },
    raw: (b: ArrayLike<number>) => (out.push(...Array.from(b)), w),
    u8: (v: number) => (put(1, (d) => d.setUint8(0, v)), w),
    i8: (v: number) => (put(1, (d) => d.setInt8(0, v)), w),
    u16: (v: number) => (put(2, (d) => d.setUint16(0, v, true)), w),
    i16: (v: number) => (put(2, (d) => d.setInt16(0, v, true)), w),
    u32: (v: number) => (put(4, (d) => d.setUint32(0, v, true)), w),
    i32: (v: number) => (put(4, (d) => d.setInt32(0, v, true)), w),
    f32: (v: number) => (put(4, (d) => d.setFloat32(0, v, true)), w),
    f64: (v: number) => (put(8, (d) => d.setFloat64(0, v, true)), w),
    u64: (v: bigint) => (put(8, (d) => d.setBigUint64(0, v, true)), w),
    i64: (v: bigint) => (put(8, (d) => d.setBigInt64(0, v, true)), w),
    /** A count or length: u32 in GGUF v1, u64 since. */
    len: (n: number | bigint) => (version === 1 ? w.u32(Number(n)) : w.u64(BigInt(n))),
    str: (s: string) => {
      const b = new TextEncoder().encode(s);
      return w.len(b.length).raw(b);
    },
    pad: (a: number) => {
      while (out.length % a !== 0) out.push(0);
      return w;
    },
    bytes: () => new Uint8Array(out),
  };
  return w;
}

type Writer = ReturnType<typeof byteWriter>;

interface TensorSpec {
  name: string;
  ne: (number | bigint)[];
  type: number;
  offset: number | bigint;
}

interface FileSpec {
  version?: number;
  magic?: string;
  tensorCount?: bigint;
  kvCount?: bigint;
  /** Each writes a key, its type id and its value. */
  kvs?: ((w: Writer) => void)[];
  tensors?: TensorSpec[];
  alignment?: number;
  data?: Uint8Array;
}

function buildGguf(spec: FileSpec): Uint8Array {
  const version = spec.version ?? 3;
  const kvs = spec.kvs ?? [];
  const tensors = spec.tensors ?? [];
  const w = byteWriter(version);
  w.raw(new TextEncoder().encode(spec.magic ?? 'GGUF')).u32(version);
  w.len(spec.tensorCount ?? BigInt(tensors.length)).len(spec.kvCount ?? BigInt(kvs.length));
  for (const kv of kvs) kv(w);
  for (const t of tensors) {
    w.str(t.name).u32(t.ne.length);
    for (const d of t.ne) w.len(d);
    w.u32(t.type).u64(BigInt(t.offset));
  }
  w.pad(spec.alignment ?? 32).raw(spec.data ?? []);
  return w.bytes();
}

const kvU32 = (key: string, v: number) => (w: Writer) => void w.str(key).u32(V.UINT32).u32(v);
const kvStr = (key: string, v: string) => (w: Writer) => void w.str(key).u32(V.STRING).str(v);

/** A small valid v3 file: one F32 tensor [2, 3] and one F16 tensor [4]. */
function smallSpec(): FileSpec {
  const data = byteWriter(3);
  for (const v of [1, -2, 0.5, 3.25, 0, 1e-3]) data.f32(v);
  data.pad(32);
  for (const h of [0x3c00, 0xc000, 0x0001, 0x7bff]) data.u16(h);
  return {
    kvs: [kvStr('general.architecture', 'llama'), kvU32('general.file_type', 0)],
    tensors: [
      { name: 'a.weight', ne: [3, 2], type: GGML_TYPE.F32, offset: 0 },
      { name: 'b.weight', ne: [4], type: GGML_TYPE.F16, offset: 32 },
    ],
    data: data.bytes(),
  };
}

async function readError(bytes: Uint8Array, options?: { maxHeaderBytes?: number }): Promise<FormatError> {
  const err = await readGguf(bytesSource(bytes, 'bad.gguf'), options).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FormatError);
  return err as FormatError;
}

async function expectFormatError(
  bytes: Uint8Array, where: { field?: string; tensor?: string }, message: RegExp, options?: { maxHeaderBytes?: number },
): Promise<void> {
  const e = await readError(bytes, options);
  expect(e.file).toBe('bad.gguf');
  expect({ field: e.field, tensor: e.tensor }).toEqual({ field: where.field, tensor: where.tensor });
  expect(e.message).toMatch(message);
  expect(e.message.startsWith('bad.gguf: ')).toBe(true);
}

/** Records every read, to show the reader streams. */
function countingSource(bytes: Uint8Array, name: string): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes, name);
  const reads: [number, number][] = [];
  return { name, size: inner.size, reads, read: (offset, length) => (reads.push([offset, length]), inner.read(offset, length)) };
}

async function writeToBytes(file: GgufFile, outputs: GgufOutputType[], fileType: number, produce: (i: number) => Promise<Uint8Array>) {
  const layout = planGgufOutput(file, outputs, fileType);
  const sink = memorySink();
  await writeGguf(sink, layout, produce);
  const bytes = sink.bytes();
  return { layout, bytes, reread: await readGguf(bytesSource(bytes, 'out.gguf')) };
}

const original = (file: GgufFile) => (i: number) => {
  const t = file.tensors[i] as GgufFile['tensors'][number];
  return file.source.read(t.offset, t.byteLength);
};

// ---------------------------------------------------------------------------------------------

describe('the test\'s own float16 rounding', () => {
  it("equals Python's struct 'e' conversion on the oracle's 2 199 values", () => {
    const { f16 } = loadOracle();
    expect(f16.map(([b]) => fp16(fromBits(b)))).toEqual(f16.map(([, h]) => h));
  });
});

describe('readGguf on stories260K.gguf', () => {
  it('reads version, counts, metadata and shapes consistent with the documented model', async () => {
    const source = await openFileSource(FIXTURE_PATH.pathname);
    try {
      const file = await readGguf(source);
      expect(file.format).toBe('gguf');
      expect(file.version).toBe(3);
      expect(file.alignment).toBe(32); // no general.alignment: GGUF's default
      expect(file.tensors).toHaveLength(48);
      expect(file.tensors.filter((t) => t.shape.length === 2)).toHaveLength(37);
      expect(file.tensors.filter((t) => t.shape.length === 1)).toHaveLength(11);
      expect(file.tensors.every((t) => t.typeName === 'F32' && t.ggmlType === 0 && t.quantizable)).toBe(true);

      // stories260K: dim 64, 5 layers, 8 heads, 4 kv heads, vocab 512, hidden 172.
      const meta = (k: string) => file.metadata.get(k);
      expect(meta('general.architecture')).toMatchObject({ type: V.STRING, value: 'llama' });
      expect(meta('llama.embedding_length')).toMatchObject({ type: V.UINT32, value: 64 });
      expect(meta('llama.block_count')?.value).toBe(5);
      expect(meta('llama.attention.head_count')?.value).toBe(8);
      expect(meta('llama.attention.head_count_kv')?.value).toBe(4);
      expect(meta('llama.feed_forward_length')?.value).toBe(172);
      const tokens = meta('tokenizer.ggml.tokens');
      expect(tokens?.type).toBe(V.ARRAY);
      const { itemType, items } = tokens?.value as { itemType: number; items: unknown[] };
      expect(itemType).toBe(V.STRING);
      expect(items).toHaveLength(512);
      expect(items.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']); // SentencePiece's llama ids 0, 1, 2

      const byName = new Map(file.tensors.map((t) => [t.name, t]));
      expect(byName.get('token_embd.weight')?.shape).toEqual([512, 64]);
      expect(byName.get('blk.0.attn_k.weight')?.shape).toEqual([4 * (64 / 8), 64]);
      for (let l = 0; l < 5; l++) expect(byName.get(`blk.${l}.ffn_down.weight`)?.shape).toEqual([64, 172]);
      expect(byName.get('output_norm.weight')?.shape).toEqual([64]);

      // Sizes: 4 bytes per element, aligned, back to back, filling the file to its end.
      let end = file.dataOffset;
      for (const t of [...file.tensors].sort((a, b) => a.offset - b.offset)) {
        expect(t.byteLength).toBe(numel(t.shape) * 4);
        expect((t.offset - file.dataOffset) % 32).toBe(0);
        expect(t.offset).toBe(end);
        end = t.offset + Math.ceil(t.byteLength / 32) * 32;
      }
      expect(end).toBe(FIXTURE.length);
      expect(file.dataOffset % 32).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('reads the header in chunks and never the whole file', async () => {
    const source = countingSource(FIXTURE, 'stories260K.gguf');
    const file = await readGguf(source);
    const read = source.reads.reduce((n, [, len]) => n + len, 0);
    expect(read).toBeGreaterThanOrEqual(file.dataOffset - 32);
    expect(read).toBeLessThan(FIXTURE.length / 4);
  });

  it('gives F32 tensors as stored', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const t = file.tensors.find((e) => e.name === 'output_norm.weight') as GgufFile['tensors'][number];
    const x = await readGgufTensorF32(file, t);
    expect(new Uint8Array(x.buffer)).toEqual(FIXTURE.slice(t.offset, t.offset + t.byteLength));
  });
});

describe('Q8_0 and Q4_0 blocks equal llama.cpp\'s reference quantizers', () => {
  it('on every stories260K matrix whose rows are a multiple of 32', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const eligible = file.tensors.filter((t) => t.shape.length === 2 && (t.shape[1] as number) % 32 === 0);
    expect(eligible).toHaveLength(32); // 37 matrices less the five ffn_down with rows of 172
    for (const t of eligible) {
      const x = await readGgufTensorF32(file, t);
      const q8 = encodeQ8_0(await quantize(x, t.shape, Q8));
      const q4 = encodeQ4_0(await quantize(x, t.shape, Q4));
      expect(q8.length).toBe((numel(t.shape) / 32) * 34);
      expect(q4.length).toBe((numel(t.shape) / 32) * 18);
      expect({ tensor: t.name, q8: firstDiff(q8, q8Reference(x)) }).toEqual({ tensor: t.name, q8: -1 });
      expect({ tensor: t.name, q4: firstDiff(q4, q4Reference(x)) }).toEqual({ tensor: t.name, q4: -1 });
    }
  });

  it('on awkward blocks: zeros, exact ties, equal magnitudes of both signs, scales below float16 range', async () => {
    const blocks = [
      new Array<number>(32).fill(0),
      [127, 0.5, -0.5, 1.5, -2.5, 126.5, -126.5, ...new Array<number>(25).fill(63.5)], // Q8_0 d = 1: roundf ties
      [-8, 7.5, -0.5, 0.5, 3.5, -3.5, ...new Array<number>(26).fill(-7.5)], // Q4_0 d = 1: x + 8.5 lands on integers
      [3, -3, ...new Array<number>(30).fill(-3)], // the first of equal magnitudes sets Q4_0's sign
      Array.from({ length: 32 }, (_, i) => (i - 16) * 1e-7), // d underflows to float16 zero or a subnormal
      Array.from({ length: 32 }, (_, i) => Math.sin(i * 7.1) * 1000),
    ];
    const x = new Float32Array(blocks.flat());
    const shape = [blocks.length, 32];
    expect(firstDiff(encodeQ8_0(await quantize(x, shape, Q8)), q8Reference(x))).toBe(-1);
    expect(firstDiff(encodeQ4_0(await quantize(x, shape, Q4)), q4Reference(x))).toBe(-1);
  });

  it('block layout: float16 d first, Q4_0 pairing element j with element j + 16', async () => {
    // Q4_0 with max -8 → d = 1: codes equal values; stored nibble = code + 8.
    const x = new Float32Array(Array.from({ length: 32 }, (_, i) => (i === 0 ? -8 : (i % 16) - 8)));
    const bytes = encodeQ4_0(await quantize(x, [32], Q4));
    expect([bytes[0], bytes[1]]).toEqual([0x00, 0x3c]); // half 1.0, little-endian
    expect(bytes[2]).toBe(0 | (0 << 4)); // elements 0 and 16: -8, -8
    expect(bytes[3]).toBe(1 | (1 << 4)); // elements 1 and 17: -7, -7
    expect(bytes[17]).toBe(15 | (15 << 4)); // elements 15 and 31: 7, 7
  });

  it('refuses results of other schemes', async () => {
    const x = new Float32Array(32).fill(1);
    const onnx = await quantize(x, [32], { ...Q8, profile: 'onnx' });
    expect(() => encodeQ8_0(onnx)).toThrow(QuantizationError);
    expect(() => encodeQ4_0(onnx)).toThrow(QuantizationError);
    expect(() => encodeQ4_0(onnx)).toThrow(/Q4_0/);
  });

  it('F16 rounds to nearest even (IEEE binary16 facts)', () => {
    const bytes = encodeF16(new Float32Array([1, -2, 65504, 65520, 2 ** -24, 2 ** -25, 0.1]));
    const view = new DataView(bytes.buffer);
    expect(Array.from({ length: 7 }, (_, i) => view.getUint16(i * 2, true))).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x2e66,
    ]);
  });
});

describe('writing GGUF', () => {
  it('all-keep round trip: same metadata plus file type and quantization version, same tensor bytes', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const { layout, bytes, reread } = await writeToBytes(
      file, file.tensors.map(() => 'keep'), LLAMA_FTYPE.ALL_F32, original(file),
    );
    expect(bytes.length).toBe(layout.totalBytes);
    expect(reread.version).toBe(3);
    expect(reread.alignment).toBe(32);
    expect(reread.metadata.has('general.alignment')).toBe(false);
    const keys = [...reread.metadata.keys()];
    expect(keys).toEqual([...file.metadata.keys(), 'general.file_type', 'general.quantization_version']);
    for (const [k, v] of file.metadata) expect(reread.metadata.get(k)).toEqual(v);
    expect(reread.metadata.get('general.file_type')).toMatchObject({ type: V.UINT32, value: 0 });
    expect(reread.metadata.get('general.quantization_version')).toMatchObject({ type: V.UINT32, value: 2 });

    expect(reread.tensors.map(({ name, shape, ggmlType, byteLength }) => ({ name, shape, ggmlType, byteLength })))
      .toEqual(file.tensors.map(({ name, shape, ggmlType, byteLength }) => ({ name, shape, ggmlType, byteLength })));
    // The input is laid out as llama.cpp lays out files, so the whole data section is identical.
    expect(firstDiff(bytes.subarray(reread.dataOffset), FIXTURE.subarray(file.dataOffset))).toBe(-1);
  });

  it('a mixed plan (Q8_0, Q4_0, F16, F32) re-reads with the right types, sizes, alignment and bytes', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const outputs = file.tensors.map((t, i): GgufOutputType => {
      if (t.shape.length === 1) return i % 2 ? 'F32' : 'keep';
      if ((t.shape[1] as number) % 32 !== 0) return 'F16';
      return i % 2 ? 'Q8_0' : 'Q4_0';
    });
    const produced: Uint8Array[] = [];
    const { bytes, reread } = await writeToBytes(file, outputs, LLAMA_FTYPE.MOSTLY_Q8_0, async (i) => {
      const t = file.tensors[i] as GgufFile['tensors'][number];
      const x = await readGgufTensorF32(file, t);
      const out = {
        keep: () => original(file)(i),
        F32: () => original(file)(i),
        F16: async () => encodeF16(x),
        Q8_0: async () => encodeQ8_0(await quantize(x, t.shape, Q8)),
        Q4_0: async () => encodeQ4_0(await quantize(x, t.shape, Q4)),
      }[outputs[i] as GgufOutputType]();
      produced[i] = await out;
      return produced[i] as Uint8Array;
    });
    const expected = { keep: [0, 4, 1, 1], F32: [0, 4, 1, 1], F16: [1, 2, 1, 1], Q8_0: [8, 34, 32, 1], Q4_0: [2, 18, 32, 1] };
    expect(outputs.filter((o) => o === 'F16')).toHaveLength(5);
    expect(reread.metadata.get('general.file_type')?.value).toBe(7);
    let end = reread.dataOffset;
    for (const [i, t] of reread.tensors.entries()) {
      const [type, bytesPerBlock, block] = expected[outputs[i] as GgufOutputType] as number[];
      expect(t.ggmlType).toBe(type);
      expect(t.shape).toEqual(file.tensors[i]?.shape);
      expect(t.byteLength).toBe((numel(t.shape) / (block as number)) * (bytesPerBlock as number));
      expect(t.offset).toBe(end);
      expect((t.offset - reread.dataOffset) % 32).toBe(0);
      end = t.offset + Math.ceil(t.byteLength / 32) * 32;
      expect(firstDiff(bytes.slice(t.offset, t.offset + t.byteLength), produced[i] as Uint8Array)).toBe(-1);
    }
    expect(end).toBe(bytes.length);

    for (const [i, t] of reread.tensors.entries()) {
      if (outputs[i] !== 'F16') continue;
      const x = await readGgufTensorF32(file, file.tensors[i] as GgufFile['tensors'][number]);
      const y = await readGgufTensorF32(reread, t);
      expect(Array.from(y)).toEqual(Array.from(x, (v) => halfValue(fp16(v))));
    }

    expect(() => planGgufOutput(reread, reread.tensors.map((t) => (t.typeName === 'Q8_0' ? 'F16' : 'keep')), 1))
      .toThrow(/only F32 and F16 tensors can be converted/);
    await expect(readGgufTensorF32(reread, reread.tensors.find((t) => t.typeName === 'Q4_0') as GgufFile['tensors'][number]))
      .rejects.toThrow(/Q4_0; only F32 and F16/);
  });

  it('refuses impossible plans and wrong tensor sizes, naming the tensor', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const down = file.tensors.findIndex((t) => t.name === 'blk.0.ffn_down.weight');
    const outputs = file.tensors.map((_, i): GgufOutputType => (i === down ? 'Q4_0' : 'keep'));
    let err: unknown;
    try {
      planGgufOutput(file, outputs, LLAMA_FTYPE.MOSTLY_Q4_0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).tensor).toBe('blk.0.ffn_down.weight');
    expect((err as FormatError).message).toMatch(/rows of 172 elements are not a multiple of Q4_0's block of 32/);
    expect(() => planGgufOutput(file, ['keep'], 0)).toThrow(/outputs has 1 entries for 48 tensors/);
    expect(() => planGgufOutput(file, file.tensors.map(() => 'keep'), -1)).toThrow(/fileType must be a u32/);

    const layout = planGgufOutput(file, file.tensors.map(() => 'keep'), 0);
    await expect(writeGguf(memorySink(), layout, async () => new Uint8Array(3))).rejects.toThrow(/produce gave 3 bytes/);
  });

  it('replaces file type and quantization version in place and keeps a custom alignment', async () => {
    const spec = smallSpec();
    const data = byteWriter(3);
    for (const v of [1, -2, 0.5, 3.25, 0, 1e-3]) data.f32(v);
    data.pad(64);
    for (const h of [0x3c00, 0xc000, 0x0001, 0x7bff]) data.u16(h);
    const bytes = buildGguf({
      ...spec,
      kvs: [kvU32('general.alignment', 64), kvU32('general.quantization_version', 1), kvStr('x', 'y'), kvU32('general.file_type', 0)],
      tensors: [{ ...(spec.tensors?.[0] as TensorSpec) }, { ...(spec.tensors?.[1] as TensorSpec), offset: 64 }],
      alignment: 64,
      data: data.bytes(),
    });
    const file = await readGguf(bytesSource(bytes, 'aligned.gguf'));
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    const { reread, bytes: out } = await writeToBytes(file, ['F16', 'keep'], LLAMA_FTYPE.MOSTLY_F16, async (i) =>
      i === 0 ? encodeF16(await readGgufTensorF32(file, file.tensors[0] as GgufFile['tensors'][number])) : original(file)(i));
    expect([...reread.metadata.keys()]).toEqual(['general.alignment', 'general.quantization_version', 'x', 'general.file_type']);
    expect(reread.metadata.get('general.quantization_version')?.value).toBe(2);
    expect(reread.metadata.get('general.file_type')?.value).toBe(1);
    expect(reread.alignment).toBe(64);
    expect(reread.dataOffset % 64).toBe(0);
    expect(reread.tensors.map((t) => [t.typeName, t.offset - reread.dataOffset, t.byteLength])).toEqual([['F16', 0, 12], ['F16', 64, 8]]);
    expect(out.length).toBe(reread.dataOffset + 128);
    expect(Array.from(await readGgufTensorF32(reread, reread.tensors[0] as GgufFile['tensors'][number])))
      .toEqual([1, -2, 0.5, 3.25, 0, halfValue(fp16(1e-3))]);
  });

  it('writes values built by hand, and refuses ones that do not fit their type', async () => {
    const file = await readGguf(bytesSource(buildGguf(smallSpec()), 'small.gguf'));
    file.metadata.set('built.u64', { type: V.UINT64, value: 2n ** 64n - 1n });
    file.metadata.set('built.list', { type: V.ARRAY, value: { itemType: V.ARRAY, items: [{ itemType: V.INT16, items: [-1, 2] }] } });
    file.metadata.set('built.f32', { type: V.FLOAT32, value: 0.25 });
    const { reread } = await writeToBytes(file, ['keep', 'keep'], 0, original(file));
    expect(reread.metadata.get('built.u64')?.value).toBe(2n ** 64n - 1n);
    expect(reread.metadata.get('built.list')?.value).toEqual({ itemType: V.ARRAY, items: [{ itemType: V.INT16, items: [-1, 2] }] });
    expect(reread.metadata.get('built.f32')?.value).toBe(0.25);

    file.metadata.set('built.bad', { type: V.UINT8, value: 256 });
    expect(() => planGgufOutput(file, ['keep', 'keep'], 0)).toThrow(/field 'built.bad'.*256 is not a value of GGUF type 0/);
  });
});

describe('GGUF v1 and v2 files laid out by hand', () => {
  /** Every value type, nested arrays included, in the version's own length widths. */
  const everyType = [
    (w: Writer) => void w.str('t.u8').u32(V.UINT8).u8(200),
    (w: Writer) => void w.str('t.i8').u32(V.INT8).i8(-100),
    (w: Writer) => void w.str('t.u16').u32(V.UINT16).u16(60000),
    (w: Writer) => void w.str('t.i16').u32(V.INT16).i16(-30000),
    (w: Writer) => void w.str('t.u32').u32(V.UINT32).u32(4000000000),
    (w: Writer) => void w.str('t.i32').u32(V.INT32).i32(-2000000000),
    (w: Writer) => void w.str('t.f32').u32(V.FLOAT32).f32(0.1),
    (w: Writer) => void w.str('t.bool').u32(V.BOOL).u8(1),
    (w: Writer) => void w.str('t.false').u32(V.BOOL).u8(0),
    (w: Writer) => void w.str('t.string').u32(V.STRING).str('héllo ✓'),
    (w: Writer) => void w.str('t.u64').u32(V.UINT64).u64(2n ** 64n - 1n),
    (w: Writer) => void w.str('t.i64').u32(V.INT64).i64(-(2n ** 63n)),
    (w: Writer) => void w.str('t.f64').u32(V.FLOAT64).f64(Math.PI),
    (w: Writer) => void w.str('t.bytes').u32(V.ARRAY).u32(V.UINT8).len(3).u8(1).u8(2).u8(3),
    (w: Writer) => void w.str('t.floats').u32(V.ARRAY).u32(V.FLOAT32).len(2).f32(1.5).f32(-0.25),
    (w: Writer) => void w.str('t.strings').u32(V.ARRAY).u32(V.STRING).len(3).str('a').str('').str('ccc'),
    (w: Writer) => void w.str('t.empty').u32(V.ARRAY).u32(V.INT32).len(0),
    (w: Writer) => void w.str('t.nested').u32(V.ARRAY).u32(V.ARRAY).len(2)
      .u32(V.INT32).len(2).i32(1).i32(-2)
      .u32(V.STRING).len(1).str('deep'),
    (w: Writer) => void w.str('t.i64s').u32(V.ARRAY).u32(V.INT64).len(2).i64(-1n).i64(2n ** 40n),
  ];
  const expected: [string, number, unknown][] = [
    ['t.u8', V.UINT8, 200], ['t.i8', V.INT8, -100], ['t.u16', V.UINT16, 60000], ['t.i16', V.INT16, -30000],
    ['t.u32', V.UINT32, 4000000000], ['t.i32', V.INT32, -2000000000], ['t.f32', V.FLOAT32, Math.fround(0.1)],
    ['t.bool', V.BOOL, true], ['t.false', V.BOOL, false], ['t.string', V.STRING, 'héllo ✓'],
    ['t.u64', V.UINT64, 18446744073709551615n], ['t.i64', V.INT64, -9223372036854775808n], ['t.f64', V.FLOAT64, Math.PI],
    ['t.bytes', V.ARRAY, { itemType: V.UINT8, items: [1, 2, 3] }],
    ['t.floats', V.ARRAY, { itemType: V.FLOAT32, items: [1.5, -0.25] }],
    ['t.strings', V.ARRAY, { itemType: V.STRING, items: ['a', '', 'ccc'] }],
    ['t.empty', V.ARRAY, { itemType: V.INT32, items: [] }],
    ['t.nested', V.ARRAY, { itemType: V.ARRAY, items: [{ itemType: V.INT32, items: [1, -2] }, { itemType: V.STRING, items: ['deep'] }] }],
    ['t.i64s', V.ARRAY, { itemType: V.INT64, items: [-1n, 2n ** 40n] }],
  ];

  it.each([1, 2])('version %i: every value type, tensor infos and data', async (version) => {
    const spec = smallSpec();
    const bytes = buildGguf({ ...spec, version, kvs: everyType });
    const file = await readGguf(bytesSource(bytes, `v${version}.gguf`));
    expect(file.version).toBe(version);
    expect([...file.metadata].map(([k, v]) => [k, v.type, v.value])).toEqual(expected);
    expect(file.tensors.map((t) => [t.name, t.shape, t.typeName, t.byteLength])).toEqual([
      ['a.weight', [2, 3], 'F32', 24], ['b.weight', [4], 'F16', 8],
    ]);
    const [a, b] = file.tensors as [GgufFile['tensors'][number], GgufFile['tensors'][number]];
    expect(Array.from(await readGgufTensorF32(file, a))).toEqual([1, -2, 0.5, 3.25, 0, Math.fround(1e-3)]);
    expect(Array.from(await readGgufTensorF32(file, b))).toEqual([1, -2, 2 ** -24, 65504]); // binary16 facts

    // Rewritten as v3 (64-bit lengths), the values read back unchanged.
    const { reread } = await writeToBytes(file, ['keep', 'keep'], 0, original(file));
    expect(reread.version).toBe(3);
    expect([...reread.metadata].slice(0, expected.length).map(([k, v]) => [k, v.type, v.value])).toEqual(expected);
  });

  it('a v1 string is a u32 length then bytes; the v3 rewrite widens it to u64', async () => {
    const file = await readGguf(bytesSource(buildGguf({ version: 1, kvs: [kvStr('k', 'ab')] }), 'v1.gguf'));
    expect(Array.from(file.metadata.get('k')?.raw ?? [])).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0x61, 0x62]);
  });

  it('keeps float bit patterns exactly', async () => {
    const bytes = buildGguf({ kvs: [(w) => void w.str('nan').u32(V.FLOAT32).u32(0x7fa00001)] });
    const file = await readGguf(bytesSource(bytes, 'nan.gguf'));
    const { bytes: out } = await writeToBytes(file, [], 0, original(file));
    const raw = file.metadata.get('nan')?.raw ?? new Uint8Array();
    expect(Array.from(raw)).toEqual([0x01, 0x00, 0xa0, 0x7f]);
    const at = out.findIndex((_, i) => out[i] === 0x01 && out[i + 1] === 0 && out[i + 2] === 0xa0 && out[i + 3] === 0x7f);
    expect(at).toBeGreaterThan(0);
  });

  it('streams a large header through several growing reads', async () => {
    const words = Array.from({ length: 60000 }, (_, i) => `token-${i}`);
    const bytes = buildGguf({
      kvs: [(w) => {
        w.str('tokenizer.ggml.tokens').u32(V.ARRAY).u32(V.STRING).len(words.length);
        for (const s of words) w.str(s);
      }],
    });
    const source = countingSource(bytes, 'big.gguf');
    const file = await readGguf(source);
    expect((file.metadata.get('tokenizer.ggml.tokens')?.value as { items: string[] }).items.at(-1)).toBe('token-59999');
    expect(source.reads.length).toBeGreaterThan(3);
    expect(Math.max(...source.reads.map(([, n]) => n))).toBeLessThan(bytes.length);
    await expectFormatError(bytes, { field: 'tokenizer.ggml.tokens' }, /maxHeaderBytes/, { maxHeaderBytes: 100_000 });
  });
});

describe('malformed GGUF files give a FormatError naming the file and the field or tensor', () => {
  const valid = () => buildGguf(smallSpec());

  it('accepts the valid base file', async () => {
    await expect(readGguf(bytesSource(valid(), 'ok.gguf'))).resolves.toMatchObject({ version: 3 });
  });

  it('truncated header, at every byte before the data', async () => {
    const bytes = valid();
    const file = await readGguf(bytesSource(bytes, 'ok.gguf'));
    for (let cut = 0; cut < file.dataOffset; cut += 7) {
      const e = await readError(bytes.slice(0, cut));
      expect(e.file).toBe('bad.gguf');
      expect(e.field ?? e.tensor).toBeDefined();
    }
    // Layout: 24 bytes of magic, version and counts; two pairs to byte 102; tensor infos at 102 and 150.
    await expectFormatError(bytes.slice(0, 2), { field: 'magic' }, /truncated/);
    await expectFormatError(bytes.slice(0, 30), { field: 'tensor_count' }, /tensor count 2 is absurd or the file truncated/);
    await expectFormatError(bytes.slice(0, 90), { field: 'metadata #1 key' }, /string length 17 is absurd or the file truncated/);
    await expectFormatError(bytes.slice(0, 120), { tensor: 'a.weight', field: 'n_dims' }, /truncated/);
    await expectFormatError(bytes.slice(0, 150), { field: 'tensor #1 name' }, /truncated/);
  });

  it('bad magic', async () => {
    await expectFormatError(buildGguf({ ...smallSpec(), magic: 'GGUX' }), { field: 'magic' }, /bad magic 47 47 55 58/);
  });

  it.each([
    [0, /unsupported GGUF version 0/],
    [4, /unsupported GGUF version 4/],
    [0x03000000, /big-endian/],
  ])('bad version %i', async (version, message) => {
    await expectFormatError(buildGguf({ ...smallSpec(), version }), { field: 'version' }, message);
  });

  it('unknown value types, at the top and inside an array', async () => {
    await expectFormatError(buildGguf({ kvs: [(w) => void w.str('odd').u32(13).u32(0)] }), { field: 'odd' }, /unknown GGUF value type 13/);
    await expectFormatError(
      buildGguf({ kvs: [(w) => void w.str('odd.list').u32(V.ARRAY).u32(99).u64(1n).u32(0)] }),
      { field: 'odd.list' }, /array of unknown GGUF value type 99/,
    );
  });

  it('a string length past the end of the file', async () => {
    const bytes = buildGguf({ kvs: [(w) => void w.str('name').u32(V.STRING).u64(1_000_000n).raw([0x61])] });
    await expectFormatError(bytes, { field: 'name' }, /string length 1000000 is absurd or the file truncated.*before the end of the file/);
    const key = buildGguf({ kvs: [(w) => void w.u64(2n ** 60n).raw([0x61])] });
    await expectFormatError(key, { field: 'metadata #0 key' }, /string length 1152921504606846976 is absurd/);
  });

  it('absurd tensor, metadata and array counts', async () => {
    await expectFormatError(buildGguf({ ...smallSpec(), tensorCount: 2n ** 40n }), { field: 'tensor_count' }, /tensor count 1099511627776 is absurd/);
    await expectFormatError(buildGguf({ ...smallSpec(), kvCount: 2n ** 62n }), { field: 'kv_count' }, /metadata count .* is absurd/);
    await expectFormatError(
      buildGguf({ kvs: [(w) => void w.str('big').u32(V.ARRAY).u32(V.UINT64).u64(2n ** 50n)] }),
      { field: 'big' }, /array length 1125899906842624 is absurd/,
    );
  });

  it('n_dims > 4', async () => {
    const spec = smallSpec();
    const tensors = [{ ...(spec.tensors?.[0] as TensorSpec), ne: [3, 2, 1, 1, 1] }];
    await expectFormatError(buildGguf({ ...spec, tensors }), { tensor: 'a.weight', field: 'n_dims' }, /5 dimensions; ggml allows at most 4/);
  });

  it.each([4, 31, 99])('unknown ggml type %i', async (type) => {
    const spec = smallSpec();
    const tensors = [{ ...(spec.tensors?.[0] as TensorSpec), type }];
    await expectFormatError(buildGguf({ ...spec, tensors }), { tensor: 'a.weight', field: 'type' }, new RegExp(`unknown ggml type ${type}`));
  });

  it('a dimension of 0, past 2^53, or a row that is not a whole number of blocks', async () => {
    const spec = smallSpec();
    const a = spec.tensors?.[0] as TensorSpec;
    await expectFormatError(buildGguf({ ...spec, tensors: [{ ...a, ne: [3, 0] }] }), { tensor: 'a.weight', field: 'ne' }, /ne\[1\] is 0/);
    await expectFormatError(buildGguf({ ...spec, tensors: [{ ...a, ne: [2n ** 63n, 1] }] }), { tensor: 'a.weight', field: 'ne' }, /out of range/);
    const q8 = { ...a, ne: [48, 1], type: GGML_TYPE.Q8_0 };
    await expectFormatError(buildGguf({ ...spec, tensors: [q8] }), { tensor: 'a.weight', field: 'ne' }, /rows of 48 elements are not a multiple of Q8_0's block of 32/);
  });

  it('an offset that is not aligned', async () => {
    const spec = smallSpec();
    const tensors = [spec.tensors?.[0] as TensorSpec, { ...(spec.tensors?.[1] as TensorSpec), offset: 40 }];
    await expectFormatError(buildGguf({ ...spec, tensors }), { tensor: 'b.weight', field: 'offset' }, /offset 40 is not a multiple of the alignment 32/);
  });

  it('tensor data past the end of the file', async () => {
    const bytes = valid();
    await expectFormatError(bytes.slice(0, bytes.length - 1), { tensor: 'b.weight', field: 'offset' }, /runs past the end of the file.*truncated/);
  });

  it('overlapping tensors', async () => {
    const spec = smallSpec();
    const tensors = [spec.tensors?.[0] as TensorSpec, { ...(spec.tensors?.[1] as TensorSpec), offset: 0 }];
    const e = await readError(buildGguf({ ...spec, tensors }));
    expect(e.field).toBe('offset');
    expect(e.message).toMatch(/overlaps tensor '(a|b)\.weight'/);
    expect(['a.weight', 'b.weight']).toContain(e.tensor);
  });

  it('alignment that is not a power of two or not a u32', async () => {
    await expectFormatError(buildGguf({ kvs: [kvU32('general.alignment', 48)] }), { field: 'general.alignment' }, /48 is not a power of two/);
    await expectFormatError(buildGguf({ kvs: [kvU32('general.alignment', 0)] }), { field: 'general.alignment' }, /0 is not a power of two/);
    const u64 = (w: Writer) => void w.str('general.alignment').u32(V.UINT64).u64(32n);
    await expectFormatError(buildGguf({ kvs: [u64] }), { field: 'general.alignment' }, /must be a u32/);
  });

  it('duplicate keys, empty keys and duplicate tensor names', async () => {
    await expectFormatError(buildGguf({ kvs: [kvU32('k', 1), kvU32('k', 2)] }), { field: 'k' }, /duplicate key/);
    await expectFormatError(buildGguf({ kvs: [kvU32('', 1)] }), { field: 'metadata #0 key' }, /empty key/);
    const spec = smallSpec();
    const tensors = [spec.tensors?.[0] as TensorSpec, { ...(spec.tensors?.[1] as TensorSpec), name: 'a.weight' }];
    await expectFormatError(buildGguf({ ...spec, tensors }), { tensor: 'a.weight' }, /duplicate tensor name/);
  });

  it('arrays nested too deep', async () => {
    const bytes = buildGguf({
      kvs: [(w) => {
        w.str('deep').u32(V.ARRAY);
        for (let i = 0; i < 100; i++) w.u32(V.ARRAY).u64(1n);
        w.u32(V.UINT8).u64(0n);
      }],
    });
    await expectFormatError(bytes, { field: 'deep' }, /nested more than 64 deep/);
  });
});

describe('a tensor at a time in pieces', () => {
  /** Cuts `bytes` into pieces of the given sizes in turn (the last takes what is left). */
  function* cut(bytes: Uint8Array, sizes: number[]): Generator<Uint8Array> {
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = sizes[i % sizes.length] as number;
      yield bytes.slice(at, at + n);
      at += n;
    }
  }

  it('Q8_0 and Q4_0 chunks of whole blocks, concatenated, equal llama.cpp\'s reference quantizers', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const t = file.tensors.find((e) => e.name === 'blk.0.attn_q.weight') as GgufFile['tensors'][number];
    const x = await readGgufTensorF32(file, t);
    for (const [scheme, encode, reference] of [[Q8, encodeQ8_0Chunk, q8Reference], [Q4, encodeQ4_0Chunk, q4Reference]] as const) {
      const q = await quantize(x, t.shape, scheme);
      // Chunks of one block, of three, and of a row and a half, cutting rows and blocks apart.
      for (const size of [32, 96, 96 + 32 * 3]) {
        const pieces: Uint8Array[] = [];
        for (let start = 0; start < x.length; start += size) {
          pieces.push(encode(q.codes.subarray(start, Math.min(x.length, start + size)), start, q.scales));
        }
        const whole = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
        pieces.reduce((at, p) => (whole.set(p, at), at + p.length), 0);
        expect({ scheme: scheme.dtype, size, diff: firstDiff(whole, reference(x)) }).toEqual({ scheme: scheme.dtype, size, diff: -1 });
      }
    }
  });

  it('chunk encoders refuse chunks that are not whole blocks, and too few scales', () => {
    const codes = new Int8Array(64);
    const scales = new Float32Array(2);
    expect(() => encodeQ8_0Chunk(codes.subarray(0, 40), 0, scales)).toThrow(/whole blocks of 32/);
    expect(() => encodeQ4_0Chunk(codes.subarray(0, 32), 16, scales)).toThrow(/whole blocks of 32/);
    expect(() => encodeQ8_0Chunk(codes, 32, scales)).toThrow(/blocks 1..3 but 2 scales/);
    // A Q4_0 code out of range is named by its flat index in the whole tensor, not the chunk.
    const bad = new Int8Array(32);
    bad[5] = 9;
    let err: unknown;
    try {
      encodeQ4_0Chunk(bad, 64, new Float32Array(3));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QuantizationError);
    expect([(err as QuantizationError).index, (err as Error).message]).toEqual([69, expect.stringMatching(/block 2 holds/)]);
  });

  it('writeGguf takes tensors in pieces (generators, async generators, arrays) and writes the same file', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const outputs = file.tensors.map((): GgufOutputType => 'keep');
    const whole = await writeToBytes(file, outputs, LLAMA_FTYPE.ALL_F32, original(file));
    const layout = planGgufOutput(file, outputs, LLAMA_FTYPE.ALL_F32);
    const sink = memorySink();
    await writeGguf(sink, layout, async (i) => {
      const bytes = await original(file)(i);
      if (i % 3 === 0) return cut(bytes, [7, 100, 1]);
      if (i % 3 === 1) return [...cut(bytes, [64])];
      return (async function* () {
        yield* cut(bytes, [33]);
      })();
    });
    expect(firstDiff(sink.bytes(), whole.bytes)).toBe(-1);
  });

  it('pieces that fall short of or run past the layout are a FormatError naming the tensor, and nothing past it is written', async () => {
    const file = await readGguf(bytesSource(FIXTURE, 'stories260K.gguf'));
    const layout = planGgufOutput(file, file.tensors.map(() => 'keep'), 0);
    const first = layout.entries[0] as GgufLayout['entries'][number];
    const short = await formatErrorOf(writeGguf(memorySink(), layout, () => [new Uint8Array(3), new Uint8Array(4)]));
    expect([short.tensor, short.field, short.message]).toEqual([first.name, 'byteLength', expect.stringMatching(/produce gave 7 bytes but the layout has/)]);

    const sink = memorySink();
    let closed = false;
    const long = await formatErrorOf(writeGguf(sink, layout, async function* () {
      try {
        yield new Uint8Array(first.byteLength - 1);
        yield new Uint8Array(2);
        yield new Uint8Array(5);
      } finally {
        closed = true;
      }
    }));
    expect([long.tensor, long.message]).toEqual([first.name, expect.stringMatching(new RegExp(`produce gave at least ${first.byteLength + 1} bytes`))]);
    expect(closed).toBe(true);
    expect(sink.bytes().length).toBe(layout.header.length + first.byteLength - 1);
  });

  it('readGgufTensorF32Range reads only the range: F32 as stored, F16 widened exactly', async () => {
    const source = countingSource(FIXTURE, 'stories260K.gguf');
    const file = await readGguf(source);
    const t = file.tensors.find((e) => e.name === 'blk.0.ffn_down.weight') as GgufFile['tensors'][number];
    source.reads.length = 0;
    const x = await readGgufTensorF32Range(file, t, 172 * 3 + 5, 400);
    expect(source.reads).toEqual([[t.offset + (172 * 3 + 5) * 4, 1600]]);
    expect(new Uint8Array(x.buffer)).toEqual(FIXTURE.slice(t.offset + (172 * 3 + 5) * 4, t.offset + (172 * 3 + 5 + 400) * 4));

    // The same tensor written as F16: each range is the float16 rounding of the F32 values, widened back.
    const f16 = file.tensors.map((e): GgufOutputType => (e === t ? 'F16' : 'keep'));
    const { reread } = await writeToBytes(file, f16, LLAMA_FTYPE.MOSTLY_F16, async (i) =>
      (i === file.tensors.indexOf(t) ? encodeF16(await readGgufTensorF32(file, t)) : original(file)(i)));
    const h = reread.tensors.find((e) => e.name === t.name) as GgufFile['tensors'][number];
    const all = await readGgufTensorF32(file, t);
    for (const [start, length] of [[0, 1], [171, 2], [1000, 3000], [all.length - 7, 7]] as const) {
      const got = await readGgufTensorF32Range(reread, h, start, length);
      expect(Array.from(got)).toEqual(Array.from(all.subarray(start, start + length), (v) => halfValue(fp16(v))));
    }
    const err = await formatErrorOf(readGgufTensorF32Range(file, t, all.length - 1, 2));
    expect([err.tensor, err.message]).toEqual([t.name, expect.stringMatching(/elements 11007..11009 asked for, but the tensor has 11008/)]);
  });
});

async function formatErrorOf(promise: Promise<unknown>): Promise<FormatError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FormatError);
  return err as FormatError;
}
