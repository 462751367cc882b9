// Scalar float32 helpers. JavaScript computes in float64; every helper here returns exactly what a
// float32 machine (and WGSL) would, so the reference never depends on float64 intermediates.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export const fround = Math.fround;

/** IEEE-754 bit pattern of `x` rounded to float32. */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0] ?? 0;
}

/** Round half to even, like WGSL `round`, C `nearbyint` and `torch.round`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends halves up; a half that landed on an odd integer must go down instead.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Round half away from zero, like C `roundf` (ggml's Q8_0). */
export function roundHalfAway(x: number): number {
  // In float64, |x| + 0.5 is exact for any float32 |x| < 2^29, so 0.49999997 does not round up.
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/**
 * float32 → float16 bits, rounding to nearest even in integer arithmetic (what ggml's
 * `GGML_FP32_TO_FP16` and F16C's `_cvtss_sh(x, 0)` do); overflow gives ±Inf.
 */
export function f32ToF16Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent, up to Inf (0x7c00).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

/** float16 bits → the value (exactly representable in float32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let f16Table: Uint32Array | undefined;

/**
 * float32 bit patterns of all 65 536 float16 patterns: subnormals normalised, and Inf and NaN kept
 * with their sign and payload (as numpy and PyTorch widen), since writing a NaN through a JS
 * number could canonicalise it. Built once, on first use.
 */
export function f16ToF32BitsTable(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) {
      table[h] = sign | 0x7f800000 | (mant << 13);
    } else if (exp !== 0) {
      table[h] = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 → 127
    } else if (mant === 0) {
      table[h] = sign;
    } else {
      let e = 113; // a subnormal's 2^-14 scale, as a float32 biased exponent, before normalising
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      table[h] = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
  }
  f16Table = table;
  return table;
}

/** `x` rounded to the nearest float16 (ties to even), as a number. */
export function roundToF16(x: number): number {
  return f16BitsToF32(f32ToF16Bits(x));
}
