import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quantize } from '../../src/api.js';
import { QuantizationError } from '../../src/errors.js';
import {
  checkCompressedTensorsScheme, compressedTensorsData, compressedTensorsEncoder, compressedTensorsFormat,
  compressedTensorsOutputs, compressedTensorsWarnings, f32ToBf16Bits, quantizationConfig, storedScale, storedValue,
} from '../../src/formats/compressed-tensors.js';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { readSafetensors, readSafetensorsF32, writeSafetensors } from '../../src/formats/safetensors.js';
import type { QuantScheme, QuantizedTensor } from '../../src/types.js';

const INT8_CHANNEL: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', axis: 0, profile: 'pytorch' };
const INT8_CHANNEL_ASYM: QuantScheme = { ...INT8_CHANNEL, symmetric: false };
const INT4_G128: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' };
const INT4_G128_ASYM: QuantScheme = { ...INT4_G128, symmetric: false };
const INT8_TENSOR: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'pytorch' };
const INT8_TENSOR_ASYM: QuantScheme = { ...INT8_TENSOR, symmetric: false };

const summary = (name: string, shape: number[], scheme: QuantScheme, scale: 'F32' | 'F16' | 'BF16' = 'F16') =>
  compressedTensorsOutputs(name, shape, scheme, scale).map((o) => [o.name, o.dtype, o.shape, o.byteLength]);

/** A quantized tensor built by hand, so that every expected byte below is hand-computed. */
function handMade(shape: [number, number], scheme: QuantScheme, codes: number[], scales: number[], zeroPoints?: number[]): QuantizedTensor {
  return {
    shape, scheme, codes: Int8Array.from(codes), packed: new Uint32Array(0), scales: Float32Array.from(scales),
    zeroPoints: Int32Array.from(zeroPoints ?? scales.map(() => 0)), backend: 'cpu',
  };
}

/** Parts by name suffix, in the order compressedTensorsOutputs lists them. */
function parts(name: string, q: QuantizedTensor, scale: 'F32' | 'F16' | 'BF16'): Record<string, number[]> {
  const outs = compressedTensorsOutputs(name, q.shape, q.scheme, scale);
  const data = compressedTensorsData(name, q, scale);
  expect(data.map((d) => d.byteLength)).toEqual(outs.map((o) => o.byteLength));
  return Object.fromEntries(outs.map((o, i) => [o.name.slice(name.length + 1), Array.from(data[i] ?? [])]));
}

/** Little-endian bytes of 32-bit words. */
const le32 = (...words: number[]) => words.flatMap((w) => [w & 255, (w >>> 8) & 255, (w >>> 16) & 255, w >>> 24]);
const le64 = (...values: number[]) => values.flatMap((v) => [...le32(v), 0, 0, 0, 0]);

function quantizationError(fn: () => unknown): QuantizationError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(QuantizationError);
  return err as QuantizationError;
}

