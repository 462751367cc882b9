// The MSE calibrator: llm-compressor's `mse` observer (MovingAverageMSEObserver's
// calculate_mse_min_max), with the scheme's own profile turning each candidate range into a scale
// and zero point. Each parameter's range [min, max] is shrunk by p = 1 − i/grid for
// i = 0 … trunc(maxShrink·grid) − 1; every candidate quantizes the parameter's elements and the one
// with the least Σ|x − dq(q(x))|^norm is kept.
//
// What is exact, and why the choice is the same whole and streamed:
// - a candidate's range is fround(fround(p)·min), fround(fround(p)·max): PyTorch multiplies a
//   float32 tensor by a Python float in float32, the scalar rounded first;
// - dq is the float32 S·(Q − Z) a loader decodes, and |x − dq|^norm is computed in float64
//   (Math.pow) and added in float64 to the parameter's sum for that candidate in flat element
//   order. Chunks arrive in flat order and each parameter's elements are added one after another
//   in that order, so the sums — and the choice — do not depend on where the chunks are cut;
// - ties: a candidate replaces the best only when its sum is strictly smaller, and candidates are
//   visited from the largest range down, so equal sums keep the larger range (llm-compressor's
//   `tmp = err < best` in that loop order).
// llm-compressor stops early when no parameter of the call improved for `patience` (5)
// candidates in a row; that couples every channel's choice to the others' (and to how the call
// slices the tensor), so every candidate is evaluated here instead.
import { fround } from '../cpu/float.js';
import { forEachElementIn, type ParamStats } from '../cpu/reduce.js';
import type { Calibrator } from './calibrator.js';
import type { QParams } from './format.js';
import { minmax } from './minmax.js';

/** llm-compressor's defaults (observer_kwargs grid, maxshrink, norm). */
export const MSE_DEFAULTS = { grid: 100, maxShrink: 0.2, norm: 2.4 } as const;

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

export const mse: Calibrator = {
  ...minmax,
  name: 'mse',
  summary: "llm-compressor's mse observer: the shrunk min/max range (grid 100, max shrink 0.2) with the least Σ|x − dq|^2.4",
  gpu: false,
  refine(format, scheme, layout, first, stats) {
    const { grid, maxShrink, norm } = { ...MSE_DEFAULTS, ...scheme.mse };
    const n = first.scales.length;
    const candidates: QParams[] = shrinkFactors(grid, maxShrink).map((p) => {
      const lo = stats.min.map((v) => fround(p * v));
      const hi = stats.max.map((v) => fround(p * v));
      return format.cpu.params(rangeStats(lo, hi), scheme);
    });
    const quantizers = candidates.map((q) => format.cpu.quantizer(layout, scheme, q));
    // err[c·n + p]: candidate c's sum for parameter p.
    const err = new Float64Array(candidates.length * n);
    return {
      add(x, start) {
        candidates.forEach((q, c) => {
          const codes = (quantizers[c] as (x: Float32Array, start: number) => Int8Array | Uint8Array)(x, start);
          const { scales, zeroPoints } = q;
          const base = c * n;
          forEachElementIn(layout, start, start + x.length, (i, p) => {
            const j = i - start;
            const dq = fround((scales[p] as number) * ((codes[j] as number) - (zeroPoints[p] as number)));
            err[base + p] = (err[base + p] as number) + Math.abs((x[j] as number) - dq) ** norm;
          });
        });
      },
      finish() {
        if (candidates.length === 0) return first;
        const best = new Int32Array(n);
        for (let p = 0; p < n; p++) {
          let least = Infinity;
          candidates.forEach((_, c) => {
            const e = err[c * n + p] as number;
            if (e < least) {
              least = e;
              best[p] = c;
            }
          });
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
