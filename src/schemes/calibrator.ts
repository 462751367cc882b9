// What a calibration method is: the statistics it gathers from the data (one record, declared
// once for the CPU accumulator and the WGSL kernels), how it gathers them on the CPU, whether the
// GPU kernels gather them too, and an optional second look at the data once first parameters are
// known. The format then turns the statistics into scales and zero points by its own formulas.
import type { ParamStats } from '../cpu/reduce.js';
import type { Layout } from '../layout.js';
import type { QuantScheme } from '../types.js';
import type { AffineFormat, QParams } from './format.js';

/**
 * One word of the per-parameter statistics record. The GPU kernels address it as
 * `STAT_<NAME>` (its word offset; `STAT_WORDS` is the record's length), compiled in by
 * src/webgpu/shaders.ts; `cpu` names the array of the CPU accumulator that holds it, where the CPU
 * keeps it (the GPU alone counts members and remembers the first non-finite index, which the
 * CPU finds by a scan).
 */
export interface StatField {
  name: string;
  type: 'f32' | 'u32';
  /** The word's bits before the first chunk. */
  init: number;
  cpu?: keyof ParamStats;
}

/** A second pass over the data, chunk by chunk in flat order, that settles the parameters. */
export interface Refinement {
  add(x: Float32Array, start: number): void;
  finish(): QParams;
}

export interface Calibrator {
  /** The registry key, as `scheme.calibration` names it. */
  readonly name: string;
  readonly summary: string;
  readonly record: readonly StatField[];
  /** Empty statistics for `paramCount` parameters, and the fold of the elements from `start`. */
  empty(paramCount: number): ParamStats;
  accumulate(stats: ParamStats, x: Float32Array, start: number, layout: Layout): void;
  /**
   * Present when the method looks at the data again: it starts from the format's parameters for
   * the statistics (`first`, from `stats`) and sees every element once more before the codes are made.
   */
  refine?(format: AffineFormat, scheme: QuantScheme, layout: Layout, first: QParams, stats: ParamStats): Refinement;
  /** Whether the built-in GPU kernels gather this record (reduce, combine and the one-pass kernels). */
  readonly gpu: boolean;
  /**
   * Whether a software WebGPU adapter (an emulation on the CPU's own cores) still runs this method
   * faster than the CPU backend, as bench/README.md measures: `--backend auto` then takes the adapter.
   */
  readonly fasterOnSoftwareAdapter?: boolean;
}