describe('compressedTensorsOutputs: names, dtypes and shapes from shape and scheme alone', () => {
  it('int8 per channel, symmetric: packed I32 four codes a word, scale [out, 1], no zero point', () => {
    expect(summary('fc.weight', [5, 6], INT8_CHANNEL)).toEqual([
      ['fc.weight_shape', 'I64', [2], 16],
      ['fc.weight_packed', 'I32', [5, 2], 40],
      ['fc.weight_scale', 'F16', [5, 1], 10],
    ]);
  });

  it('int8 per channel, asymmetric: zero points packed down the columns, I32 [⌈out/4⌉, 1]', () => {
    expect(summary('fc.weight', [5, 6], INT8_CHANNEL_ASYM, 'F32')).toEqual([
      ['fc.weight_shape', 'I64', [2], 16],
      ['fc.weight_packed', 'I32', [5, 2], 40],
      ['fc.weight_scale', 'F32', [5, 1], 20],
      ['fc.weight_zero_point', 'I32', [2, 1], 8],
    ]);
  });

  it('int4 groups of 128, symmetric (pack-quantized): eight codes a word, scale [out, in/128]', () => {
    expect(summary('model.layers.0.mlp.down_proj.weight', [3, 256], INT4_G128, 'BF16')).toEqual([
      ['model.layers.0.mlp.down_proj.weight_shape', 'I64', [2], 16],
      ['model.layers.0.mlp.down_proj.weight_packed', 'I32', [3, 32], 384],
      ['model.layers.0.mlp.down_proj.weight_scale', 'BF16', [3, 2], 12],
    ]);
  });

  it('int4 groups of 128, asymmetric: zero points I32 [⌈out/8⌉, in/128]', () => {
    expect(summary('w.weight', [10, 384], INT4_G128_ASYM)).toEqual([
      ['w.weight_shape', 'I64', [2], 16],
      ['w.weight_packed', 'I32', [10, 48], 1920],
      ['w.weight_zero_point', 'I32', [2, 3], 24],
      ['w.weight_scale', 'F16', [10, 3], 60],
    ]);
  });

  it('per tensor: scale [1]; an asymmetric zero point is one unpacked I8', () => {
    expect(summary('w.weight', [4, 4], INT8_TENSOR)).toEqual([
      ['w.weight_shape', 'I64', [2], 16],
      ['w.weight_packed', 'I32', [4, 1], 16],
      ['w.weight_scale', 'F16', [1], 2],
    ]);
    expect(summary('w.weight', [4, 4], INT8_TENSOR_ASYM)).toEqual([
      ['w.weight_shape', 'I64', [2], 16],
      ['w.weight_packed', 'I32', [4, 1], 16],
      ['w.weight_scale', 'F16', [1], 2],
      ['w.weight_zero_point', 'I8', [1], 1],
    ]);
  });

  it('pads a row whose length is not a multiple of the codes per word', () => {
    expect(summary('w.weight', [2, 10], { ...INT4_G128, blockSize: 5 })[1]).toEqual(['w.weight_packed', 'I32', [2, 2], 16]);
  });

  it('refuses a name that does not end in weight', () => {
    expect(quantizationError(() => compressedTensorsOutputs('fc.bias', [2, 2], INT8_CHANNEL, 'F32')).field).toBe('name');
    // compressed-tensors only compresses names ending in "weight", so an LSTM's weight_ih stays float.
    expect(quantizationError(() => compressedTensorsOutputs('lstm.weight_ih', [8, 4], INT8_CHANNEL, 'F32')).field).toBe('name');
  });
});

