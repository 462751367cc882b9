// The 'mse' and 'percentile' calibrators against test/data/calibration-vectors.json, written by
// test/data/calibration_oracle.py: llm-compressor's MSE observer and numpy's inverted-CDF
// percentile, reimplemented in numpy from their published formulas.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quantize, type QuantScheme } from '../../src/index.js';

interface CalibrationCase {
  name: string;
  shape: number[];
  scheme: QuantScheme;
  /** float32 bit patterns. */
  input: number[];
  scales: number[];
  zeroPoints: number[];
}

const { cases } = JSON.parse(
  readFileSync(new URL('../data/calibration-vectors.json', import.meta.url), 'utf8'),
) as { cases: CalibrationCase[] };

const bitsOf = (v: Float32Array): number[] => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

describe('mse and percentile calibration equal the independent oracle', () => {
  it('has a few dozen cases of each method over every dtype, symmetry and granularity', () => {
    const mse = cases.filter((c) => c.scheme.calibration === 'mse');
    expect(mse.length).toBeGreaterThanOrEqual(24);
    expect(cases.length - mse.length).toBeGreaterThanOrEqual(24);
    expect(new Set(cases.map((c) => `${c.scheme.dtype} ${c.scheme.symmetric} ${c.scheme.granularity}`)).size).toBeGreaterThan(12);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const x = new Float32Array(new Uint32Array(c.input).buffer);
    const q = await quantize(x, c.shape, c.scheme, { backend: 'reference' });
    expect(bitsOf(q.scales)).toEqual(c.scales);
    expect(Array.from(q.zeroPoints)).toEqual(c.zeroPoints);
  });
});
