// The MSE calibrator: llm-compressor's `mse` observer (MovingAverageMSEObserver's
// calculate_mse_min_max), with the scheme's own profile turning each candidate range into a scale
// and zero point. Each parameter's range [min, max] is shrunk by p = 1 − i/grid for
// i = 0 … trunc(maxShrink·grid) − 1; every candidate quantizes the parameter's elements and the one
// with the least Σ|x − dq(q(x))|^norm is kept.
//
// The error is defined so that the GPU (shaders/mse_term.wgsl) computes it bit for bit and no
// summation order can change the choice:
// - a candidate's range is fround(fround(p)·min), fround(fround(p)·max): PyTorch multiplies a
//   float32 tensor by a Python float in float32, the scalar rounded first;
// - e = ftz(|ftz(x) − dq|), dq = ftz(ftz(S)·(Q − Z)) in float32, where ftz sends a subnormal to
//   zero (a device may flush them; here both sides always do);
// - e^norm is a fixed float32 routine of correctly rounded +, −, × and bit manipulation (see
//   powerTerm): log2 from the exponent field and a polynomial on the mantissa, times
//   fround(min(norm, 4096)), then exp2 from the integer part and a polynomial on the fraction;
// - each term becomes an integer T = trunc(e^norm / R^norm · 2^F), where 2^eR is the binade of the
//   parameter's largest magnitude R (so the unit is the parameter's own) and F = 64 − ceil(3·norm):
//   e < 8·2^eR (e ≤ 2R + S), so T < 2^64; T keeps e^norm's 24 significant bits down to 2^-F of R^norm;
// - the terms add as integers into three 32-bit words (2^31 terms of < 2^64 fit), which is exact,
//   so the sum does not depend on order or on where chunks are cut;
// - ties: a candidate replaces the best only when its sum is strictly smaller, and candidates are
//   visited from the largest range down, so equal sums keep the larger range (llm-compressor's
//   `tmp = err < best` in that loop order).
// llm-compressor stops early when no parameter of the call improved for `patience` (5)
// candidates in a row; that couples every channel's choice to the others' (and to how the call
// slices the tensor), so every candidate is evaluated here instead.
import { f32Bits, fround } from '../cpu/float.js';
import { forEachElementIn, type ParamStats } from '../cpu/reduce.js';
import type { Calibrator } from './calibrator.js';
import type { QParams } from './format.js';
import { minmax } from './minmax.js';

/** llm-compressor's defaults (observer_kwargs grid, maxshrink, norm). */
export const MSE_DEFAULTS = { grid: 100, maxShrink: 0.2, norm: 2.4 } as const;

/**
 * log2(1 + t) ≈ t·Σ LOG2_COEFFS[k]·t^k for t = m − 1, m in [√½, √2): float32 constants fitted by
 * least squares on Chebyshev nodes; in float32 Horner form within 6e-8 of log2(1 + t).
 */
export const LOG2_COEFFS = [
  1.4426950216293335, -0.7213473320007324, 0.48091059923171997, -0.36070483922958374, 0.2879183292388916,
  -0.23892034590244293, 0.21566985547542572, -0.20742103457450867, 0.12614846229553223,
] as const;

/** 2^f ≈ Σ EXP2_COEFFS[k]·f^k for f in [0, 1]: fitted alike; in float32 within a relative 8.2e-8. */
export const EXP2_COEFFS = [
  1.0, 0.6931469440460205, 0.2402305006980896, 0.05548042804002762, 0.009684580378234386, 0.0012387821916490793,
  0.00021877505059819669,
] as const;

/** The largest term, where T would reach 2^64 (a non-finite e, or rounding at the bound): 24 ones, then 40 zeros. */
export const TERM_MAX = (2 ** 24 - 1) * 2 ** 40;

const SUBNORMAL_BELOW = 2 ** -126;
const THRESHOLD_SQRT2 = 0x3504f3; // the fraction bits of √2 rounded: mantissas from here are halved
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function ftz(v: number): number {
  return Math.abs(v) < SUBNORMAL_BELOW ? 0 : v;
}

