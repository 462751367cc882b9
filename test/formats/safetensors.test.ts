import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { type ByteSource, bytesSource, memorySink } from '../../src/formats/io.js';
import {
  type OutputTensor, readSafetensors, readSafetensorsF32, readSafetensorsF32Range, SAFETENSORS_DTYPES, safetensorsHeader,
  writeSafetensors,
} from '../../src/formats/safetensors.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../models/${name}`, import.meta.url)));

/** A safetensors file assembled by hand: u64 LE length, the header text as given, then `data`. */
function fileOf(header: string | object, data: Uint8Array | number = 0, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(body, 8 + json.byteLength);
  return out;
}

/** The header parsed directly from the bytes, independently of the reader. */
function rawHeader(bytes: Uint8Array): { n: number; entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, entries: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) };
}

/** A source that records every range read from it. */
function recording(bytes: Uint8Array, name: string): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes, name);
  const reads: [number, number][] = [];
  return { name, size: inner.size, reads, read: (offset, length) => (reads.push([offset, length]), inner.read(offset, length)) };
}

async function formatError(promise: Promise<unknown>): Promise<FormatError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FormatError);
  return err as FormatError;
}

describe('SAFETENSORS_DTYPES', () => {
  it('lists every dtype of the safetensors spec with its size (huggingface/safetensors Dtype::bitsize / 8)', () => {
    expect(SAFETENSORS_DTYPES).toEqual({
      BOOL: 1, F4: 0.5, F6_E2M3: 0.75, F6_E3M2: 0.75, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
      F8_E4M3FNUZ: 1, F8_E5M2FNUZ: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, C64: 8,
      F64: 8, I64: 8, U64: 8,
    });
  });
});

describe('real files', () => {
  it('silero_vad_16k.safetensors: 15 F32 tensors, data equal to the bytes at their offsets', async () => {
    const bytes = fixture('silero_vad_16k.safetensors');
    const source = recording(bytes, 'silero_vad_16k.safetensors');
    const file = await readSafetensors(source);
    expect(file.format).toBe('safetensors');
    expect(file.metadata).toBeUndefined();
    expect(file.headerLength).toBe(1208);
    expect(file.tensors).toHaveLength(15);
    expect(file.tensors.every((t) => t.dtype === 'F32' && t.quantizable)).toBe(true);
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect(byName.get('lstm_cell.weight_ih')?.shape).toEqual([512, 128]);
    expect(byName.get('conv4.weight')?.shape).toEqual([128, 64, 3]);
    expect(byName.get('stft_conv.weight')?.shape).toEqual([258, 1, 256]);
    expect(byName.get('final_conv.bias')?.shape).toEqual([1]);
    // The header was read by small ranges, never the whole file.
    expect(source.reads.every(([, len]) => len <= 1208)).toBe(true);

    const { n, entries } = rawHeader(bytes);
    for (const t of file.tensors) {
      const [begin, end] = entries[t.name]?.data_offsets ?? [NaN, NaN];
      expect(t.offset).toBe(8 + n + begin);
      expect(t.byteLength).toBe(end - begin);
      const expected = new Float32Array(bytes.slice(8 + n + begin, 8 + n + end).buffer);
      expect(await readSafetensorsF32(file, t)).toEqual(expected);
    }
  });

  it('mnist.safetensors: 18 F32 tensors and two 0-d I64, in data order', async () => {
    const bytes = fixture('mnist.safetensors');
    const file = await readSafetensors(bytesSource(bytes, 'mnist.safetensors'));
    expect(file.tensors).toHaveLength(20);
    const i64 = file.tensors.filter((t) => t.dtype === 'I64');
    expect(i64.map((t) => [t.name, t.shape, t.byteLength, t.quantizable])).toEqual([
      ['norm1.num_batches_tracked', [], 8, false],
      ['norm2.num_batches_tracked', [], 8, false],
    ]);
    expect(file.tensors.filter((t) => t.dtype === 'F32')).toHaveLength(18);
    expect(file.tensors.find((t) => t.name === 'fc1.weight')?.shape).toEqual([32, 11616]);
    // Data order: each tensor starts where the previous one ended, the last at the end of the file.
    file.tensors.forEach((t, i) => {
      const prev = file.tensors[i - 1];
      expect(t.offset).toBe(prev ? prev.offset + prev.byteLength : 8 + file.headerLength);
    });
    const last = file.tensors.at(-1);
    expect(last && last.offset + last.byteLength).toBe(bytes.byteLength);

    const fc1 = file.tensors.find((t) => t.name === 'fc1.weight');
    if (!fc1) throw new Error('fc1.weight missing');
    const direct = new Float32Array(bytes.slice(fc1.offset, fc1.offset + fc1.byteLength).buffer);
    expect(await readSafetensorsF32(file, fc1)).toEqual(direct);
    const err = await formatError(readSafetensorsF32(file, i64[0] as (typeof i64)[number]));
    expect([err.file, err.tensor, err.field]).toEqual(['mnist.safetensors', 'norm1.num_batches_tracked', 'dtype']);
  });
});

