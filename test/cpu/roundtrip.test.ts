import { describe, expect, it } from 'vitest';
import { dequantize, quantize, reference } from '../../src/index.js';
import type { Profile, QuantDType, QuantScheme, QuantizedTensor } from '../../src/index.js';
import { randomNormal, syntheticWeights } from '../../src/synthetic.js';

const { unpackCodes } = reference;

/**
 * Every element's parameter, from its coordinates: the axis coordinate (divided by the block
 * size for groups) replaces that axis, and the result is flattened row-major over the parameter
 * shape — the README's layout, worked out here without the library's layout code.
 */
function paramOf(q: QuantizedTensor, i: number): number {
  const { granularity } = q.scheme;
  if (granularity === 'tensor') return 0;
  const rank = q.shape.length;
  const axis = ((q.scheme.axis ?? (granularity === 'group' ? -1 : 0)) + rank) % rank;
  const coords: number[] = [];
  let rest = i;
  for (let d = rank - 1; d >= 0; d--) {
    coords[d] = rest % (q.shape[d] as number);
    rest = Math.floor(rest / (q.shape[d] as number));
  }
  if (granularity === 'channel') return coords[axis] as number;
  const blockSize = q.scheme.blockSize ?? 1;
  const paramShape = q.shape.map((n, d) => (d === axis ? Math.ceil(n / blockSize) : n));
  return coords.reduce((flat, c, d) => flat * (paramShape[d] as number) + (d === axis ? Math.floor(c / blockSize) : c), 0);
}

const SCHEMES: QuantScheme[] = [];
for (const profile of ['onnx', 'pytorch'] as Profile[]) {
  for (const dtype of ['int8', 'uint8', 'int4', 'uint4'] as QuantDType[]) {
    for (const symmetric of [true, false]) {
      SCHEMES.push({ dtype, symmetric, profile, granularity: 'tensor' });
      SCHEMES.push({ dtype, symmetric, profile, granularity: 'channel', axis: 0 });
      SCHEMES.push({ dtype, symmetric, profile, granularity: 'channel', axis: -1 });
      SCHEMES.push({ dtype, symmetric, profile, granularity: 'group', blockSize: 8 });
      SCHEMES.push({ dtype, symmetric, profile, granularity: 'group', axis: 0, blockSize: 2 });
    }
  }
}

/**
 * dequantize(quantize(x)) is within half a step of x clamped to the representable interval.
 * ggml stores d as float16 while codes use the float32 d, which moves a reconstruction by up to
 * |code|·|d − d16| ≤ 128·2^−11·|d| more; float32 rounding adds a relative 1e−4 of the scale.
 */
function checkRoundTrip(x: Float32Array, q: QuantizedTensor, y: Float32Array): void {
  const { qmin, qmax } = reference.codeRange(q.scheme);
  const slack = q.scheme.profile === 'ggml' ? 128 * 2 ** -11 : 1e-4;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const p = paramOf(q, i);
    const s = q.scales[p] as number;
    const z = q.zeroPoints[p] as number;
    const lo = Math.min(s * (qmin - z), s * (qmax - z));
    const hi = Math.max(s * (qmin - z), s * (qmax - z));
    const target = Math.min(Math.max(x[i] as number, lo), hi);
    const excess = Math.abs((y[i] as number) - target) - Math.abs(s) * (0.5 + slack);
    worst = Math.max(worst, excess);
    if (excess > 0) {
      throw new Error(`element ${i}: x ${x[i]} → ${y[i]} with scale ${s}, zp ${z}; ${excess} past half a step`);
    }
  }
  expect(worst).toBeLessThanOrEqual(0);
}

function checkPacking(q: QuantizedTensor): void {
  const bits = q.scheme.dtype.endsWith('8') ? 8 : 4;
  expect(q.packed.length).toBe(Math.ceil(q.codes.length / (32 / bits)));
  const unpacked = unpackCodes(q.packed, bits, q.codes.length, q.scheme.dtype.startsWith('int'));
  expect(unpacked).toEqual(q.codes);
  const tail = q.codes.length % (32 / bits);
  if (tail !== 0) expect((q.packed.at(-1) as number) >>> (tail * bits)).toBe(0);
}

describe('round trip and packing on lengths that break assumptions', () => {
  const lengths = [1, 2, 3, 5, 7, 31, 33, 10007];
  for (const n of lengths) {
    it(`length ${n}, every onnx/pytorch scheme, shapes [${n}] and [3, ${n}]`, async () => {
      for (const shape of [[n], [3, n]]) {
        const x = randomNormal(shape.reduce((a, b) => a * b, 1), n);
        for (const scheme of SCHEMES) {
          if (shape.length === 1 && scheme.axis === 0 && scheme.granularity === 'group') continue;
          const q = await quantize(x, shape, scheme);
          checkRoundTrip(x, q, await dequantize(q));
          checkPacking(q);
        }
      }
    });
  }

  it('ggml Q8_0 and Q4_0 on weight-like rows with outlier channels', async () => {
    for (const [rows, cols] of [[1, 32], [3, 96], [13, 320]] as const) {
      const x = syntheticWeights(rows, cols, rows);
      for (const dtype of ['int8', 'int4'] as const) {
        const q = await quantize(x, [rows, cols], { dtype, symmetric: true, granularity: 'group', profile: 'ggml' });
        expect(q.scales.length).toBe(rows * (cols / 32));
        checkRoundTrip(x, q, await dequantize(q));
        checkPacking(q);
      }
    }
  });

  it('channel and block counts that are not multiples of 4 or 8', async () => {
    const x = randomNormal(7 * 5 * 11, 3);
    const perChannel = await quantize(x, [7, 5, 11], { dtype: 'uint4', symmetric: false, granularity: 'channel', axis: 1, profile: 'onnx' });
    expect(perChannel.scales.length).toBe(5);
    const blocked = await quantize(x, [7, 5, 11], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 3, profile: 'pytorch' });
    // [7, 5, ceil(11/3) = 4] scales, the last block of each row 2 long.
    expect(blocked.scales.length).toBe(7 * 5 * 4);
    checkRoundTrip(x, blocked, await dequantize(blocked));
  });

  it('block parameters follow the ONNX layout: scale shape is the input shape with the axis divided', async () => {
    // Blocks along axis 0 of a [5, 2] tensor with block 2: scale shape [3, 2]; element (4, 1) uses scale (2, 1) = index 5.
    const x = Float32Array.from({ length: 10 }, (_, i) => (i + 1) * (i % 2 === 0 ? 1 : -1));
    const q = await quantize(x, [5, 2], { dtype: 'int8', symmetric: true, granularity: 'group', axis: 0, blockSize: 2, profile: 'onnx' });
    expect(q.scales.length).toBe(6);
    // Block (2, 1) holds only element (4, 1) = −10: scale = 20/254.
    expect(q.scales[5]).toBe(Math.fround(20 / 254));
    expect(q.codes[9]).toBe(-127);
  });
});