describe('compressedTensorsData: packed words against hand-computed values', () => {
  it("int8 [1, 2] codes [1, 2] pack to 33409 (pack_to_int32's docstring example)", () => {
    const p = parts('a.weight', handMade([1, 2], INT8_CHANNEL, [1, 2], [0.5]), 'F32');
    expect(p.packed).toEqual(le32(33409));
    expect(p.scale).toEqual([0, 0, 0, 0x3f]); // 0.5 = 0x3f000000
    expect(p.shape).toEqual(le64(1, 2));
  });

  it('int4 rows: code + 8, element 0 in the lowest nibble', () => {
    const row0 = [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7];
    const row1 = [...row0].reverse();
    const scheme: QuantScheme = { ...INT4_G128, blockSize: 8 };
    const p = parts('a.weight', handMade([2, 16], scheme, [...row0, ...row1], [1, 2, 3, 4]), 'F32');
    // row 0: nibbles 0..7 then 8..15; row 1: 15..8 then 7..0.
    expect(p.packed).toEqual(le32(0x76543210, 0xfedcba98, 0x89abcdef, 0x01234567));
    expect(p.scale).toEqual([...le32(0x3f800000), ...le32(0x40000000), ...le32(0x40400000), ...le32(0x40800000)]);
    expect(p.zero_point).toBeUndefined();
  });

  it('int4 rows of 10: the second word of each row holds two codes, zero-padded', () => {
    const codes = [0, 1, 2, 3, 4, 5, 6, 7, -8, -1];
    const p = parts('a.weight', handMade([1, 10], { ...INT4_G128, blockSize: 5 }, codes, [1, 1]), 'F32');
    expect(p.packed).toEqual(le32(0xfedcba98, 0x70));
  });

  it('int4 asymmetric groups: zero points + 8, eight rows to a word, one word column per group', () => {
    const scheme: QuantScheme = { ...INT4_G128_ASYM, blockSize: 8 };
    const zps = [-8, -7, -6, -5, -4, -3, -2, -1, 0];
    const p = parts('a.weight', handMade([9, 8], scheme, new Array<number>(72).fill(0), zps.map(() => 1), zps), 'F32');
    expect(p.zero_point).toEqual(le32(0x76543210, 0x8));
    expect(p.packed).toEqual(le32(...new Array<number>(9).fill(0x88888888)));
  });

  it('int4 asymmetric channels [3, 8]: zero points -1, 0, 5 → one word 0xd87', () => {
    const scheme: QuantScheme = { dtype: 'int4', symmetric: false, granularity: 'channel', profile: 'pytorch' };
    const p = parts('a.weight', handMade([3, 8], scheme, new Array<number>(24).fill(-8), [1, 1, 1], [-1, 0, 5]), 'F32');
    expect(p.zero_point).toEqual(le32(0xd87));
    expect(p.packed).toEqual(le32(0, 0, 0));
  });

  it('int8 asymmetric channels: zero points + 128, four rows to a word', () => {
    const zps = [-128, 127, 0, 5, 1];
    const p = parts('a.weight', handMade([5, 1], INT8_CHANNEL_ASYM, [-128, 127, 0, -1, 1], [1, 1, 1, 1, 1], zps), 'F32');
    expect(p.zero_point).toEqual(le32(0x8580ff00, 0x81));
    expect(p.packed).toEqual(le32(0x00, 0xff, 0x80, 0x7f, 0x81));
  });

  it('an asymmetric per-tensor zero point is one signed byte', () => {
    const p = parts('a.weight', handMade([1, 4], INT8_TENSOR_ASYM, [1, 2, 3, 4], [0.25], [-3]), 'F32');
    expect(p.zero_point).toEqual([0xfd]);
    expect(p.packed).toEqual(le32(0x84838281));
  });

  it('scales in F16 and BF16 round to nearest even: 1/3 → 0x3555 and 0x3eab', () => {
    const q = handMade([1, 4], INT8_TENSOR, [0, 0, 0, 0], [1 / 3]);
    expect(parts('a.weight', q, 'F16').scale).toEqual([0x55, 0x35]);
    // float32 1/3 is 0x3eaaaaab; its low half 0xaaab is above the midpoint, so the top half rounds up.
    expect(parts('a.weight', q, 'BF16').scale).toEqual([0xab, 0x3e]);
  });

  it('refuses zero points a symmetric layout would drop, or outside the type', () => {
    expect(quantizationError(() => compressedTensorsData('a.weight', handMade([1, 4], INT8_TENSOR, [0, 0, 0, 0], [1], [2]), 'F32')).field)
      .toBe('zeroPoints');
    const int4: QuantScheme = { dtype: 'int4', symmetric: false, granularity: 'tensor', profile: 'pytorch' };
    expect(quantizationError(() => compressedTensorsData('a.weight', handMade([1, 8], int4, new Array<number>(8).fill(0), [1], [8]), 'F32')).field)
      .toBe('zeroPoints');
    expect(quantizationError(() => compressedTensorsData('a.weight', handMade([1, 4], INT8_TENSOR, [0, 0, 0], [1]), 'F32')).field)
      .toBe('codes');
  });
});

