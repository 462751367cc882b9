import { type Layout, rowBase } from '../layout.js';

/** Per-parameter minimum and maximum (±Infinity where a parameter covers no element). */
export interface MinMax {
  min: Float32Array;
  max: Float32Array;
}

/**
 * Visits every element as (flat index, parameter index), in flat order, so that "first element
 * wins" rules see elements in the order the data holds them.
 */
export function forEachElement(layout: Layout, visit: (i: number, p: number) => void): void {
  const { outer, axisLen, inner, innerStride } = layout;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < axisLen; k++) {
      const base = rowBase(layout, o, k);
      for (let n = 0; n < inner; n++, i++) visit(i, base + n * innerStride);
    }
  }
}

/** Minimum and maximum of each tensor, channel or block of `x`. */
export function minMax(x: Float32Array, layout: Layout): MinMax {
  const min = new Float32Array(layout.paramCount).fill(Infinity);
  const max = new Float32Array(layout.paramCount).fill(-Infinity);
  forEachElement(layout, (i, p) => {
    const v = x[i] as number;
    if (v < (min[p] as number)) min[p] = v;
    if (v > (max[p] as number)) max[p] = v;
  });
  return { min, max };
}

/**
 * Per parameter, the element of largest magnitude, the first one on ties, 0 when all are zero
 * (ggml's Q4_0 `max`, found with a strict `amax < fabsf(v)`).
 */
export function signedAbsMax(x: Float32Array, layout: Layout): Float32Array {
  const m = new Float32Array(layout.paramCount);
  const amax = new Float32Array(layout.paramCount);
  forEachElement(layout, (i, p) => {
    const v = x[i] as number;
    if ((amax[p] as number) < Math.abs(v)) {
      amax[p] = Math.abs(v);
      m[p] = v;
    }
  });
  return m;
}

/** Flat index of the first NaN or ±Infinity in `x`, or -1. */
export function findNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) return i;
  }
  return -1;
}
