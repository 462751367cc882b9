// The min/max calibrator: every parameter's range is the range of its data. The one record below
// is what the CPU accumulator (src/cpu/reduce.ts) keeps and what the GPU's reduce, combine and
// calibrate kernels pass between them.
import { accumulateStats, emptyStats } from '../cpu/reduce.js';
import type { Calibrator } from './calibrator.js';

/** The first non-finite index before any is found: none. */
export const NO_INDEX = 0xffffffff;

export const minmax: Calibrator = {
  name: 'minmax',
  summary: 'the range of the data: min and max, or the largest magnitude',
  record: [
    { name: 'min', type: 'f32', init: 0, cpu: 'min' },
    { name: 'max', type: 'f32', init: 0, cpu: 'max' },
    // The first element of largest magnitude, with its sign (ggml Q4_0's d).
    { name: 'peak', type: 'f32', init: 0, cpu: 'peak' },
    { name: 'peak_abs', type: 'f32', init: 0, cpu: 'peakAbs' },
    // Members folded so far: min and max are unset while it is 0.
    { name: 'finite', type: 'u32', init: 0 },
    { name: 'bad', type: 'u32', init: 0 },
    { name: 'first_bad', type: 'u32', init: NO_INDEX },
  ],
  empty: emptyStats,
  accumulate: accumulateStats,
  gpu: true,
};
