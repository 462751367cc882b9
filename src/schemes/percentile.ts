// The percentile calibrator: each parameter's range is clipped at a percentile of its elements —
// of |x| when the scheme is symmetric (the range is then ±c), of each tail when it is not — and
// the profile's own formulas turn the clipped range into a scale and zero point.
//
// The percentile is the nearest rank, numpy's method='inverted_cdf': of n sorted values
// v_1 ≤ … ≤ v_n, the P-th percentile is v_k with k = ceil(n·P/100) (n·P/100 in float64), at least
// 1. The lower tail's is the same rank counted from the top: v_(n+1−k). At P = 100 that is the
// minimum and maximum, so the parameters equal min/max's bit for bit.
//
// Selection needs every element of a parameter at once, so the refining pass keeps a float32
// copy of the tensor (4 bytes per element) until it finishes. The GPU selects the same element
// by exact counts instead (src/webgpu/percentile.ts): Float32Array's sort orders by value with
// −0 before +0, the order of the keys the GPU compares by their bits.
import { forEachElement } from '../cpu/reduce.js';
import type { Calibrator } from './calibrator.js';
import { minmax } from './minmax.js';
import { rangeStats } from './mse.js';

/** The percentile a scheme that gives none clips at. */
export const PERCENTILE_DEFAULT = 99.9;

/** The 1-based nearest rank of the P-th percentile of n values. */
export function nearestRank(n: number, percentile: number): number {
  return Math.min(n, Math.max(1, Math.ceil((n * percentile) / 100)));
}

export const percentile: Calibrator = {
  ...minmax,
  name: 'percentile',
  summary: 'clip at a percentile (nearest rank, default 99.9) of |x|, or of each tail when asymmetric',
  gpu: true,
  refine(format, scheme, layout, first) {
    const P = scheme.percentile ?? PERCENTILE_DEFAULT;
    const numel = layout.outer * layout.axisLen * layout.inner;
    const copy = new Float32Array(numel);
    return {
      add(x, start) {
        copy.set(x, start);
      },
      finish() {
        if (numel === 0) return first;
        const n = first.scales.length;
        // The elements of each parameter side by side: counts, offsets, then a fill in flat order.
        const offset = new Float64Array(n + 1);
        forEachElement(layout, (_i, p) => { offset[p + 1] = (offset[p + 1] as number) + 1; });
        for (let p = 0; p < n; p++) offset[p + 1] = (offset[p + 1] as number) + (offset[p] as number);
        const at = offset.slice(0, n);
        const grouped = new Float32Array(numel);
        forEachElement(layout, (i, p) => {
          const v = copy[i] as number;
          grouped[at[p] as number] = scheme.symmetric ? Math.abs(v) : v;
          at[p] = (at[p] as number) + 1;
        });
        const lo = new Float32Array(n);
        const hi = new Float32Array(n);
        for (let p = 0; p < n; p++) {
          const values = grouped.subarray(offset[p] as number, offset[p + 1] as number).sort();
          const k = nearestRank(values.length, P);
          hi[p] = values[k - 1] as number;
          lo[p] = scheme.symmetric ? -(hi[p] as number) : (values[values.length - k] as number);
        }
        return format.cpu.params(rangeStats(lo, hi), scheme);
      },
    };
  },
};