describe('F16 and BF16 widen to F32 exactly', () => {
  const patterns = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const bytes = new Uint8Array(patterns.buffer);

  it('all 65 536 float16 patterns', async () => {
    const file = await readSafetensors(bytesSource(fileOf({ h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, bytes), 'h.safetensors'));
    const got = await readSafetensorsF32(file, file.tensors[0] as (typeof file.tensors)[number]);
    const gotBits = new Uint32Array(got.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = h >= 0x8000 ? -1 : 1;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      if (e === 31 && m !== 0) {
        // NaN: sign and payload move up 13 bits, as numpy's npy_halfbits_to_floatbits does.
        expect(gotBits[h]).toBe(((h & 0x8000) << 16 | 0x7f800000 | (m << 13)) >>> 0);
        continue;
      }
      // IEEE 754 binary16: subnormals are m/1024 · 2^−14, normals (1 + m/1024) · 2^(e−15).
      const value = e === 31 ? sign * Infinity : e === 0 ? sign * (m / 1024) * 2 ** -14 : sign * (1 + m / 1024) * 2 ** (e - 15);
      expect(Object.is(got[h], value), `half 0x${h.toString(16)}`).toBe(true);
    }
  });

  it('all 65 536 bfloat16 patterns', async () => {
    const file = await readSafetensors(bytesSource(fileOf({ b: { dtype: 'BF16', shape: [256, 256], data_offsets: [0, 131072] } }, bytes), 'b.safetensors'));
    const got = await readSafetensorsF32(file, file.tensors[0] as (typeof file.tensors)[number]);
    const gotBits = new Uint32Array(got.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = h >= 0x8000 ? -1 : 1;
      const e = (h >> 7) & 255;
      const m = h & 127;
      if (e === 255 && m !== 0) {
        expect(gotBits[h]).toBe((h << 16) >>> 0);
        continue;
      }
      // bfloat16: 8 exponent bits (bias 127) and 7 fraction bits.
      const value = e === 255 ? sign * Infinity : e === 0 ? sign * (m / 128) * 2 ** -126 : sign * (1 + m / 128) * 2 ** (e - 127);
      expect(Object.is(got[h], value), `bfloat16 0x${h.toString(16)}`).toBe(true);
    }
  });

  it('F32 keeps every bit, NaN payloads included', async () => {
    const words = new Uint32Array([0x7fc00001, 0xffa00000, 0x80000000, 0x00000001, 0x7f7fffff]);
    const file = await readSafetensors(bytesSource(fileOf({ f: { dtype: 'F32', shape: [5], data_offsets: [0, 20] } }, new Uint8Array(words.buffer))));
    const got = await readSafetensorsF32(file, file.tensors[0] as (typeof file.tensors)[number]);
    expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(words));
  });
});

