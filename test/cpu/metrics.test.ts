import { describe, expect, it } from 'vitest';
import { errorMetrics } from '../../src/index.js';

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
