// Hand-checked vectors; each expected value is derived in the comment beside it, not from the code.
import { describe, expect, it } from 'vitest';
import { dequantize, quantize, quantizeWithParams, reference } from '../../src/index.js';
import type { Profile, QuantDType, QuantScheme } from '../../src/index.js';

const { fround } = reference;

describe('named vectors', () => {
  it('affine uint8 worked example: Rmin −10, Rmax 30 → S = 40/255, Z = 64, R = 30 → Q = 255', async () => {
    // S = (30 − (−10)) / (255 − 0) = 40/255; Z = rne(0 − (−10)/S) = rne(63.75) = 64;
    // Q(30) = rne(30/S) + 64 = rne(191.25) + 64 = 255; Q(−10) = rne(−63.75) + 64 = 0.
    const x = new Float32Array([-10, 0, 30]);
    const q = await quantize(x, [3], { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' });
    expect(q.scales[0]).toBe(fround(40 / 255));
    expect(q.zeroPoints[0]).toBe(64);
    expect(Array.from(q.codes)).toEqual([0, 64, 255]);
  });

  it('FBGEMM tie: pytorch multiplies by 1/s and lands on 127.5 → 128; onnx divides → 127', async () => {
    // Source: the FBGEMM / PyTorch discussion of x·(1/s) vs x/s; in float32,
    // f32(0.273939937 · f32(1/0.00214854861)) = 127.5 exactly, while f32(0.273939937 / 0.00214854861) = 127.499992.
    const x = new Float32Array([0.273939937]);
    const params = { dtype: 'uint8' as const, scales: [0.00214854861], zeroPoints: [0] };
    const viaInverse = fround(fround(0.273939937) * fround(1 / fround(0.00214854861)));
    expect(viaInverse).toBe(127.5);
    expect(fround(fround(0.273939937) / fround(0.00214854861))).toBeLessThan(127.5);
    expect((await quantizeWithParams(x, [1], { ...params, profile: 'pytorch' })).codes[0]).toBe(128);
    expect((await quantizeWithParams(x, [1], { ...params, profile: 'onnx' })).codes[0]).toBe(127);
  });

  it('ggml Q8_0 block [127, 2.5, −2.5, 0.5, 0, …] → d = 1, codes 127, 3, −3, 1 (ties away from zero)', async () => {
    // d = 127/127 = 1, id = 1: roundf gives 3, −3, 1 where round-half-even would give 2, −2, 0.
    const x = new Float32Array(32);
    x.set([127, 2.5, -2.5, 0.5]);
    const q = await quantize(x, [32], { dtype: 'int8', symmetric: true, granularity: 'group', profile: 'ggml' });
    expect(q.scales[0]).toBe(1);
    expect(Array.from(q.codes.slice(0, 5))).toEqual([127, 3, -3, 1, 0]);
  });

  it('ggml Q4_0: d = max/−8 of the first largest magnitude, codes trunc(x·id + 8.5) − 8', async () => {
    // Largest magnitudes 8 and −8 tie: the first (8) wins, d = 8/−8 = −1, id = −1.
    // 8 → trunc(−8 + 8.5) − 8 = −8; −8 → min(15, trunc(16.5)) − 8 = 7; 2.5 → trunc(6) − 8 = −2;
    // −2.5 → trunc(11) − 8 = 3; 0.5 → trunc(8) − 8 = 0.
    const x = new Float32Array(32);
    x.set([8, -8, 2.5, -2.5, 0.5]);
    const q = await quantize(x, [1, 32], { dtype: 'int4', symmetric: true, granularity: 'group', profile: 'ggml' });
    expect(q.scales[0]).toBe(-1);
    expect(Array.from(q.codes.slice(0, 6))).toEqual([-8, 7, -2, 3, 0, 0]);
  });

  it('ggml stores d rounded to float16 (nearest even) but quantizes with the float32 d', async () => {
    // amax = 127·d with d = 1 + 3·2^−12 (exact in float32); float16 keeps 10 mantissa bits, so the
    // stored d is 1 + 2^−10 (0.75 ulp rounds up). x = 126.51·d: x/d ≈ 126.51 → 127 with the float32
    // d, while x/(1 + 2^−10) ≈ 126.48 would give 126.
    const d = 1 + 3 * 2 ** -12;
    const x = new Float32Array(32);
    x.set([127 * d, 126.51 * d]);
    const q = await quantize(x, [32], { dtype: 'int8', symmetric: true, granularity: 'group', profile: 'ggml' });
    expect(q.scales[0]).toBe(1 + 2 ** -10);
    expect(Array.from(q.codes.slice(0, 2))).toEqual([127, 127]);
  });
});

describe('ties at ±k.5 for every profile', () => {
  // Every scale here is an exact power of two, so x/scale and x·(1/scale) are both exact ties.
  const ties = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 6.5, -6.5];
  const cases: [Profile, QuantDType, boolean, number[], number[]][] = [
    // onnx int8 sym: max |x| = 127 → scale 254/254 = 1; round half to even.
    ['onnx', 'int8', true, [127, ...ties], [127, 0, 2, 2, 0, -2, -2, 6, -6]],
    // onnx uint8 asym: [−128, 127] → scale 1, zp = 0 − (−128) = 128; codes = rne(x) + 128.
    ['onnx', 'uint8', false, [-128, 127, ...ties], [0, 255, 128, 130, 130, 128, 126, 126, 134, 122]],
    // pytorch int8 sym: amax 127.5 → scale 1; round half to even.
    ['pytorch', 'int8', true, [127.5, ...ties], [127, 0, 2, 2, 0, -2, -2, 6, -6]],
    // pytorch uint4 affine: [−8, 7] → scale 15/15 = 1, zp = 0 − rne(−8) = 8.
    ['pytorch', 'uint4', false, [-8, 7, ...ties], [0, 15, 8, 10, 10, 8, 6, 6, 14, 2]],
  ];
  it.each(cases)('%s %s symmetric=%s', async (profile, dtype, symmetric, values, expected) => {
    const x = Float32Array.from(values);
    const q = await quantize(x, [x.length], { dtype, symmetric, granularity: 'tensor', profile });
    expect(q.scales[0]).toBe(1);
    expect(Array.from(q.codes)).toEqual(expected);
  });

  it('ggml Q8_0 rounds ties away from zero, Q4_0 rounds them up', async () => {
    const x = new Float32Array(32);
    x.set([127, ...ties]);
    const q8 = await quantize(x, [32], { dtype: 'int8', symmetric: true, granularity: 'group', profile: 'ggml' });
    expect(Array.from(q8.codes.slice(0, 9))).toEqual([127, 1, 2, 3, -1, -2, -3, 7, -7]);
    // Q4_0 with max −8 → d = 1: trunc(x + 8.5) − 8 is floor(x + 0.5) for x ≥ −8.5.
    x.set([-8, ...ties]);
    const q4 = await quantize(x, [32], { dtype: 'int4', symmetric: true, granularity: 'group', profile: 'ggml' });
    expect(q4.scales[0]).toBe(1);
    expect(Array.from(q4.codes.slice(0, 9))).toEqual([-8, 1, 2, 3, 0, -1, -2, 7, -6]);
  });
});

describe('scale and zero-point rules', () => {
  it('onnx symmetric uses the restricted range: uint8 [0, 254] zp 127, int4 [−7, 7], uint4 [0, 14] zp 7', async () => {
    const x = new Float32Array([-1, 0, 1]);
    const u8 = await quantize(x, [3], { dtype: 'uint8', symmetric: true, granularity: 'tensor', profile: 'onnx' });
    expect([u8.scales[0], u8.zeroPoints[0], ...u8.codes]).toEqual([fround(2 / 254), 127, 0, 127, 254]);
    const i4 = await quantize(x, [3], { dtype: 'int4', symmetric: true, granularity: 'tensor', profile: 'onnx' });
    expect([i4.scales[0], ...i4.codes]).toEqual([fround(2 / 14), -7, 0, 7]);
    const u4 = await quantize(x, [3], { dtype: 'uint4', symmetric: true, granularity: 'tensor', profile: 'onnx' });
    expect([u4.zeroPoints[0], ...u4.codes]).toEqual([7, 0, 7, 14]);
  });

  it('pytorch symmetric unsigned zero points are 128 and 8; scales never drop below 2^−23', async () => {
    const zeros = new Float32Array(4);
    const u8 = await quantize(zeros, [4], { dtype: 'uint8', symmetric: true, granularity: 'tensor', profile: 'pytorch' });
    expect([u8.scales[0], u8.zeroPoints[0]]).toEqual([2 ** -23, 128]);
    const u4 = await quantize(zeros, [4], { dtype: 'uint4', symmetric: true, granularity: 'tensor', profile: 'pytorch' });
    expect([u4.zeroPoints[0], ...u4.codes]).toEqual([8, 8, 8, 8, 8]);
  });

  it('an all-zero channel gets scale 1 under onnx and codes at the zero point', async () => {
    const x = new Float32Array([0, 0, 0, 1, -2, 3]);
    const q = await quantize(x, [2, 3], { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'onnx' });
    expect(q.scales[0]).toBe(1);
    expect(q.zeroPoints[0]).toBe(0);
    expect(Array.from(q.codes.slice(0, 3))).toEqual([0, 0, 0]);
    // Channel 1: [−2, 3] → scale 5/255, zp = rne(0 − (−2)/(5/255)) = rne(102) = 102.
    expect(q.scales[1]).toBe(fround(5 / 255));
    expect(q.zeroPoints[1]).toBe(102);
  });

  it('ranges always include zero: an all-positive tensor still maps 0 to the zero point', async () => {
    const x = new Float32Array([2, 4]);
    const q = await quantize(x, [2], { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' });
    // rmin = min(2, 0) = 0 → zp 0, scale 4/255, 4 → 255.
    expect([q.zeroPoints[0], q.scales[0], q.codes[1]]).toEqual([0, fround(4 / 255), 255]);
  });

  it('quantizeWithParams saturates to the full type range (onnx symmetric calibration does not)', async () => {
    const x = new Float32Array([-1000, 1000]);
    const q = await quantizeWithParams(x, [2], { dtype: 'int8', scales: [1] });
    expect(Array.from(q.codes)).toEqual([-128, 127]);
    expect(q.scheme).toEqual({ dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' });
  });

  it('quantizeWithParams: per-channel with an axis, blocked with an axis and a block size', async () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    const perChannel = await quantizeWithParams(x, [2, 3], { dtype: 'int8', scales: [1, 2], axis: 0 });
    expect(Array.from(perChannel.codes)).toEqual([1, 2, 3, 2, 2, 3]); // 4/2 = 2, 5/2 → 2, 6/2 = 3
    const blocked = await quantizeWithParams(x, [2, 3], {
      dtype: 'uint8', scales: [1, 0.5, 1, 0.5], zeroPoints: [10, 0, 10, 0], axis: 1, blockSize: 2,
    });
    expect(Array.from(blocked.codes)).toEqual([11, 12, 6, 14, 15, 12]);
    expect(blocked.scheme.symmetric).toBe(false);
  });
});

describe('dequantize', () => {
  it('computes S·(Q − Z) in float32', async () => {
    const x = new Float32Array([-10, 0, 30]);
    const scheme: QuantScheme = { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' };
    const y = await dequantize(await quantize(x, [3], scheme));
    const s = fround(40 / 255);
    expect(Array.from(y)).toEqual([fround(s * -64), 0, fround(s * 191)]);
  });
});
