import { describe, expect, it } from 'vitest';
import { reference } from '../../src/index.js';
import { loadOracle } from '../data/oracle.js';

const { codesOfPacked, f32ToF16Bits, f16BitsToF32, packCodes, unpackCodes, roundHalfEven, roundHalfAway } = reference;

describe('float16 rounding', () => {
  it.each([
    [65504, 0x7bff], // largest finite half
    [65520, 0x7c00], // halfway to 65536: ties to even, which is Inf
    [65519.99, 0x7bff],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: ties to even (0)
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even (2)
    [2 ** -14 - 2 ** -25, 0x0400], // 1023.5 steps rounds up into the smallest normal
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: even is 1
    [1 + 3 * 2 ** -11, 0x3c02], // tie: even is 1 + 2^-9
    [-0, 0x8000],
    [-1.5, 0xbe00],
    [Infinity, 0x7c00],
    [1e10, 0x7c00],
  ])('%s → half bits %i', (x, bits) => {
    expect(f32ToF16Bits(x)).toBe(bits);
  });

  it('NaN stays NaN', () => {
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it("matches Python's struct 'e' conversion on 2 199 values (test/data/oracle.py)", () => {
    const { f16 } = loadOracle();
    const f = new Float32Array(new Uint32Array(f16.map(([b]) => b)).buffer);
    const got = Array.from(f, (v) => f32ToF16Bits(v));
    expect(got).toEqual(f16.map(([, h]) => h));
    for (const [, h] of f16) {
      if ((h & 0x7c00) !== 0x7c00) expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
    }
  });
});

describe('rounding', () => {
  it('round half to even', () => {
    expect([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999998].map(roundHalfEven)).toEqual([-4, -2, -2, -0, 0, 2, 2, 4, 2]);
  });
  it('round half away from zero, without the 0.49999997 + 0.5 trap', () => {
    expect([-2.5, -0.5, 0.5, 2.5, 0.49999997, -0.49999997].map(roundHalfAway)).toEqual([-3, -1, 1, 3, 0, -0]);
  });
});

describe('packing', () => {
  it('four int8 codes per word, element 0 in the lowest byte', () => {
    // bytes 01 FF 02 FE → 0xFE02FF01; the fifth code 0x7F starts a zero-filled word.
    expect(Array.from(packCodes(Int8Array.from([1, -1, 2, -2, 127]), 8))).toEqual([0xfe02ff01, 0x7f]);
  });
  it('eight int4 codes per word, element 0 in the lowest nibble', () => {
    // nibbles 8 F 0 1 7 2 3 4 (from element 0 up) → 0x432710F8; the ninth (5) starts a new word.
    expect(Array.from(packCodes(Int8Array.from([-8, -1, 0, 1, 7, 2, 3, 4, 5]), 4))).toEqual([0x432710f8, 0x5]);
  });
  it('uint4 and uint8 codes', () => {
    expect(Array.from(packCodes(Uint8Array.from([15, 0, 9]), 4))).toEqual([0x90f]);
    expect(Array.from(packCodes(Uint8Array.from([255, 128]), 8))).toEqual([0x80ff]);
  });
  it('unpacks what it packs', () => {
    const codes = Int8Array.from({ length: 37 }, (_, i) => ((i * 5) % 16) - 8);
    expect(Array.from(unpackCodes(packCodes(codes, 4), 4, 37, true))).toEqual(Array.from(codes));
    const bytes = Uint8Array.from({ length: 9 }, (_, i) => i * 29);
    expect(Array.from(unpackCodes(packCodes(bytes, 8), 8, 9, false))).toEqual(Array.from(bytes));
  });
  it('reads codes from words: 0xFE02FF01, 0x7F hold 1, −1, 2, −2, 127 (a view for 8-bit codes)', () => {
    const words = Uint32Array.of(0xfe02ff01, 0x7f);
    const signed = codesOfPacked(words, 8, 5, true);
    expect(Array.from(signed)).toEqual([1, -1, 2, -2, 127]);
    expect(signed.buffer).toBe(words.buffer);
    expect(Array.from(codesOfPacked(words, 8, 5, false))).toEqual([1, 255, 2, 254, 127]);
    expect(Array.from(codesOfPacked(Uint32Array.of(0x432710f8, 0x5), 4, 9, true))).toEqual([-8, -1, 0, 1, 7, 2, 3, 4, 5]);
  });
});
