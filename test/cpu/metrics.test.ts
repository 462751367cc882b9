import { describe, expect, it } from 'vitest';
import { dequantize, errorMetrics, quantize } from '../../src/index.js';

describe('errorMetrics', () => {
  // x = [[1, 2], [3, 4]], y differs only at (1, 1) by 1: Σe² = 1, Σx² = 30.
  const x = Float32Array.from([1, 2, 3, 4]);
  const y = Float32Array.from([1, 2, 3, 5]);

  it('per tensor: MSE, max abs error and SQNR in dB', () => {
    const m = errorMetrics(x, y, [2, 2]);
    expect(m.mse).toBe(0.25);
    expect(m.maxAbsError).toBe(1);
    expect(m.sqnrDb).toBeCloseTo(10 * Math.log10(30), 12);
  });

  it('per channel along axis 0 and along axis 1', () => {
    const rows = errorMetrics(x, y, [2, 2], 0);
    expect(rows.perChannel.map((c) => c.mse)).toEqual([0, 0.5]);
    expect(rows.perChannel[0]?.sqnrDb).toBe(Infinity);
    expect(rows.perChannel[1]?.sqnrDb).toBeCloseTo(10 * Math.log10(25), 12);
    const cols = errorMetrics(x, y, [2, 2], 1);
    expect(cols.channelAxis).toBe(1);
    expect(cols.perChannel[1]?.sqnrDb).toBeCloseTo(10 * Math.log10(20), 12);
  });

  it('an exact reconstruction has infinite SQNR; an empty tensor has zero error', () => {
    expect(errorMetrics(x, x, [4]).sqnrDb).toBe(Infinity);
    const empty = errorMetrics(new Float32Array(0), new Float32Array(0), [0, 3]);
    expect([empty.mse, empty.maxAbsError, empty.perChannel.length]).toEqual([0, 0, 0]);
    expect(errorMetrics(Float32Array.of(2), Float32Array.of(1), []).perChannel.length).toBe(1);
  });
});

describe('quantize(…, { metrics })', () => {
  const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * (1 + (i % 4)));
  const shape = [4, 6];

  it('measures the reconstruction that dequantize gives, along the per-channel axis by default', async () => {
    const scheme = { dtype: 'int4', symmetric: true, granularity: 'channel', axis: 1, profile: 'onnx' } as const;
    const q = await quantize(x, shape, scheme, { metrics: true });
    expect(q.metrics).toEqual(errorMetrics(x, await dequantize(q), shape, 1));
    const rows = await quantize(x, shape, { dtype: 'int4', symmetric: true, granularity: 'tensor', profile: 'onnx' }, { metrics: { axis: -2 } });
    expect(rows.metrics?.channelAxis).toBe(0);
    expect(rows.metrics?.perChannel.length).toBe(4);
  });

  it('leaves metrics out unless asked, and rejects an axis out of range', async () => {
    const scheme = { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' } as const;
    expect((await quantize(x, shape, scheme)).metrics).toBeUndefined();
    await expect(quantize(x, shape, scheme, { metrics: { axis: 2 } })).rejects.toThrow(/options.metrics.axis 2 is out of range/);
  });
});
