// The fast engine's rounding (tie-to-even by adding and subtracting 1.5·2^52, Q8_0's ties moved
// away from zero, codes stored through a byte view) equals the reference's Math.round-based rules
// at their edges: every exact half across and beyond each code range, magnitudes past 2^51 and
// float32 overflow, signed zeros, subnormals, and scales whose reciprocal overflows (0·∞ = NaN).
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, quantize, quantizeWithParams, releaseWorkers } from '../../src/index.js';
import type { Profile, QuantDType } from '../../src/index.js';
import { RUNS } from './runs.js';

afterAll(async () => {
  await releaseWorkers();
});

const halves = Array.from({ length: 601 }, (_, i) => (i - 300) / 2);
const edges = [0, -0, 1e-45, -1e-45, 2 ** -126, 2 ** 51, -(2 ** 51), 1.5 * 2 ** 52, -(2 ** 53), 2 ** 60, 3e38, -3e38];
// Each row gets its own scale: 1 (the halves are ties), 1/2, 1/3 (x·inv and x/s differ), a scale
// whose products leave float32's range, and one whose reciprocal is +∞ in float32.
const SCALES = [1, 0.5, Math.fround(1 / 3), 2 ** -126, 1e-45];
const row = Float32Array.from([...halves, ...edges, ...halves.map((h) => h * 2 ** -20)]);
const width = Math.ceil(row.length / 32) * 32;
const x = new Float32Array(SCALES.length * width);
for (let r = 0; r < SCALES.length; r++) x.set(row, r * width);
const shape = [SCALES.length, width];

const CASES: [Profile, QuantDType, number[]][] = [
  ['onnx', 'int8', [0]], ['onnx', 'uint8', [128, 0, 255, 3, 250]], ['onnx', 'int4', [0]], ['onnx', 'uint4', [8, 0, 15, 1, 14]],
  ['pytorch', 'int8', [0]], ['pytorch', 'uint8', [128, 0, 255, 3, 250]], ['pytorch', 'int4', [0]],
  ['pytorch', 'uint4', [8, 0, 15, 1, 14]],
];

describe.each(RUNS)('fast CPU engine, %s: rounding at the edges equals the reference', (_run, engine) => {
  it.each(CASES)('%s %s, per channel', async (profile, dtype, zps) => {
    const params = { dtype, profile, axis: 0, scales: SCALES, zeroPoints: SCALES.map((_, i) => zps[i % zps.length] as number) };
    const ref = await quantizeWithParams(x, shape, params, { backend: 'reference' });
    const fast = await quantizeWithParams(x, shape, params, { backend: 'cpu', ...engine });
    expect(compareQuantized(fast, ref, { input: x }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
  });

  it.each(['int8', 'int4'] as const)('ggml %s: d of both signs, 0, and one whose 1/d overflows', async (dtype) => {
    const d = [1, -1, 0.5, -Math.fround(1 / 3), 0, 2 ** -126, 1e-45, -1e-45];
    const blocks = width / 32;
    const scales = Array.from({ length: SCALES.length * blocks }, (_, i) => d[i % d.length] as number);
    const params = { dtype, profile: 'ggml' as const, axis: 1, blockSize: 32, scales };
    const ref = await quantizeWithParams(x, shape, params, { backend: 'reference' });
    const fast = await quantizeWithParams(x, shape, params, { backend: 'cpu', ...engine });
    expect(compareQuantized(fast, ref, { input: x }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
  });

  it.each(['int8', 'int4'] as const)('ggml %s calibrated: d stored as a float16 subnormal, normal, overflowing, zero', async (dtype) => {
    // One block of 32 per magnitude: d runs from below float16's smallest subnormal past its largest.
    const mags = [0, 1e-12, 3e-8, 6e-5, 0.5, 1, 7, 1000, 6e6, 8.3e6, 9e6, 1e30];
    const y = new Float32Array(mags.length * 64);
    mags.forEach((m, b) => {
      for (let j = 0; j < 64; j++) y[b * 64 + j] = m * (((j * 13) % 29) / 14 - 1) * (j % 2 === 0 ? 1 : -1);
    });
    const scheme = { dtype, symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' } as const;
    const ref = await quantize(y, [mags.length, 64], scheme, { backend: 'reference' });
    const fast = await quantize(y, [mags.length, 64], scheme, { backend: 'cpu', ...engine });
    expect(compareQuantized(fast, ref, { input: y }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
    expect(Array.from(new Uint32Array(fast.scales.buffer))).toEqual(Array.from(new Uint32Array(ref.scales.buffer)));
  });
});
