import { describe, expect, it } from 'vitest';
import { dequantize, QuantizationError, quantize, quantizeWithParams } from '../../src/index.js';
import type { QuantParams, QuantScheme } from '../../src/index.js';

const int8Channel: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx' };
const q8: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };

async function rejection(p: Promise<unknown>): Promise<QuantizationError> {
  const err = await p.then(
    () => { throw new Error('expected a rejection'); },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QuantizationError);
  return err as QuantizationError;
}

describe('bad input is rejected with an error that names it', () => {
  const x6 = new Float32Array(6);

  it.each([
    ['shape/data length', x6, [2, 2], int8Channel, /shape \[2, 2\] holds 4 elements but the data has 6/, 'shape'],
    ['negative dim', x6, [-6], int8Channel, /shape\[0\] must be a non-negative integer; got -6/, 'shape'],
    ['fractional dim', x6, [1.5, 4], int8Channel, /shape\[0\] must be a non-negative integer/, 'shape'],
    ['axis past rank', x6, [2, 3], { ...int8Channel, axis: 2 }, /axis 2 is out of range for a tensor of rank 2/, 'scheme.axis'],
    ['axis below -rank', x6, [2, 3], { ...int8Channel, axis: -3 }, /axis -3 is out of range/, 'scheme.axis'],
    ['axis on a 0-d tensor', new Float32Array(1), [], int8Channel, /a 0-d tensor has no axes/, 'scheme.axis'],
    ['axis with per-tensor', x6, [6], { ...int8Channel, granularity: 'tensor', axis: 0 } as QuantScheme,
      /axis applies only to channel and group/, 'scheme.axis'],
    ['block size 0', x6, [2, 3], { ...int8Channel, granularity: 'group', blockSize: 0 } as QuantScheme,
      /blockSize must be an integer >= 1 for group granularity; got 0/, 'scheme.blockSize'],
    ['block size missing', x6, [2, 3], { ...int8Channel, granularity: 'group' } as QuantScheme,
      /blockSize must be an integer >= 1 for group granularity; got undefined/, 'scheme.blockSize'],
    ['block size 2.5', x6, [2, 3], { ...int8Channel, granularity: 'group', blockSize: 2.5 } as QuantScheme,
      /got 2.5/, 'scheme.blockSize'],
    ['block size with per-channel', x6, [2, 3], { ...int8Channel, blockSize: 2 }, /blockSize applies only to group/,
      'scheme.blockSize'],
    ['unknown dtype', x6, [6], { ...int8Channel, dtype: 'int2' } as unknown as QuantScheme, /dtype must be one of/,
      'scheme.dtype'],
    ['unknown profile', x6, [6], { ...int8Channel, profile: 'tflite' } as unknown as QuantScheme,
      /profile must be one of onnx, pytorch, ggml; got tflite/, 'profile'],
    ['unknown granularity', x6, [6], { ...int8Channel, granularity: 'row' } as unknown as QuantScheme,
      /granularity must be one of/, 'scheme.granularity'],
    ['symmetric not boolean', x6, [6], { ...int8Channel, symmetric: 'yes' } as unknown as QuantScheme,
      /symmetric must be true or false/, 'scheme.symmetric'],
    ['ggml uint8', new Float32Array(32), [32], { ...q8, dtype: 'uint8' } as QuantScheme, /Q8_0 and Q4_0 \(dtype int8 or int4\); got uint8/,
      'scheme.dtype'],
    ['ggml asymmetric', new Float32Array(32), [32], { ...q8, symmetric: false }, /asymmetric was asked/, 'scheme.symmetric'],
    ['ggml per-channel', new Float32Array(32), [32], { ...int8Channel, profile: 'ggml' } as QuantScheme,
      /granularity 'group' with blockSize 32; got channel/, 'scheme.granularity'],
    ['ggml block 64', new Float32Array(64), [64], { ...q8, blockSize: 64 }, /got group with blockSize 64/, 'scheme.blockSize'],
    ['ggml axis 0', new Float32Array(64), [32, 2], { ...q8, axis: 0 }, /blocks run along the last axis \(1\); got axis 0/,
      'scheme.axis'],
    ['ggml ragged row', new Float32Array(40), [40], q8, /must be a multiple of 32; axis 0 has length 40/, 'shape'],
  ] as const)('%s', async (_name, x, shape, scheme, message, field) => {
    const err = await rejection(quantize(x, shape, scheme as QuantScheme));
    expect(err.message).toMatch(message);
    expect(err.field).toBe(field);
  });

  it('rejects data that is not a Float32Array', async () => {
    const err = await rejection(quantize([1, 2] as unknown as Float32Array, [2], int8Channel));
    expect(err.message).toMatch(/x must be a Float32Array/);
  });

  it.each([
    ['NaN at the first element', 0, NaN, [0, 0]],
    ['+Inf in the middle', 7, Infinity, [1, 2]],
    ['-Inf at the last element', 19, -Infinity, [3, 4]],
  ])('names the flat index and coordinates of %s', async (_name, index, value, coords) => {
    const x = new Float32Array(20).fill(0.25);
    x[index] = value;
    const err = await rejection(quantize(x, [4, 5], int8Channel));
    expect(err.message).toContain(`${value} at flat index ${index} (coordinates [${coords.join(', ')}])`);
    expect(err.index).toBe(index);
    expect(err.coords).toEqual(coords);
  });

  it('an aborted signal stops the CPU backend too', async () => {
    await expect(quantize(x6, [6], int8Channel, { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  it('rejects an unknown backend', async () => {
    const err = await rejection(quantize(x6, [6], int8Channel, { backend: 'wasm' as 'cpu' }));
    expect(err.message).toMatch(/options.backend must be 'cpu', 'reference' or 'webgpu'; got wasm/);
  });
});

describe('quantizeWithParams rejects bad parameters', () => {
  const x = new Float32Array(6);
  const shape = [2, 3];
  it.each([
    ['too many scales for per-tensor', { dtype: 'int8', scales: [1, 1] }, /scales has 2 entries but one scale \(per-tensor\) needs 1/, 'scales'],
    ['scales per channel', { dtype: 'int8', scales: [1], axis: 0 }, /scales has 1 entries but one scale per index of axis 0 needs 2/, 'scales'],
    ['scales per block', { dtype: 'int8', scales: [1, 1], axis: 1, blockSize: 2 },
      /scales has 2 entries but one scale per block of 2 along axis 1 needs 4/, 'scales'],
    ['zero points length', { dtype: 'uint8', scales: [1, 1], zeroPoints: [0], axis: 0 }, /zeroPoints has 1 entries but .* needs 2/, 'zeroPoints'],
    ['zero point above range', { dtype: 'uint4', scales: [1], zeroPoints: [16] }, /zeroPoints\[0\] is 16, outside the uint4 range \[0, 15\]/, 'zeroPoints'],
    ['zero point below range', { dtype: 'int8', scales: [1], zeroPoints: [-129] }, /zeroPoints\[0\] is -129, outside the int8 range/, 'zeroPoints'],
    ['fractional zero point', { dtype: 'int8', scales: [1], zeroPoints: [0.5] }, /zeroPoints\[0\] is 0.5/, 'zeroPoints'],
    ['zero scale', { dtype: 'int8', scales: [0] }, /scales\[0\] is 0; a scale must be finite and > 0/, 'scales'],
    ['negative scale', { dtype: 'int8', scales: [1, -1], axis: 0 }, /scales\[1\] is -1/, 'scales'],
    ['NaN scale', { dtype: 'int8', scales: [NaN] }, /scales\[0\] is NaN/, 'scales'],
    ['infinite scale', { dtype: 'int8', scales: [Infinity] }, /scales\[0\] is Infinity/, 'scales'],
    ['block size without axis', { dtype: 'int8', scales: [1], blockSize: 2 }, /blockSize needs an axis/, 'blockSize'],
    ['unknown dtype', { dtype: 'fp8', scales: [1] }, /dtype must be one of/, 'dtype'],
    ['unknown profile', { dtype: 'int8', scales: [1], profile: 'tf' }, /profile must be one of/, 'profile'],
  ] as const)('%s', async (_name, params, message, field) => {
    const err = await rejection(quantizeWithParams(x, shape, params as unknown as QuantParams));
    expect(err.message).toMatch(message);
    expect(err.field).toBe(field);
  });

  it('ggml takes any finite d (Q4_0 stores negative ones) but no zero point', async () => {
    const x32 = new Float32Array(32).fill(1);
    const q = await quantizeWithParams(x32, [32], { dtype: 'int4', scales: [-0.5], axis: 0, blockSize: 32, profile: 'ggml' });
    expect(q.codes[0]).toBe(-2); // trunc(1·(−2) + 8.5) − 8 = −2
    const err = await rejection(
      quantizeWithParams(x32, [32], { dtype: 'int8', scales: [1], zeroPoints: [3], axis: 0, blockSize: 32, profile: 'ggml' }),
    );
    expect(err.message).toMatch(/zeroPoints\[0\] is 3; the ggml formats have no zero point/);
  });
});

describe('dequantize rejects an inconsistent tensor', () => {
  it('names the field that does not fit', async () => {
    const q = await quantize(new Float32Array(6), [2, 3], int8Channel);
    await expect(dequantize({ ...q, scales: new Float32Array(3) })).rejects.toThrow(/scales holds 12 bytes but the shape and scheme need 8/);
    await expect(dequantize({ ...q, zeroPoints: new Int32Array(1) })).rejects.toThrow(/zeroPoints holds 4 bytes but .* need 8/);
    await expect(dequantize({ ...q, packed: new Uint32Array(1) })).rejects.toThrow(/packed holds 4 bytes but .* need 8/);
    await expect(dequantize(q, { output: 'gpu' })).rejects.toThrow(/output: 'gpu' needs backend: 'webgpu'/);
    await expect(dequantize({ ...q, codes: new Uint8Array(6) })).rejects.toThrow(/codes must be an Int8Array for int8/);
    await expect(dequantize({ ...q, shape: [3, 3] })).rejects.toThrow(/holds 9 elements but the data has 6/);
  });
});

describe('empty tensors are valid', () => {
  it.each([
    [[0], { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' }, 1],
    [[0, 4], int8Channel, 0],
    [[4, 0], int8Channel, 4],
    [[3, 0], { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 8, profile: 'pytorch' }, 0],
    [[2, 0], q8, 0],
  ] as const)('shape %j', async (shape, scheme, params) => {
    const q = await quantize(new Float32Array(0), shape as unknown as number[], scheme as QuantScheme);
    expect(q.codes.length).toBe(0);
    expect(q.packed.length).toBe(0);
    expect(q.scales.length).toBe(params);
    expect((await dequantize(q)).length).toBe(0);
  });
});