describe('f32ToBf16Bits', () => {
  it.each([
    [1, 0x3f80],
    [1 + 2 ** -8, 0x3f80], // tie: the even neighbour is 1
    [1 + 3 * 2 ** -8, 0x3f82], // tie: the even neighbour is 1 + 2^-6
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above the tie
    [-2, 0xc000],
    [-0, 0x8000],
    [3.4028234663852886e38, 0x7f80], // largest float32 rounds up to Inf
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [2 ** -149, 0x0000], // smallest subnormal: below half a bfloat16 step
    [2 ** -133, 0x0001], // smallest bfloat16 subnormal
  ])('%s → 0x%s', (x, bits) => {
    expect(f32ToBf16Bits(x)).toBe(bits);
  });

  it('NaN stays NaN', () => {
    const b = f32ToBf16Bits(NaN);
    expect((b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0).toBe(true);
  });

  it('agrees with value arithmetic (nearest, ties to even) on 200 000 float32 values', () => {
    // Every value is between two adjacent bfloat16 values lo ≤ x < hi (truncation and the next
    // one up); the distances are exact in float64.
    const words = new Uint32Array(200_000);
    let s = 12345;
    for (let i = 0; i < words.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const low = i % 4 === 0 ? 0x8000 : i % 4 === 1 ? s & 0xffff : (s >>> 3) & 0xffff;
      words[i] = ((s & 0xffff0000) | low) >>> 0;
    }
    const values = new Float32Array(words.buffer);
    const bf = (hi16: number) => new Float32Array(new Uint32Array([hi16 << 16]).buffer)[0] as number;
    for (let i = 0; i < values.length; i++) {
      const x = values[i] as number;
      const w = words[i] as number;
      if (Number.isNaN(x)) continue;
      const trunc = w >>> 16;
      const lo = bf(trunc);
      if ((trunc & 0x7f80) === 0x7f80 || lo === x) {
        expect(f32ToBf16Bits(x)).toBe(trunc);
        continue;
      }
      const next = trunc + 1; // the neighbour further from zero
      // Past the largest finite value the next step is ±2^128, as if the exponent were unbounded;
      // rounding there overflows to Inf.
      const far = (next & 0x7f80) === 0x7f80 ? Math.sign(x) * 2 ** 128 : bf(next);
      const dNear = Math.abs(x - lo);
      const dFar = Math.abs(far - x);
      const expected = dNear < dFar || (dNear === dFar && (trunc & 1) === 0) ? trunc : next;
      expect(f32ToBf16Bits(x), `0x${w.toString(16)}`).toBe(expected);
    }
  });
});

describe('storedScale: the scale a half-precision file holds, never below the calibrated one', () => {
  it.each([
    // 0.7 is 0x3f333333 in float32: bfloat16's nearest, 0x3f33 = 0.69921875, is below it.
    [0.7, 'BF16', 0.703125],
    // 1/3 is 0x3eaaaaab: the nearest bfloat16, 0x3eab = 0.333984375, is already above.
    [1 / 3, 'BF16', 0.333984375],
    // float16 steps of 2^-14 near 0.1: 0.1 is 1638.4 steps; the nearest, 1638, is below.
    [0.1, 'F16', 1639 * 2 ** -14],
    [0.5, 'F16', 0.5],
    // ggml's Q4_0 d may be negative: the magnitude goes up.
    [-0.7, 'BF16', -0.703125],
    [0, 'F16', 0],
    // The smallest pytorch scale, 2^-23, is a float16 subnormal (2 · 2^-24); 2.5 · 2^-24 ties to 2, below.
    [2 ** -23, 'F16', 2 ** -23],
    [2.5 * 2 ** -24, 'F16', 3 * 2 ** -24],
    [0.7, 'F32', Math.fround(0.7)],
  ] as const)('%s in %s → %s', (scale, dtype, stored) => {
    expect(storedScale(scale, dtype)).toBe(stored);
  });

  it('refuses a scale past the dtype (float16 above 65504)', () => {
    expect(quantizationError(() => storedScale(70000, 'F16')).message).toMatch(/70000 is beyond the range of F16/);
  });

  it('storedValue rounds to nearest even, as a cast does', () => {
    expect([storedValue(0.7, 'BF16'), storedValue(0.1, 'F16'), storedValue(1 + 2 ** -8, 'BF16')]).toEqual([0.69921875, 1638 * 2 ** -14, 1]);
  });
});

describe('quantization_config', () => {
  it('int4 groups of 128, symmetric', () => {
    expect(quantizationConfig(INT4_G128, ['lm_head'])).toEqual({
      quant_method: 'compressed-tensors',
      format: 'pack-quantized',
      quantization_status: 'compressed',
      config_groups: {
        group_0: {
          targets: ['Linear'],
          weights: {
            num_bits: 4, type: 'int', symmetric: true, strategy: 'group', group_size: 128, block_structure: null,
            dynamic: false, actorder: null, observer: 'minmax', observer_kwargs: {},
          },
          input_activations: null,
          output_activations: null,
        },
      },
      kv_cache_scheme: null,
      ignore: ['lm_head'],
    });
  });

  it('int8 per channel, asymmetric, and per tensor', () => {
    const weights = (s: QuantScheme) => (quantizationConfig(s, []) as { config_groups: { group_0: { weights: object } } }).config_groups.group_0.weights;
    expect(weights(INT8_CHANNEL_ASYM)).toMatchObject({ num_bits: 8, type: 'int', symmetric: false, strategy: 'channel', group_size: null, dynamic: false });
    expect(weights(INT8_TENSOR)).toMatchObject({ num_bits: 8, symmetric: true, strategy: 'tensor', group_size: null });
    expect(quantizationConfig(INT8_TENSOR, []).ignore).toEqual([]);
  });

  it('targets: Linear by default, or the given class names and module names', () => {
    const targets = (t?: string[]) => (quantizationConfig(INT8_CHANNEL, [], t) as { config_groups: { group_0: { targets: string[] } } })
      .config_groups.group_0.targets;
    expect(targets()).toEqual(['Linear']);
    expect(targets(['Linear', 'model.embed_tokens'])).toEqual(['Linear', 'model.embed_tokens']);
  });

  it('format is pack-quantized for int8 and int4 (weight-only, as llm-compressor infers and vLLM loads)', () => {
    expect(compressedTensorsFormat(INT8_CHANNEL)).toBe('pack-quantized');
    expect(compressedTensorsFormat(INT4_G128_ASYM)).toBe('pack-quantized');
    expect(quantizationError(() => compressedTensorsFormat({ ...INT8_CHANNEL, dtype: 'uint8' })).field).toBe('scheme.dtype');
    expect(quantizationError(() => quantizationConfig({ ...INT4_G128, axis: 0 }, [])).field).toBe('scheme.axis');
  });
});

describe('compressedTensorsWarnings: schemes vLLM will not load', () => {
  it.each([
    ['per tensor', INT8_TENSOR, /^per-tensor scales: vLLM's weight-only int scheme \(CompressedTensorsWNA16\) takes channel or group/],
    ['groups of 16', { ...INT4_G128, blockSize: 16 }, /^groups of 16: vLLM's weight-only int kernels \(Marlin\) serve groups of 32, 64, 128 or one scale per channel/],
    ['groups of 256', { ...INT4_G128, blockSize: 256 }, /^groups of 256:/],
  ] as [string, QuantScheme, RegExp][])('%s', (_, scheme, warning) => {
    expect(compressedTensorsWarnings(scheme)).toEqual([expect.stringMatching(warning)]);
  });

  it.each([
    ['per channel', INT8_CHANNEL_ASYM], ['groups of 32', { ...INT4_G128, blockSize: 32 }], ['groups of 64', { ...INT4_G128, blockSize: 64 }],
    ['groups of 128', INT4_G128],
  ] as [string, QuantScheme][])('none for %s', (_, scheme) => {
    expect(compressedTensorsWarnings(scheme)).toEqual([]);
  });
});

describe('checkCompressedTensorsScheme', () => {
  it.each([
    ['a 3-D weight', [128, 64, 3], INT8_CHANNEL, 'shape'],
    ['a 1-D tensor', [128], INT8_TENSOR, 'shape'],
    ['uint8', [4, 4], { ...INT8_CHANNEL, dtype: 'uint8' }, 'scheme.dtype'],
    ['uint4', [4, 128], { ...INT4_G128, dtype: 'uint4' }, 'scheme.dtype'],
    ['channels along axis 1', [4, 4], { ...INT8_CHANNEL, axis: 1 }, 'scheme.axis'],
    ['channels along axis -1', [4, 4], { ...INT8_CHANNEL, axis: -1 }, 'scheme.axis'],
    ['groups along axis 0', [256, 4], { ...INT4_G128, axis: 0 }, 'scheme.axis'],
    ['a group size that does not divide the row', [4, 200], INT4_G128, 'scheme.blockSize'],
    ['a scheme invalid anywhere', [4, 256], { ...INT4_G128, blockSize: 0 }, 'scheme.blockSize'],
  ] as [string, number[], QuantScheme, string][])('refuses %s', (_, shape, scheme, field) => {
    expect(quantizationError(() => checkCompressedTensorsScheme(shape, scheme)).field).toBe(field);
  });

  it.each([
    ['channels along axis -2', [4, 4], { ...INT8_CHANNEL, axis: -2 }],
    ['channels with the default axis', [4, 4], { dtype: 'int4', symmetric: false, granularity: 'channel', profile: 'onnx' }],
    ['groups along axis -1', [4, 256], { ...INT4_G128, axis: -1 }],
    ['ggml Q4_0 blocks', [2, 64], { dtype: 'int4', symmetric: true, granularity: 'group', profile: 'ggml' }],
    ['per tensor', [3, 5], INT8_TENSOR_ASYM],
  ] as [string, number[], QuantScheme][])('accepts %s', (_, shape, scheme) => {
    expect(() => checkCompressedTensorsScheme(shape, scheme)).not.toThrow();
  });
});

describe('a quantized layer written and read back', () => {
  it('mnist fc1.weight [32, 11616], int4 groups of 32, asymmetric, F16 scales', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url)));
    const input = await readSafetensors(bytesSource(bytes, 'mnist.safetensors'));
    const t = input.tensors.find((e) => e.name === 'fc1.weight');
    if (!t) throw new Error('fc1.weight missing');
    const scheme: QuantScheme = { ...INT4_G128_ASYM, blockSize: 32 };
    const x = await readSafetensorsF32(input, t);
    const q = await quantize(x, t.shape, scheme);

    const outputs = compressedTensorsOutputs(t.name, t.shape, scheme, 'F16');
    const data = compressedTensorsData(t.name, q, 'F16');
    const sink = memorySink();
    await writeSafetensors(sink, outputs, { format: 'pt' }, async (i) => data[i] as Uint8Array);
    const out = await readSafetensors(bytesSource(sink.bytes(), 'out.safetensors'));
    const read = async (suffix: string) => {
      const e = out.tensors.find((o) => o.name === `fc1.weight_${suffix}`);
      if (!e) throw new Error(`${suffix} missing`);
      const b = await out.source.read(e.offset, e.byteLength);
      return { e, view: new DataView(b.buffer, b.byteOffset, b.byteLength) };
    };

    // Unpack as compressed-tensors' unpack_from_int32 does: nibble i of each word, minus 8.
    const [rows, cols, groups, words] = [32, 11616, 363, 1452];
    const packed = await read('packed');
    expect([packed.e.dtype, packed.e.shape]).toEqual(['I32', [rows, words]]);
    const codes = new Int8Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        codes[r * cols + c] = ((packed.view.getUint32((r * words + (c >> 3)) * 4, true) >>> ((c & 7) * 4)) & 15) - 8;
      }
    }
    expect(codes).toEqual(q.codes);

    const zp = await read('zero_point');
    expect([zp.e.dtype, zp.e.shape]).toEqual(['I32', [rows / 8, groups]]);
    const zeroPoints = Int32Array.from({ length: rows * groups }, (_, i) => {
      const [r, g] = [Math.floor(i / groups), i % groups];
      return ((zp.view.getUint32(((r >> 3) * groups + g) * 4, true) >>> ((r & 7) * 4)) & 15) - 8;
    });
    expect(zeroPoints).toEqual(q.zeroPoints);

    const scale = await read('scale');
    expect([scale.e.dtype, scale.e.shape]).toEqual(['F16', [rows, groups]]);
    for (let i = 0; i < rows * groups; i++) {
      // Normal float16: (1 + m/1024) · 2^(e−15); rounding to nearest moves a value by at most 2^−11 of it.
      const h = scale.view.getUint16(i * 2, true);
      const value = (h >> 15 ? -1 : 1) * (1 + (h & 1023) / 1024) * 2 ** (((h >> 10) & 31) - 15);
      const s = q.scales[i] as number;
      expect(Math.abs(value - s)).toBeLessThanOrEqual(Math.abs(s) * 2 ** -11);
    }
    const shape = await read('shape');
    expect([shape.view.getBigInt64(0, true), shape.view.getBigInt64(8, true)]).toEqual([BigInt(rows), BigInt(cols)]);
    expect(out.metadata).toEqual({ format: 'pt' });
  });
});

