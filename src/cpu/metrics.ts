import { makeLayout } from '../layout.js';
import { forEachElement } from './reduce.js';

/** Error of a reconstruction over one set of elements. */
export interface ErrorStats {
  mse: number;
  maxAbsError: number;
  /** 10·log10(Σx² / Σ(x − y)²); +Infinity when the reconstruction is exact. */
  sqnrDb: number;
}

export interface ErrorMetrics extends ErrorStats {
  /** The axis `perChannel` runs along. */
  channelAxis: number;
  perChannel: ErrorStats[];
}

function stats(sumSq: number, signal: number, maxAbs: number, count: number): ErrorStats {
  return {
    mse: count === 0 ? 0 : sumSq / count,
    maxAbsError: maxAbs,
    sqnrDb: sumSq === 0 ? Infinity : 10 * Math.log10(signal / sumSq),
  };
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
  const layout =
    shape.length === 0 ? makeLayout(shape, 'tensor', 0, 1) : makeLayout(shape, 'channel', channelAxis, 1);
  const n = layout.paramCount;
  const sumSq = new Float64Array(n);
  const signal = new Float64Array(n);
  const maxAbs = new Float64Array(n);
  const count = new Float64Array(n);
  forEachElement(layout, (i, p) => {
    const xi = x[i] as number;
    const e = xi - (y[i] as number);
    sumSq[p] = (sumSq[p] as number) + e * e;
    signal[p] = (signal[p] as number) + xi * xi;
    count[p] = (count[p] as number) + 1;
    if (Math.abs(e) > (maxAbs[p] as number)) maxAbs[p] = Math.abs(e);
  });
  const perChannel = Array.from({ length: n }, (_, p) =>
    stats(sumSq[p] as number, signal[p] as number, maxAbs[p] as number, count[p] as number),
  );
  const total = (a: Float64Array): number => a.reduce((s, v) => s + v, 0);
  return {
    ...stats(total(sumSq), total(signal), maxAbs.reduce((m, v) => Math.max(m, v), 0), x.length),
    channelAxis: layout.axis,
    perChannel,
  };
}
