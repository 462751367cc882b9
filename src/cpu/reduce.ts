import { type Layout, rowBase } from '../layout.js';

/** Per-parameter minimum and maximum (±Infinity where a parameter covers no element). */
export interface MinMax {
  min: Float32Array;
  max: Float32Array;
}

/**
 * Everything calibration needs from the data, per parameter, gathered chunk by chunk: minimum,
 * maximum, and the element of largest magnitude (the first one on ties, 0 when all are zero).
 */
export interface ParamStats extends MinMax {
  peak: Float32Array;
  peakAbs: Float32Array;
}

/**
 * Visits the elements with flat index in [start, end) as (flat index, parameter index), in flat
 * order, so that "first element wins" rules see elements in the order the data holds them.
 */
export function forEachElementIn(layout: Layout, start: number, end: number, visit: (i: number, p: number) => void): void {
  const { axisLen, inner, innerStride } = layout;
  let i = start;
  let row = Math.floor(start / inner);
  let n = start - row * inner;
  while (i < end) {
    const base = rowBase(layout, Math.floor(row / axisLen), row % axisLen);
    const stop = Math.min(end, i + inner - n);
    for (; i < stop; i++, n++) visit(i, base + n * innerStride);
    n = 0;
    row++;
  }
}

/**
 * The elements with flat index in [start, end) as runs, in flat order: `visit(a, b, p, step)`
 * for elements a … b − 1 whose parameters are p, p + step, … (step 0: one shared parameter — a
 * channel's row, a block, the tensor; step 1: channels along the last axis). A loop over a run
 * needs no parameter lookup per element, where {@link forEachElementIn} calls back per element.
 */
export function forEachRunIn(layout: Layout, start: number, end: number, visit: (a: number, b: number, p: number, step: number) => void): void {
  const { granularity, axisLen, inner, innerStride, blockSize } = layout;
  if (inner > 1 || granularity === 'tensor') {
    let row = Math.floor(start / inner);
    for (let i = start; i < end; row++) {
      const n = i - row * inner;
      const stop = Math.min(end, (row + 1) * inner);
      visit(i, stop, rowBase(layout, Math.floor(row / axisLen), row % axisLen) + n * innerStride, innerStride);
      i = stop;
    }
    return;
  }
  // One element per row: a line along the axis per outer index, whose parameters step with the
  // element (channels) or stay for a block.
  for (let i = start; i < end;) {
    const o = Math.floor(i / axisLen);
    const k = i - o * axisLen;
    const line = Math.min(end, (o + 1) * axisLen);
    const stop = granularity === 'channel' ? line : Math.min(line, i + blockSize - (k % blockSize));
    visit(i, stop, rowBase(layout, o, k), granularity === 'channel' ? 1 : 0);
    i = stop;
  }
}

/** {@link forEachElementIn} over the whole tensor. */
export function forEachElement(layout: Layout, visit: (i: number, p: number) => void): void {
  forEachElementIn(layout, 0, layout.outer * layout.axisLen * layout.inner, visit);
}

export function emptyStats(paramCount: number): ParamStats {
  return {
    min: new Float32Array(paramCount).fill(Infinity),
    max: new Float32Array(paramCount).fill(-Infinity),
    peak: new Float32Array(paramCount),
    peakAbs: new Float32Array(paramCount),
  };
}

/**
 * Folds elements start … start + x.length − 1 into `stats`. Chunks must arrive in flat order for
 * the peak's "first element wins" to hold across them.
 */
export function accumulateStats(stats: ParamStats, x: Float32Array, start: number, layout: Layout): void {
  const { min, max, peak, peakAbs } = stats;
  forEachElementIn(layout, start, start + x.length, (i, p) => {
    const v = x[i - start] as number;
    if (v < (min[p] as number)) min[p] = v;
    if (v > (max[p] as number)) max[p] = v;
    if ((peakAbs[p] as number) < Math.abs(v)) {
      peakAbs[p] = Math.abs(v);
      peak[p] = v;
    }
  });
}

/** Statistics of a whole tensor. */
export function paramStats(x: Float32Array, layout: Layout): ParamStats {
  const stats = emptyStats(layout.paramCount);
  accumulateStats(stats, x, 0, layout);
  return stats;
}

/** Minimum and maximum of each tensor, channel or block of `x`. */
export function minMax(x: Float32Array, layout: Layout): MinMax {
  const { min, max } = paramStats(x, layout);
  return { min, max };
}

/**
 * Per parameter, the element of largest magnitude, the first one on ties, 0 when all are zero
 * (ggml's Q4_0 `max`, found with a strict `amax < fabsf(v)`).
 */
export function signedAbsMax(x: Float32Array, layout: Layout): Float32Array {
  return paramStats(x, layout).peak;
}

/** Flat index of the first NaN or ±Infinity in `x`, or -1. */
export function findNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) return i;
  }
  return -1;
}
