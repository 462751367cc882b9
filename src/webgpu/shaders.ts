// Every WGSL source reaches TypeScript here, as strings inlined at build time.
import calibrate from '../../shaders/calibrate.wgsl?raw';
import combine from '../../shaders/combine.wgsl?raw';
import common from '../../shaders/common.wgsl?raw';
import dequantize from '../../shaders/dequantize.wgsl?raw';
import exact from '../../shaders/exact.wgsl?raw';
import metrics from '../../shaders/metrics.wgsl?raw';
import quantize from '../../shaders/quantize.wgsl?raw';
import reduce from '../../shaders/reduce.wgsl?raw';

export type KernelName = 'reduce' | 'combine' | 'calibrate' | 'quantize' | 'dequantize' | 'metrics';

const KERNELS: Record<KernelName, string> = { reduce, combine, calibrate, quantize, dequantize, metrics };

/** What every kernel starts with: the shared uniform and helpers, and the exact-arithmetic library. */
export const LIBRARY_SOURCE = `${common}\n${exact}\n`;

/** A kernel's full source. */
export function kernelSource(name: KernelName): string {
  return LIBRARY_SOURCE + KERNELS[name];
}

/** Fields of `struct Params` in shaders/common.wgsl, in order; each is 4 bytes. */
export const PARAM_FIELDS = [
  'numel', 'outer', 'axis_len', 'inner', 'block', 'num_blocks', 'granularity', 'param_count',
  'chunk_start', 'chunk_len', 'slices', 'slice_len', 'profile', 'bits', 'qmin', 'qmax',
  'symmetric', 'given', 'zero', 'row_threads', 'm_outer', 'm_axis_len', 'm_inner', 'param_base',
] as const;

export type ParamField = (typeof PARAM_FIELDS)[number];
export type UniformValues = Record<ParamField, number>;

const SIGNED: ReadonlySet<ParamField> = new Set(['qmin', 'qmax']);

/** The uniform's bytes, laid out from PARAM_FIELDS. */
export function encodeParams(values: UniformValues): ArrayBuffer {
  const buffer = new ArrayBuffer(PARAM_FIELDS.length * 4);
  const u32 = new Uint32Array(buffer);
  const i32 = new Int32Array(buffer);
  PARAM_FIELDS.forEach((field, i) => {
    if (SIGNED.has(field)) i32[i] = values[field];
    else u32[i] = values[field];
  });
  return buffer;
}
