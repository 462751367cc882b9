// The 'mse' and 'percentile' calibrators beyond the oracle's vectors: the same bits whole and
// streamed, the properties their definitions promise, and every error a user can reach.
import { describe, expect, it } from 'vitest';
import {
  dequantize, errorMetrics, quantize, quantizeStream, quantizeWithParams, type QuantizedTensor, type QuantScheme,
} from '../../src/index.js';
import { randomNormal } from '../../src/synthetic.js';

const shape = [13, 70];
const x = randomNormal(13 * 70, 3);
for (let i = 0; i < x.length; i += 37) x[i] = (x[i] as number) * 11;

const schemes: QuantScheme[] = (['onnx', 'pytorch'] as const).flatMap((profile) =>
  (['int4', 'uint8'] as const).flatMap((dtype) =>
    [true, false].flatMap((symmetric) => [
      { dtype, symmetric, profile, granularity: 'tensor' as const },
      { dtype, symmetric, profile, granularity: 'channel' as const, axis: 1 },
      { dtype, symmetric, profile, granularity: 'group' as const, blockSize: 16 },
    ])));

async function streamed(scheme: QuantScheme, chunkElements: number): Promise<{ scales: Float32Array; codes: number[] }> {
  const codes: number[] = new Array<number>(x.length);
  const r = await quantizeStream({ read: async (s, n) => x.slice(s, s + n) }, shape, scheme, {
    backend: 'reference', chunkElements, onChunk: (c) => c.codes.forEach((v, j) => { codes[c.start + j] = v; }),
  });
  return { scales: r.scales, codes };
}

/** Σ|x − dq|^norm of a result, in float64. */
async function normError(q: QuantizedTensor, norm: number): Promise<number> {
  const y = await dequantize(q);
  return x.reduce((s, v, i) => s + Math.abs(v - (y[i] as number)) ** norm, 0);
}