describe('writing', () => {
  // Expected bytes from huggingface/safetensors' own tests (safetensors/src/tensor.rs:
  // test_serialization, test_empty, test_serialization_forced_alignement).
  it('matches the reference serialisation byte for byte', () => {
    const t = (name: string, shape: number[]): OutputTensor => ({ name, dtype: 'F32', shape, byteLength: 24 });
    const text = (s: string) => Array.from(new TextEncoder().encode(s));
    const u64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0];
    expect(Array.from(safetensorsHeader([t('attn.0', [1, 2, 3])]))).toEqual([
      ...u64(64), ...text('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
    ]);
    expect(Array.from(safetensorsHeader([t('attn0', [1, 1, 2, 3])]))).toEqual([
      ...u64(72), ...text('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       '),
    ]);
    expect(Array.from(safetensorsHeader([]))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(safetensorsHeader([], { framework: 'pt' }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, ...text('{"__metadata__":{"framework":"pt"}}     '),
    ]);
  });

  it('round-trips tensors of many dtypes, odd shapes and metadata through memorySink', async () => {
    const specs: [string, string, number[]][] = [
      ['0', 'I64', []], // an integer-like name, which a JS object would reorder
      ['layer.weight', 'F32', [3, 5]],
      ['名前', 'F16', [7]],
      ['empty', 'BF16', [0, 4]],
      ['flags', 'BOOL', [3]],
      ['codes', 'I8', [2, 3]],
      ['fp4', 'F4', [2, 3]],
      ['c', 'C64', [1]],
    ];
    const tensors: OutputTensor[] = specs.map(([name, dtype, shape]) => ({
      name, dtype, shape, byteLength: shape.reduce((n, d) => n * d, 1) * (SAFETENSORS_DTYPES[dtype] as number),
    }));
    const data = tensors.map((t, i) => Uint8Array.from({ length: t.byteLength }, (_, k) => (i * 31 + k * 7) & 255));
    const metadata = { format: 'pt', quantization_config: '{"a": [1, 2]}', 'ключ': 'значение' };
    const sink = memorySink();
    const asked: number[] = [];
    await writeSafetensors(sink, tensors, metadata, async (i) => (asked.push(i), data[i] as Uint8Array));
    expect(asked).toEqual(tensors.map((_, i) => i));
    const bytes = sink.bytes();

    const header = rawHeader(bytes);
    expect(header.n % 8).toBe(0);
    expect(Object.keys(header.entries).sort()).toEqual(['__metadata__', ...specs.map(([n]) => n)].sort());

    const file = await readSafetensors(bytesSource(bytes, 'roundtrip.safetensors'));
    expect(file.metadata).toEqual(metadata);
    expect(file.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength])).toEqual(
      tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]),
    );
    for (const [i, t] of file.tensors.entries()) {
      expect(await file.source.read(t.offset, t.byteLength)).toEqual(data[i]);
    }
  });

  it('refuses a produced buffer of the wrong length, naming the tensor', async () => {
    const sink = Object.assign(memorySink(), { name: 'out.safetensors' });
    const err = await formatError(
      writeSafetensors(sink, [{ name: 'w', dtype: 'F32', shape: [2], byteLength: 8 }], undefined, async () => new Uint8Array(4)),
    );
    expect([err.file, err.tensor, err.field]).toEqual(['out.safetensors', 'w', 'byteLength']);
  });

  it.each([
    ['a byteLength that disagrees with shape × dtype', [{ name: 'w', dtype: 'F32', shape: [2], byteLength: 4 }], 'w', 'byteLength'],
    ['an unknown dtype', [{ name: 'w', dtype: 'F12', shape: [2], byteLength: 4 }], 'w', 'dtype'],
    ['a negative dimension', [{ name: 'w', dtype: 'U8', shape: [-1], byteLength: 0 }], 'w', 'shape'],
    ['a duplicate name', [{ name: 'w', dtype: 'U8', shape: [1], byteLength: 1 }, { name: 'w', dtype: 'U8', shape: [1], byteLength: 1 }], 'w', undefined],
    ['the reserved name', [{ name: '__metadata__', dtype: 'U8', shape: [1], byteLength: 1 }], '__metadata__', undefined],
    ['half a byte of F4', [{ name: 'w', dtype: 'F4', shape: [3], byteLength: 1 }], 'w', 'byteLength'],
  ])('safetensorsHeader refuses %s', (_, tensors, tensor, field) => {
    let err: unknown;
    try {
      safetensorsHeader(tensors);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect([(err as FormatError).tensor, (err as FormatError).field]).toEqual([tensor, field]);
  });
});

