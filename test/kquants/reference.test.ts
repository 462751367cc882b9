// The K-quant reference against a second implementation written apart from it (independent.ts),
// its round trip through the dequantizers, and its errors.
import { describe, expect, it } from 'vitest';
import { dequantizeK, KQUANTS, type KQuantType, nearestInt, quantizeK } from '../../src/cpu/kquants.js';
import { QuantizationError } from '../../src/errors.js';
import { adversarialBlocks, realWeights, rng } from './fixtures.js';
import { independentK } from './independent.js';

describe('K-quant reference', () => {
  for (const type of ['Q4_K', 'Q5_K', 'Q6_K'] as const) {
    it(`${type} equals the independent implementation on real weights and adversarial blocks`, async () => {
      const inputs = [...(await realWeights('stories260K.gguf')), ...(await realWeights('mnist.safetensors')), ...adversarialBlocks()];
      for (const { name, values } of inputs) {
        expect(Buffer.from(quantizeK(type, values)).equals(Buffer.from(independentK(type, values))), `${type} ${name}`).toBe(true);
      }
    }, 120_000);
  }

  it('nearest_int rounds half to even and wraps past 2^22 as ggml does', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 3.49, 4194303].map(nearestInt)).toEqual([0, 2, 2, 0, -2, 3, 4194303]);
    // 2^22 + 1.5·2^23 = 2^24, whose mantissa bits are all zero: the result wraps to −2^22.
    expect(nearestInt(4194304)).toBe(-4194304);
  });

  for (const type of Object.keys(KQUANTS) as KQuantType[]) {
    it(`${type} reconstructs Gaussian weights within its precision and bits`, () => {
      const r = rng(7);
      const x = Float32Array.from({ length: 4096 }, () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()));
      const bytes = quantizeK(type, x);
      expect(bytes.length).toBe((4096 / 256) * KQUANTS[type].blockBytes);
      const y = dequantizeK(type, bytes);
      let num = 0;
      let den = 0;
      x.forEach((v, i) => {
        num += v * v;
        den += (v - (y[i] as number)) ** 2;
      });
      // About 6 dB per bit, less the K-quants' clipping of the tails: a floor per type.
      const floor = { Q2_K: 5, Q3_K: 12, Q4_K: 18, Q5_K: 24, Q6_K: 30 }[type];
      expect(10 * Math.log10(num / den)).toBeGreaterThan(floor);
    });
  }

  it('refuses partial super-blocks, non-finite weights and short blocks, naming them', () => {
    expect(() => quantizeK('Q4_K', new Float32Array(100))).toThrow(/whole super-blocks of 256 weights; got 100/);
    const x = new Float32Array(512);
    x[300] = NaN;
    try {
      quantizeK('Q6_K', x, 1000);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(QuantizationError);
      expect((err as QuantizationError).index).toBe(1300);
      expect((err as Error).message).toMatch(/element 1300 is NaN/);
    }
    x[300] = -Infinity;
    expect(() => quantizeK('Q2_K', x)).toThrow(/element 300 is -Infinity/);
    expect(() => dequantizeK('Q5_K', new Uint8Array(175))).toThrow(/176 bytes; got 175/);
  });
});