describe('mse and percentile calibration', () => {
  it.each(schemes.map((s) => [`${s.profile} ${s.dtype} ${s.symmetric ? 'sym' : 'asym'} ${s.granularity}`, s] as const))(
    '%s: the same scales and codes whole and in chunks that cut channels and groups', async (_n, s) => {
      for (const calibration of ['mse', 'percentile']) {
        const scheme = { ...s, calibration, ...(calibration === 'percentile' ? { percentile: 97 } : {}) };
        const whole = await quantize(x, shape, scheme, { backend: 'reference' });
        const fast = await quantize(x, shape, scheme, { backend: 'cpu' });
        expect(Array.from(fast.scales)).toEqual(Array.from(whole.scales));
        expect(Array.from(fast.codes)).toEqual(Array.from(whole.codes));
        for (const chunk of [8, 328]) {
          const r = await streamed(scheme, chunk);
          expect(Array.from(r.scales)).toEqual(Array.from(whole.scales));
          expect(r.codes).toEqual(Array.from(whole.codes));
        }
      }
    });

  it('mse keeps the min/max range as its first candidate, so its Σ|x − dq|^norm is never larger, and clips outliers at 4 bits', async () => {
    for (const s of schemes.filter((v) => v.granularity !== 'group')) {
      const plain = await quantize(x, shape, s);
      const q = await quantize(x, shape, { ...s, calibration: 'mse', mse: { norm: 2 } });
      expect(await normError(q, 2)).toBeLessThanOrEqual(await normError(plain, 2));
    }
    const s: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'channel', profile: 'pytorch' };
    const plain = await quantize(x, shape, s);
    const q = await quantize(x, shape, { ...s, calibration: 'mse' });
    expect(Array.from(q.scales).some((v, p) => v < (plain.scales[p] as number))).toBe(true);
    expect(errorMetrics(x, await dequantize(q), shape).sqnrDb).toBeGreaterThan(errorMetrics(x, await dequantize(plain), shape).sqnrDb);
  });

  it('percentile 100 is min/max bit for bit; lower percentiles shrink the range', async () => {
    for (const s of schemes) {
      const plain = await quantize(x, shape, s);
      const full = await quantize(x, shape, { ...s, calibration: 'percentile', percentile: 100 });
      expect(Array.from(full.scales)).toEqual(Array.from(plain.scales));
      expect(Array.from(full.zeroPoints)).toEqual(Array.from(plain.zeroPoints));
      expect(Array.from(full.codes)).toEqual(Array.from(plain.codes));
      const clipped = await quantize(x, shape, { ...s, calibration: 'percentile', percentile: 90 });
      expect(Array.from(clipped.scales).every((v, p) => v <= (plain.scales[p] as number))).toBe(true);
    }
  });

  it('a grid of one step with maxShrink 1 is min/max; a coarse grid picks among its own candidates', async () => {
    const s: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'tensor', profile: 'onnx' };
    const plain = await quantize(x, shape, s);
    const one = await quantize(x, shape, { ...s, calibration: 'mse', mse: { grid: 1, maxShrink: 1 } });
    expect(Array.from(one.scales)).toEqual(Array.from(plain.scales));
    // grid 4, maxShrink 1: p in {1, 0.75, 0.5, 0.25}, so the scale is one of those multiples of max|x|/7.
    const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const coarse = await quantize(x, shape, { ...s, calibration: 'mse', mse: { grid: 4, maxShrink: 1 } });
    const allowed = [1, 0.75, 0.5, 0.25].map((p) => Math.fround(Math.fround(Math.fround(p * amax) * 2) / 14));
    expect(allowed).toContain(coarse.scales[0]);
  });

  it('fills in the defaults, which the result reports', async () => {
    const s: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' };
    expect((await quantize(x, shape, { ...s, calibration: 'mse' })).scheme.mse).toEqual({ grid: 100, maxShrink: 0.2, norm: 2.4 });
    expect((await quantize(x, shape, { ...s, calibration: 'mse', mse: { norm: 3 } })).scheme.mse).toEqual({ grid: 100, maxShrink: 0.2, norm: 3 });
    expect((await quantize(x, shape, { ...s, calibration: 'percentile' })).scheme.percentile).toBe(99.9);
  });

  it('refuses bad options, naming the field', async () => {
    const s: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'tensor', profile: 'onnx' };
    const bad: [Partial<QuantScheme>, RegExp, string][] = [
      [{ calibration: 'kl' }, /scheme.calibration must be one of minmax, mse, percentile; got kl/, 'scheme.calibration'],
      [{ calibration: 'percentile', percentile: 0 }, /scheme.percentile must be in \(0, 100\]; got 0/, 'scheme.percentile'],
      [{ calibration: 'percentile', percentile: 100.5 }, /must be in \(0, 100\]/, 'scheme.percentile'],
      [{ calibration: 'percentile', percentile: NaN }, /must be in \(0, 100\]/, 'scheme.percentile'],
      [{ percentile: 99 }, /scheme.percentile applies only to calibration 'percentile'; calibration is minmax/, 'scheme.percentile'],
      [{ calibration: 'mse', mse: { grid: 0 } }, /scheme.mse.grid must be an integer >= 1; got 0/, 'scheme.mse.grid'],
      [{ calibration: 'mse', mse: { grid: 2.5 } }, /scheme.mse.grid must be an integer >= 1/, 'scheme.mse.grid'],
      [{ calibration: 'mse', mse: { norm: 0 } }, /scheme.mse.norm must be a finite number > 0; got 0/, 'scheme.mse.norm'],
      [{ calibration: 'mse', mse: { norm: -1 } }, /scheme.mse.norm must be a finite number > 0/, 'scheme.mse.norm'],
      [{ calibration: 'mse', mse: { maxShrink: 1.5 } }, /scheme.mse.maxShrink must be in \(0, 1\]/, 'scheme.mse.maxShrink'],
      [{ calibration: 'mse', mse: { grid: 2, maxShrink: 0.2 } }, /scheme.mse.maxShrink × grid must be at least 1/, 'scheme.mse.maxShrink'],
      [{ calibration: 'mse', mse: { steps: 3 } as never }, /scheme.mse.steps is not an option/, 'scheme.mse.steps'],
      [{ mse: { grid: 10 } }, /scheme.mse applies only to calibration 'mse'/, 'scheme.mse'],
    ];
    for (const [extra, message, field] of bad) {
      const err = await quantize(x, shape, { ...s, ...extra }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'QuantizationError', field });
      expect((err as Error).message).toMatch(message);
    }
  });

  it('refuses calibration other than min/max for ggml, and given scales with mse', async () => {
    const q40: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
    for (const calibration of ['mse', 'percentile']) {
      await expect(quantize(new Float32Array(64), [2, 32], { ...q40, calibration })).rejects.toMatchObject({
        field: 'scheme.calibration',
        message: expect.stringMatching(new RegExp(`${calibration} is not available for the ggml profile: Q4_0 keeps llama.cpp's formulas`)),
      });
    }
    await expect(quantizeWithParams(x, shape, { dtype: 'int8', scales: [0.1], calibration: 'mse' })).rejects.toMatchObject({
      field: 'params.calibration', message: expect.stringMatching(/params.calibration mse searches the data for scales/),
    });
    await expect(quantizeWithParams(x, shape, { dtype: 'int8', scales: [0.1], calibration: 'minmax' })).resolves.toBeDefined();
  });

  it('quantizes an empty tensor', async () => {
    const q = await quantize(new Float32Array(0), [0, 4], { dtype: 'int8', symmetric: false, granularity: 'channel', axis: 1, profile: 'onnx', calibration: 'percentile' });
    expect(q.scales.length).toBe(4);
    const m = await quantize(new Float32Array(0), [0, 4], { dtype: 'int8', symmetric: false, granularity: 'channel', axis: 1, profile: 'onnx', calibration: 'mse' });
    expect(m.scales.length).toBe(4);
  });
});