/**
 * The norm the power is computed with: fround(norm), at most NORM_MAX, so that every exponent
 * below is a small integer (a norm that large already ranks candidates by their largest error).
 */
export const NORM_MAX = 4096;

export function powerNorm(norm: number): number {
  return fround(Math.min(norm, NORM_MAX));
}

/** The fixed-point exponent F of a power norm: 2^F is T's unit relative to R^norm, and every T < 2^64. */
export function fixedPointBits(norm: number): number {
  return 64 - Math.ceil(3 * norm);
}

/** log2(e) − (eR − 127) for a normal float32 e > 0, by the float32 routine. */
export function relativeLog2(e: number, eR: number): number {
  const b = f32Bits(e);
  const frac = b & 0x7fffff;
  const halve = frac >= THRESHOLD_SQRT2 ? 1 : 0;
  u32[0] = frac | (halve ? 0x3f000000 : 0x3f800000);
  const t = fround((f32[0] as number) - 1);
  let q: number = LOG2_COEFFS[LOG2_COEFFS.length - 1] as number;
  for (let k = LOG2_COEFFS.length - 2; k >= 0; k--) q = fround(fround(q * t) + (LOG2_COEFFS[k] as number));
  return fround((b >>> 23) - eR + halve + fround(q * t));
}

/** 2^f for f in [0, 1] by the float32 routine. */
export function exp2Fraction(f: number): number {
  let r: number = EXP2_COEFFS[EXP2_COEFFS.length - 1] as number;
  for (let k = EXP2_COEFFS.length - 2; k >= 0; k--) r = fround(fround(r * f) + (EXP2_COEFFS[k] as number));
  return r;
}

/**
 * T = trunc((e / 2^(eR − 127))^norm · 2^F) for the float32 error e ≥ 0, as an exact integer
 * (a float64 with at most 24 significant bits): 0 for e = 0, TERM_MAX for a non-finite e.
 * `norm` is powerNorm(norm), `shift` is F and eR the exponent field of the parameter's largest magnitude.
 */
export function powerTerm(e: number, eR: number, norm: number, shift: number): number {
  if (e === 0) return 0;
  if (!Number.isFinite(e)) return TERM_MAX;
  const z = fround(norm * relativeLog2(e, eR));
  const n = Math.floor(z);
  const p = exp2Fraction(fround(z - n));
  const pb = f32Bits(p);
  const s = (pb >>> 23) - 150 + n + shift;
  if (s > 40) return TERM_MAX;
  if (s < -24) return 0;
  return Math.floor(((pb & 0x7fffff) | 0x800000) * 2 ** s);
}

/** e for element x and a dequantized S·(Q − Z), as the definition above states it. */
export function elementError(x: number, scale: number, qz: number): number {
  const dq = ftz(fround(ftz(scale) * qz));
  return ftz(Math.abs(fround(ftz(x) - dq)));
}

/** The exponent field of a float32 magnitude (0 for zero and subnormals). */
export function exponentField(v: number): number {
  return (f32Bits(v) >>> 23) & 0xff;
}

const WORD = 2 ** 32;

/** Adds T (< 2^64, an exact integer) into the three 32-bit words sums[o … o + 2], low first. */
export function addTerm(sums: Float64Array, o: number, t: number): void {
  const hi = Math.floor(t / WORD);
  let w0 = (sums[o] as number) + (t - hi * WORD);
  let w1 = (sums[o + 1] as number) + hi;
  if (w0 >= WORD) {
    w0 -= WORD;
    w1 += 1;
  }
  if (w1 >= WORD) {
    w1 -= WORD;
    sums[o + 2] = (sums[o + 2] as number) + 1;
  }
  sums[o] = w0;
  sums[o + 1] = w1;
}

/** Whether the sum at a is below the sum at b (three words each, low first). */
export function sumBelow(sums: ArrayLike<number>, a: number, b: number): boolean {
  for (let w = 2; w >= 0; w--) {
    if ((sums[a + w] as number) !== (sums[b + w] as number)) return (sums[a + w] as number) < (sums[b + w] as number);
  }
  return false;
}

