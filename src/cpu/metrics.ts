import { type Layout, makeLayout } from '../layout.js';
import type { ErrorMetrics, ErrorStats } from '../types.js';
import { dequantizeCodes } from './dequantize.js';
import { forEachElementIn } from './reduce.js';

export type { ErrorMetrics, ErrorStats } from '../types.js';

function stats(sumSq: number, signal: number, maxAbs: number, count: number): ErrorStats {
  return {
    mse: count === 0 ? 0 : sumSq / count,
    maxAbsError: maxAbs,
    sqnrDb: sumSq === 0 ? Infinity : 10 * Math.log10(signal / sumSq),
  };
}

/** Per-channel sums of squared error and of squared input, largest error and element count. */
export interface ErrorSums {
  sumSq: Float64Array;
  signal: Float64Array;
  maxAbs: Float64Array;
  count: Float64Array;
}

/** Metrics from per-channel sums: how both backends finish. */
export function metricsFromSums(sums: ErrorSums, channelAxis: number): ErrorMetrics {
  const { sumSq, signal, maxAbs, count } = sums;
  const perChannel = Array.from(sumSq, (_, p) =>
    stats(sumSq[p] as number, signal[p] as number, maxAbs[p] as number, count[p] as number),
  );
  const total = (a: Float64Array): number => a.reduce((t, v) => t + v, 0);
  return {
    ...stats(total(sumSq), total(signal), maxAbs.reduce((m, v) => Math.max(m, v), 0), total(count)),
    channelAxis,
    perChannel,
  };
}

/** The per-channel layout metrics use: along `channelAxis`, or one channel for a 0-d tensor. */
export function metricsLayout(shape: readonly number[], channelAxis: number): Layout {
  return shape.length === 0 ? makeLayout([1], 'channel', 0, 1) : makeLayout(shape, 'channel', channelAxis, 1);
}

/**
 * MSE, max abs error and SQNR of `y` as a reconstruction of `x`, for the whole tensor and for
 * each index of `channelAxis` (default 0). These are statistics, not codes: the sums run in
 * float64 so that they stay accurate over billions of elements.
 */
export function errorMetrics(
  x: Float32Array,
  y: Float32Array,
  shape: readonly number[],
  channelAxis = 0,
): ErrorMetrics {
  return sumErrors(x, (i) => y[i] as number, shape, channelAxis);
}

/**
 * {@link errorMetrics} of the reconstruction `S·(Q − Z)` of `codes`, reconstructed a piece at a
 * time so that no reconstructed tensor is ever allocated (a model's largest tensor may be GBs).
 */
export function reconstructionMetrics(
  x: Float32Array,
  codes: Int8Array | Uint8Array,
  quantLayout: Layout,
  scales: Float32Array,
  zeroPoints: Int32Array,
  shape: readonly number[],
  channelAxis: number,
): ErrorMetrics {
  const layout = metricsLayout(shape, channelAxis);
  const sums = emptySums(layout.paramCount);
  for (let start = 0; start < x.length; start += RECONSTRUCT_PIECE) {
    const end = Math.min(x.length, start + RECONSTRUCT_PIECE);
    addReconstructionErrors(sums, layout, x.subarray(start, end), codes.subarray(start, end), start, quantLayout, scales, zeroPoints);
  }
  return metricsFromSums(sums, layout.axis);
}

/** Elements reconstructed at a time by {@link reconstructionMetrics}. */
const RECONSTRUCT_PIECE = 1 << 20;

export function emptySums(channels: number): ErrorSums {
  return {
    sumSq: new Float64Array(channels), signal: new Float64Array(channels),
    maxAbs: new Float64Array(channels), count: new Float64Array(channels),
  };
}

/**
 * Adds the reconstruction errors of one chunk — elements start … start + x.length − 1, with their
 * codes — to per-channel `sums` laid out by `layout` (from {@link metricsLayout}).
 */
export function addReconstructionErrors(
  sums: ErrorSums,
  layout: Layout,
  x: Float32Array,
  codes: Int8Array | Uint8Array,
  start: number,
  quantLayout: Layout,
  scales: Float32Array,
  zeroPoints: Int32Array,
): void {
  const y = dequantizeCodes(codes, quantLayout, scales, zeroPoints, undefined, start);
  addErrors(sums, layout, x, start, (j) => y[j] as number);
}

/** Adds the errors of `y`, a chunk's reconstruction (elements start … start + x.length − 1), to `sums`. */
export function addDecodedErrors(sums: ErrorSums, layout: Layout, x: Float32Array, y: Float32Array, start: number): void {
  addErrors(sums, layout, x, start, (j) => y[j] as number);
}

function sumErrors(x: Float32Array, y: (i: number) => number, shape: readonly number[], channelAxis: number): ErrorMetrics {
  const layout = metricsLayout(shape, channelAxis);
  const sums = emptySums(layout.paramCount);
  addErrors(sums, layout, x, 0, y);
  return metricsFromSums(sums, layout.axis);
}

/** `y(j)` is the reconstruction of x[j], element start + j of the tensor. */
function addErrors(sums: ErrorSums, layout: Layout, x: Float32Array, start: number, y: (j: number) => number): void {
  const { sumSq, signal, maxAbs, count } = sums;
  forEachElementIn(layout, start, start + x.length, (i, p) => {
    const xi = x[i - start] as number;
    const e = xi - y(i - start);
    sumSq[p] = (sumSq[p] as number) + e * e;
    signal[p] = (signal[p] as number) + xi * xi;
    count[p] = (count[p] as number) + 1;
    if (Math.abs(e) > (maxAbs[p] as number)) maxAbs[p] = Math.abs(e);
  });
}