describe('malformed files: each a FormatError naming the file and the tensor or field', () => {
  const w = (begin: number, end: number, dtype = 'F32', shape = [(end - begin) / 4]) => ({ dtype, shape, data_offsets: [begin, end] });
  const valid = fileOf({ a: w(0, 8), b: w(8, 16) }, 16);
  const huge = fileOf('{}', 0, 2n ** 63n);

  const cases: [string, Uint8Array, string | undefined, string | undefined, RegExp][] = [
    ['shorter than the 8-byte length', new Uint8Array(5), undefined, 'header length', /8-byte header length/],
    ['a header cut short', valid.slice(0, 20), undefined, 'header length', /runs past the end of the file/],
    ['a header length past EOF', fileOf('{}', 0, 4096n), undefined, 'header length', /runs past the end/],
    ['a huge header length', huge, undefined, 'header length', /exceeds the limit/],
    ['a header that is not UTF-8', fileOf('{"a":1}').map((b, i) => (i === 10 ? 0xff : b)), undefined, 'header', /UTF-8/],
    ['a header that is not JSON', fileOf('{"a": '), undefined, 'header', /not valid JSON/],
    ['JSON that is not an object', fileOf('[1, 2]'), undefined, 'header', /JSON object/],
    ['JSON null', fileOf('null'), undefined, 'header', /JSON object/],
    ['an entry that is not an object', fileOf({ a: 5 }), 'a', undefined, /must be an object/],
    ['an unknown dtype', fileOf({ a: w(0, 8, 'F12', [2]) }, 8), 'a', 'dtype', /unknown dtype "F12"/],
    ['a missing dtype', fileOf({ a: { shape: [2], data_offsets: [0, 8] } }, 8), 'a', 'dtype', /unknown dtype/],
    ['a negative dimension', fileOf({ a: w(0, 8, 'F32', [-2]) }, 8), 'a', 'shape', /non-negative integers/],
    ['a fractional dimension', fileOf({ a: w(0, 8, 'F32', [1.5]) }, 8), 'a', 'shape', /non-negative integers/],
    ['malformed data_offsets', fileOf({ a: { dtype: 'U8', shape: [1], data_offsets: [0] } }, 1), 'a', 'data_offsets', /\[begin, end\]/],
    ['data_offsets that end before they begin', fileOf({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4), 'a', 'data_offsets', /end before/],
    ['shape and offsets that disagree', fileOf({ a: w(0, 12, 'F32', [2, 2]) }, 12), 'a', 'data_offsets', /needs 16 bytes .* hold 12/],
    ['sub-byte elements that do not fill a byte', fileOf({ a: w(0, 1, 'F4', [3]) }, 1), 'a', 'shape', /not a whole number of bytes/],
    ['overlapping offsets', fileOf({ a: w(0, 16), b: w(8, 24) }, 24), 'b', 'data_offsets', /overlap tensor 'a'/],
    ['a gap between tensors', fileOf({ a: w(0, 8), b: w(16, 24) }, 24), 'b', 'data_offsets', /gap: bytes 8..16/],
    ['a gap before the first tensor', fileOf({ a: w(8, 16) }, 16), 'a', 'data_offsets', /gap: bytes 0..8/],
    ['offsets past the end', fileOf({ a: w(0, 8), b: w(8, 1016) }, 16), 'b', 'data_offsets', /past the end of the data section \(16 bytes\)/],
    ['truncated tensor data', valid.slice(0, valid.byteLength - 4), 'b', 'data_offsets', /truncated/],
    ['trailing bytes', fileOf({ a: w(0, 8) }, 12), undefined, 'data_offsets', /trailing bytes/],
    ['__metadata__ with a number value', fileOf({ __metadata__: { a: 1 } }), undefined, '__metadata__', /'a' must be a string/],
    ['__metadata__ that is an array', fileOf({ __metadata__: ['x'] }), undefined, '__metadata__', /object of string values/],
  ];

  it.each(cases)('%s', async (_, bytes, tensor, field, message) => {
    const err = await formatError(readSafetensors(bytesSource(bytes, 'bad.safetensors')));
    expect(err.file).toBe('bad.safetensors');
    expect(err.tensor).toBe(tensor);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(/^bad\.safetensors: /);
    expect(err.message).toMatch(message);
  });

  it('honours maxHeaderBytes', async () => {
    const bytes = fixture('mnist.safetensors');
    const err = await formatError(readSafetensors(bytesSource(bytes, 'mnist.safetensors'), { maxHeaderBytes: 1000 }));
    expect(err.field).toBe('header length');
    expect(err.message).toMatch(/header length 1520 exceeds the limit of 1000 bytes/);
    await expect(readSafetensors(bytesSource(bytes, 'mnist.safetensors'), { maxHeaderBytes: 1520 })).resolves.toBeDefined();
  });

  it('accepts a valid file, and zero-size tensors sharing an offset', async () => {
    await expect(readSafetensors(bytesSource(valid))).resolves.toBeDefined();
    const file = await readSafetensors(bytesSource(fileOf({ z1: w(0, 0, 'F32', [0, 3]), a: w(0, 4), z2: w(4, 4, 'I8', [0]) }, 4)));
    expect(file.tensors.map((t) => t.name)).toEqual(['z1', 'a', 'z2']);
  });
});

describe('a tensor at a time in pieces', () => {
  const tensors: OutputTensor[] = [
    { name: 'a', dtype: 'F32', shape: [3, 5], byteLength: 60 },
    { name: 'empty', dtype: 'I8', shape: [0], byteLength: 0 },
    { name: 'b', dtype: 'U8', shape: [17], byteLength: 17 },
  ];
  const data = tensors.map((t, i) => Uint8Array.from({ length: t.byteLength }, (_, j) => (j * 7 + i) & 255));

  it('writes the same file whether produce gives bytes whole, as an array of pieces or as async generators', async () => {
    const whole = memorySink();
    await writeSafetensors(whole, tensors, { format: 'pt' }, async (i) => data[i] as Uint8Array);
    const pieces = memorySink();
    await writeSafetensors(pieces, tensors, { format: 'pt' }, (i) => {
      const bytes = data[i] as Uint8Array;
      if (i === 2) return [bytes.subarray(0, 1), bytes.subarray(1, 1), bytes.subarray(1)];
      return (async function* () {
        for (let at = 0; at < bytes.length; at += 8) yield bytes.slice(at, at + 8);
      })();
    });
    expect(pieces.bytes()).toEqual(whole.bytes());
    // Every piece went to the sink as it came: 8 pieces of a, none of empty, three of b.
    expect(pieces.parts.length).toBe(1 + 8 + 3);
  });

  it('pieces that fall short or run past the header are a FormatError naming the tensor, and nothing past it is written', async () => {
    const short = await formatError(writeSafetensors(memorySink(), tensors, undefined, (i) => [(data[i] as Uint8Array).subarray(1)]));
    expect([short.tensor, short.field, short.message]).toEqual(['a', 'byteLength', expect.stringMatching(/produced 59 bytes but the header promised 60/)]);

    const sink = memorySink();
    const long = await formatError(writeSafetensors(sink, tensors, undefined, (i) => [data[i] as Uint8Array, new Uint8Array(1)]));
    expect([long.tensor, long.message]).toEqual(['a', expect.stringMatching(/produced at least 61 bytes but the header promised 60/)]);
    expect(sink.bytes().length).toBe(safetensorsHeader(tensors).length + 60);
  });
});

describe('readSafetensorsF32Range: any range of elements, only its bytes read', () => {
  /** IEEE 754 binary16 value of a non-NaN bit pattern. */
  const halfValue = (h: number) => {
    const sign = h >= 0x8000 ? -1 : 1;
    const e = (h >> 10) & 31;
    const m = h & 1023;
    return e === 31 ? sign * Infinity : e === 0 ? sign * (m / 1024) * 2 ** -14 : sign * (1 + m / 1024) * 2 ** (e - 15);
  };
  // Every non-NaN half pattern except the two infinities, as [256, 248]-ish rows.
  const halves = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => ((h >> 10) & 31) !== 31);
  const header = (dtype: string) => ({ t: { dtype, shape: [halves.length], data_offsets: [0, halves.length * 2] } });

  it.each([[0, 1], [1, 1], [999, 3001], [halves.length - 5, 5], [7, 0]])('F16 and BF16 elements from %i, %i of them', async (start, length) => {
    for (const dtype of ['F16', 'BF16']) {
      const source = recording(fileOf(header(dtype), new Uint8Array(halves.buffer)), `${dtype}.safetensors`);
      const file = await readSafetensors(source);
      const t = file.tensors[0] as (typeof file.tensors)[number];
      source.reads.length = 0;
      const got = await readSafetensorsF32Range(file, t, start, length);
      expect(source.reads).toEqual(length > 0 ? [[t.offset + start * 2, length * 2]] : []);
      const expected = Array.from(halves.subarray(start, start + length), (h) =>
        dtype === 'F16' ? halfValue(h) : new Float32Array(new Uint32Array([h << 16]).buffer)[0]);
      expect(Array.from(got)).toEqual(expected);
    }
  });

  it('F32 bit patterns as stored; a range outside the tensor or a non-float dtype is a FormatError naming the tensor', async () => {
    const words = Uint32Array.from({ length: 100 }, (_, i) => (0x3f800000 + i * 12345) >>> 0);
    const file = await readSafetensors(bytesSource(fileOf({ w: { dtype: 'F32', shape: [10, 10], data_offsets: [0, 400] } }, new Uint8Array(words.buffer)), 'w.safetensors'));
    const t = file.tensors[0] as (typeof file.tensors)[number];
    expect(Array.from(new Uint32Array((await readSafetensorsF32Range(file, t, 37, 21)).buffer))).toEqual(Array.from(words.subarray(37, 58)));
    const out = await formatError(readSafetensorsF32Range(file, t, 90, 11));
    expect([out.file, out.tensor, out.message]).toEqual(['w.safetensors', 'w', expect.stringMatching(/elements 90..101 asked for, but the tensor has 100/)]);
    const ints = await readSafetensors(bytesSource(fileOf({ n: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, 8)));
    const bad = await formatError(readSafetensorsF32Range(ints, ints.tensors[0] as (typeof ints.tensors)[number], 0, 1));
    expect([bad.tensor, bad.field]).toEqual(['n', 'dtype']);
  });
});
