// Reconstruction error measured where the codes are made: metrics.wgsl's records, folded on the CPU.
import type { ErrorSums } from '../cpu/metrics.js';

/** Words per (channel, slice) error record; see shaders/metrics.wgsl. */
export const METRIC_WORDS = 4;

/** Accumulates metrics.wgsl's per-(channel, slice) records of one chunk into float64 sums. */
export function addErrorRecords(sums: ErrorSums, records: Float32Array, slices: number): void {
  const channels = sums.sumSq.length;
  for (let c = 0; c < channels; c++) {
    for (let s = 0; s < slices; s++) {
      const o = (c * slices + s) * METRIC_WORDS;
      sums.sumSq[c] = (sums.sumSq[c] as number) + (records[o] as number);
      sums.signal[c] = (sums.signal[c] as number) + (records[o + 1] as number);
      sums.maxAbs[c] = Math.max(sums.maxAbs[c] as number, records[o + 2] as number);
      sums.count[c] = (sums.count[c] as number) + (records[o + 3] as number);
    }
  }
}