/** The shrink factors p = 1 − i/grid, i = 0 … trunc(maxShrink·grid) − 1, as float32. */
export function shrinkFactors(grid: number, maxShrink: number): number[] {
  const count = Math.trunc(maxShrink * grid);
  return Array.from({ length: count }, (_, i) => fround(1 - i / grid));
}

/** Statistics whose range is [lo, hi] per parameter, for the format's own formulas. */
export function rangeStats(lo: Float32Array, hi: Float32Array): ParamStats {
  const peakAbs = lo.map((l, p) => Math.max(Math.abs(l), Math.abs(hi[p] as number)));
  const peak = hi.map((h, p) => (Math.abs(h) >= (peakAbs[p] as number) ? h : (lo[p] as number)));
  return { min: lo, max: hi, peak, peakAbs };
}

/** The parameters of every candidate, largest range first. */
export function mseCandidates(
  format: Parameters<NonNullable<Calibrator['refine']>>[0], scheme: Parameters<NonNullable<Calibrator['refine']>>[1],
  stats: ParamStats,
): QParams[] {
  const { grid, maxShrink } = { ...MSE_DEFAULTS, ...scheme.mse };
  return shrinkFactors(grid, maxShrink).map((p) => {
    const lo = stats.min.map((v) => fround(p * v));
    const hi = stats.max.map((v) => fround(p * v));
    return format.cpu.params(rangeStats(lo, hi), scheme);
  });
}

export const mse: Calibrator = {
  ...minmax,
  name: 'mse',
  summary: "llm-compressor's mse observer: the shrunk min/max range (grid 100, max shrink 0.2) with the least Σ|x − dq|^2.4",
  gpu: true,
  // The CPU backend runs the search on the reference: the GPU's kernels win even on SwiftShader.
  fasterOnSoftwareAdapter: true,
  refine(format, scheme, layout, first, stats) {
    const norm = powerNorm(scheme.mse?.norm ?? MSE_DEFAULTS.norm);
    const shift = fixedPointBits(norm);
    const n = first.scales.length;
    const candidates = mseCandidates(format, scheme, stats);
    const quantizers = candidates.map((q) => format.cpu.quantizer(layout, scheme, q));
    const eR = Int32Array.from(stats.peakAbs, exponentField);
    // sums[(c·n + p)·3 + w]: word w of candidate c's sum for parameter p.
    const sums = new Float64Array(candidates.length * n * 3);
    return {
      add(x, start) {
        candidates.forEach((q, c) => {
          const codes = (quantizers[c] as (x: Float32Array, start: number) => Int8Array | Uint8Array)(x, start);
          const { scales, zeroPoints } = q;
          forEachElementIn(layout, start, start + x.length, (i, p) => {
            const j = i - start;
            const e = elementError(x[j] as number, scales[p] as number, (codes[j] as number) - (zeroPoints[p] as number));
            addTerm(sums, (c * n + p) * 3, powerTerm(e, eR[p] as number, norm, shift));
          });
        });
      },
      finish() {
        if (candidates.length === 0) return first;
        const best = new Int32Array(n);
        for (let p = 0; p < n; p++) {
          for (let c = 1; c < candidates.length; c++) {
            if (sumBelow(sums, (c * n + p) * 3, ((best[p] as number) * n + p) * 3)) best[p] = c;
          }
        }
        return pick(candidates, best, first);
      },
    };
  },
};

/** Per parameter, the parameters of the candidate `best[p]`. */
export function pick(candidates: readonly QParams[], best: Int32Array, first: QParams): QParams {
  const scales = new Float32Array(best.length);
  const zeroPoints = new Int32Array(best.length);
  const codeScales = new Float32Array(best.length);
  best.forEach((c, p) => {
    const q = candidates[c] as QParams;
    scales[p] = q.scales[p] as number;
    zeroPoints[p] = q.zeroPoints[p] as number;
    codeScales[p] = q.codeScales[p] as number;
  });
  return { scales, zeroPoints, codeScales, range: first.range };
}