describe('compressedTensorsEncoder: entries from the parameters, packed words a chunk of rows at a time', () => {
  it('int4 rows of 10 packed one row, then two rows at a time: the hand-computed words', () => {
    const scheme: QuantScheme = { ...INT4_G128, blockSize: 5 };
    const enc = compressedTensorsEncoder('a.weight', [3, 10], scheme, 'F32');
    const row = [0, 1, 2, 3, 4, 5, 6, 7, -8, -1];
    const rev = [...row].reverse();
    expect(Array.from(enc.packRows(Int8Array.from(row), 0))).toEqual(le32(0xfedcba98, 0x70));
    expect(Array.from(enc.packRows(Int8Array.from([...rev, ...row]), 10))).toEqual(le32(0xabcdef07, 0x89, 0xfedcba98, 0x70));
    expect(enc.parts).toEqual(compressedTensorsOutputs('a.weight', [3, 10], scheme, 'F32').map((o) => o.name.slice('a.weight_'.length)));
  });

  it('paramEntries: scales, zero points and shape as compressedTensorsData writes them, from hand-computed values', () => {
    const scheme: QuantScheme = { dtype: 'int4', symmetric: false, granularity: 'channel', profile: 'pytorch' };
    const enc = compressedTensorsEncoder('a.weight', [3, 8], scheme, 'F16');
    const entries = enc.paramEntries({ scales: Float32Array.from([1, 2, 1 / 3]), zeroPoints: Int32Array.from([-1, 0, 5]) });
    expect(Array.from(entries.get('zero_point') ?? [])).toEqual(le32(0xd87));
    expect(Array.from(entries.get('scale') ?? [])).toEqual([0x00, 0x3c, 0x00, 0x40, 0x55, 0x35]);
    expect(Array.from(entries.get('shape') ?? [])).toEqual(le64(3, 8));
    expect(entries.has('packed')).toBe(false);
  });

  it('refuses chunks that are not whole rows, and parameters the layout cannot hold', () => {
    const enc = compressedTensorsEncoder('a.weight', [4, 6], INT8_CHANNEL, 'F32');
    expect(quantizationError(() => enc.packRows(new Int8Array(6), 3)).message).toMatch(/whole rows of 6 of the 24 codes; got 6 codes from element 3/);
    expect(quantizationError(() => enc.packRows(new Int8Array(8), 0)).field).toBe('codes');
    expect(quantizationError(() => enc.packRows(new Int8Array(12), 18)).field).toBe('codes');
    expect(quantizationError(() => enc.paramEntries({ scales: new Float32Array(3), zeroPoints: new Int32Array(3) })).field).toBe('scales');
    expect(quantizationError(() => enc.paramEntries({ scales: new Float32Array(4), zeroPoints: Int32Array.from([0, 0, 1, 0]) })).message)
      .toMatch(/zeroPoints\[2\] is 1 in a symmetric scheme/);
  });

  it('on mnist fc1.weight, int4 asymmetric groups: chunks of whole rows unpack to the codes', async () => {
    const file = await readSafetensors(bytesSource(new Uint8Array(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url))), 'mnist.safetensors'));
    const t = file.tensors.find((e) => e.name === 'fc1.weight') as (typeof file.tensors)[number];
    const x = await readSafetensorsF32(file, t);
    const scheme: QuantScheme = { ...INT4_G128_ASYM, blockSize: 32 };
    const q = await quantize(x, t.shape, scheme);
    const enc = compressedTensorsEncoder(t.name, t.shape, scheme, 'BF16');
    const [rows, cols] = t.shape as [number, number];
    const words = Math.ceil(cols / 8);
    const chunks: number[] = [];
    for (let start = 0; start < x.length; start += 5 * cols) {
      chunks.push(...enc.packRows(q.codes.subarray(start, Math.min(x.length, start + 5 * cols)), start));
    }
    expect(chunks.length).toBe(rows * words * 4);
    // Unpacked by hand as compressed-tensors' unpack_from_int32 does: nibble i of each row's words, minus 8.
    const view = new DataView(Uint8Array.from(chunks).buffer);
    let mismatches = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const code = ((view.getUint32((r * words + (c >> 3)) * 4, true) >>> ((c & 7) * 4)) & 15) - 8;
        if (code !== q.codes[r * cols + c]) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });
});
