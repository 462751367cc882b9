// The mse error term's definition (src/schemes/mse.ts): how close its float32 power is to float64
// Math.pow (llm-compressor's |x − dq|^norm), that every term fits 64 bits, and that the 96-bit sums
// are exact (checked against BigInt arithmetic).
import { describe, expect, it } from 'vitest';
import { addTerm, fixedPointBits, powerNorm, powerTerm, sumBelow, TERM_MAX } from '../../src/schemes/mse.js';
import { seededRandom } from '../../src/synthetic.js';

describe('the mse error term', () => {
  it.each([2.4, 2, 1, 3.5, 0.5])('norm %s: within 2e-6 of float64 pow, in units of 2^-F of R^norm', (n) => {
    const norm = powerNorm(n);
    const shift = fixedPointBits(norm);
    const rand = seededRandom(5);
    let worst = 0;
    for (let k = 0; k < 50_000; k++) {
      const eR = 90 + Math.floor(rand() * 70);
      // e from 4·2^(eR − 127) (twice the largest magnitude's binade) down ten binades.
      const e = Math.fround(2 ** (eR - 125) * 2 ** (-rand() * 10));
      const exact = (e / 2 ** (eR - 127)) ** norm * 2 ** shift;
      const t = powerTerm(e, eR, norm, shift);
      expect(t).toBeLessThan(2 ** 64);
      expect(Number.isInteger(t)).toBe(true);
      if (exact >= 2 ** 24) worst = Math.max(worst, Math.abs(t - exact) / exact);
    }
    expect(worst).toBeLessThan(2e-6);
    expect(worst).toBeGreaterThan(0);
  });

  it('zero, non-finite and past-the-bound errors', () => {
    expect(powerTerm(0, 127, 2.4, fixedPointBits(2.4))).toBe(0);
    expect(powerTerm(Infinity, 127, 2.4, fixedPointBits(2.4))).toBe(TERM_MAX);
    expect(powerTerm(NaN, 127, 2.4, fixedPointBits(2.4))).toBe(TERM_MAX);
    // e = 8·2^(eR − 127): the power is 2^(3·norm), T would be 2^64 or more.
    expect(powerTerm(8, 127, 2, fixedPointBits(2))).toBe(TERM_MAX);
    // Far below the parameter's binade a term is 0.
    expect(powerTerm(2 ** -40, 127, 2.4, fixedPointBits(2.4))).toBe(0);
  });

  it('adds terms exactly in three 32-bit words, as BigInt does, and compares the sums', () => {
    const rand = seededRandom(9);
    const sums = new Float64Array(6);
    let big = 0n;
    for (let k = 0; k < 20_000; k++) {
      const t = Math.floor(rand() * 2 ** 24) * 2 ** Math.floor(rand() * 41);
      addTerm(sums, 0, t);
      big += BigInt(t);
    }
    expect(BigInt(sums[0] as number) + (BigInt(sums[1] as number) << 32n) + (BigInt(sums[2] as number) << 64n)).toBe(big);
    expect(sums[2]).toBeGreaterThan(0);
    sums.copyWithin(3, 0, 3);
    expect(sumBelow(sums, 0, 3)).toBe(false);
    addTerm(sums, 3, 1);
    expect(sumBelow(sums, 0, 3)).toBe(true);
    expect(sumBelow(sums, 3, 0)).toBe(false);
  });

  it('takes norms above 4096 as 4096', () => {
    expect(powerNorm(10_000)).toBe(4096);
    expect(powerNorm(2.4)).toBe(Math.fround(2.4));
  });
});
