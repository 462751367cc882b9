// The clipped count, whole and a chunk at a time, against counts worked out by hand: an element is
// clipped when it lies more than half a step outside [s·(qmin − z), s·(qmax − z)].
import { describe, expect, it } from 'vitest';
import type { QuantScheme, QuantizedTensor } from '../../src/index.js';
import { resolveScheme } from '../../src/schemes/resolve.js';
import { clippedCount, clippedCounter } from '../../src/model/report.js';

interface Case {
  name: string;
  shape: number[];
  scheme: QuantScheme;
  scales: number[];
  zeroPoints: number[];
  x: number[];
  /** Which elements are clipped, worked out by hand. */
  clipped: number[];
}

const cases: Case[] = [
  {
    // onnx symmetric int8: rows of scale 1 and 0.5 → limits ±127.5 and ±63.75.
    name: 'per channel along axis 0',
    shape: [2, 3],
    scheme: { dtype: 'int8', symmetric: true, granularity: 'channel', axis: 0, profile: 'onnx' },
    scales: [1, 0.5],
    zeroPoints: [0, 0],
    x: [127.5, -127.6, 0, 63.75, 63.8, -64],
    clipped: [1, 4, 5],
  },
  {
    // pytorch int4 symmetric: codes [-8, 7], limits [-8.5·s, 7.5·s]. Blocks of 4 along each row of
    // 6 (a block of 4, then one of 2): scales 1, 2 in row 0 and 0.25, 4 in row 1.
    name: 'groups along the last axis, the last block short',
    shape: [2, 6],
    scheme: { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 4, axis: 1, profile: 'pytorch' },
    scales: [1, 2, 0.25, 4],
    zeroPoints: [0, 0, 0, 0],
    x: [7.5, 7.6, -8.5, -8.6, 15, 15.1, 1.875, 1.9, -2.2, 0, -34, 30.5],
    clipped: [1, 3, 5, 7, 8, 11],
  },
  {
    // onnx symmetric int8: codes [-127, 127]; columns of scale 1, 0.5 and 2 → limits ±127.5, ±63.75, ±255.
    name: 'per channel along axis 1',
    shape: [4, 3],
    scheme: { dtype: 'int8', symmetric: true, granularity: 'channel', axis: 1, profile: 'onnx' },
    scales: [1, 0.5, 2],
    zeroPoints: [0, 0, 0],
    x: [127.5, 63.7, 255, 127.6, 64, 256, -127.6, -70, -255.5, 0, -63.75, 1],
    clipped: [3, 4, 5, 6, 7, 8],
  },
  {
    // onnx uint8, zero point 3, scale 0.5: codes [0, 255] → [-1.5, 126], so limits -1.75 and 126.25.
    name: 'per tensor, asymmetric',
    shape: [2, 4],
    scheme: { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' },
    scales: [0.5],
    zeroPoints: [3],
    x: [-1.75, -1.8, 126.25, 126.3, 0, 50, -100, 1000],
    clipped: [1, 3, 6, 7],
  },
  {
    // pytorch int4 symmetric: codes [-8, 7]. Blocks of 2 rows along axis 0 of [4, 2]: block row 0
    // has scales 1, 2 (limits [-8.5, 7.5], [-17, 15]); block row 1 has 0.25, 4 ([-2.125, 1.875], [-34, 30]).
    name: 'groups along axis 0',
    shape: [4, 2],
    scheme: { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 2, axis: 0, profile: 'pytorch' },
    scales: [1, 2, 0.25, 4],
    zeroPoints: [0, 0, 0, 0],
    x: [7.6, 15, -8.5, -17.1, 1.9, 30, -2.125, -34.5],
    clipped: [0, 3, 4, 7],
  },
];

describe('clippedCount and clippedCounter', () => {
  it.each(cases)('$name: whole, and split at every element', ({ shape, scheme, scales, zeroPoints, x, clipped }) => {
    const resolved = resolveScheme(shape, scheme).scheme;
    const params = { scales: Float32Array.from(scales), zeroPoints: Int32Array.from(zeroPoints) };
    const values = Float32Array.from(x);
    const q = { shape, scheme: resolved, ...params } as QuantizedTensor;
    expect(clippedCount(values, q)).toBe(clipped.length);
    const count = clippedCounter(shape, resolved, params);
    for (let cut = 0; cut <= x.length; cut++) {
      const head = count(values.subarray(0, cut), 0);
      const tail = count(values.subarray(cut), cut);
      expect([cut, head, tail]).toEqual([cut, clipped.filter((i) => i < cut).length, clipped.filter((i) => i >= cut).length]);
    }
  });
});
