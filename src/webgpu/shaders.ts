// Every WGSL source reaches TypeScript here, as strings inlined at build time.
import calibrate from '../../shaders/calibrate.wgsl?raw';
import codes from '../../shaders/codes.wgsl?raw';
import combine from '../../shaders/combine.wgsl?raw';
import common from '../../shaders/common.wgsl?raw';
import dequantize from '../../shaders/dequantize.wgsl?raw';
import exact from '../../shaders/exact.wgsl?raw';
import metrics from '../../shaders/metrics.wgsl?raw';
import mseChoose from '../../shaders/mse_choose.wgsl?raw';
import mseFold from '../../shaders/mse_fold.wgsl?raw';
import msePartials from '../../shaders/mse_partials.wgsl?raw';
import mseTerm from '../../shaders/mse_term.wgsl?raw';
import fusedBlocks from '../../shaders/fused_blocks.wgsl?raw';
import fusedRows from '../../shaders/fused_rows.wgsl?raw';
import percentileCommon from '../../shaders/percentile_common.wgsl?raw';
import percentileCount from '../../shaders/percentile_count.wgsl?raw';
import percentileRange from '../../shaders/percentile_range.wgsl?raw';
import percentileSelect from '../../shaders/percentile_select.wgsl?raw';
import qparams from '../../shaders/qparams.wgsl?raw';
import quantize from '../../shaders/quantize.wgsl?raw';
import reduce from '../../shaders/reduce.wgsl?raw';
import rowPartials from '../../shaders/row_partials.wgsl?raw';
import rowPartialsSubgroups from '../../shaders/row_partials_subgroups.wgsl?raw';
import type { FormatKernel } from '../schemes/format.js';
import { minmax } from '../schemes/minmax.js';
import type { Granularity, Profile } from '../types.js';

export type KernelName =
  | 'reduce' | 'combine' | 'calibrate' | 'quantize' | 'fused_rows' | 'fused_blocks' | 'dequantize' | 'metrics'
  | 'mse_partials' | 'mse_fold' | 'mse_choose' | 'percentile_count' | 'percentile_select' | 'percentile_range';

/** A built-in kernel by name, or a format's own (src/schemes/format.ts). */
export type Kernel = KernelName | FormatKernel;

const KERNELS: Record<KernelName, string> = {
  reduce, combine, calibrate, quantize, fused_rows: fusedRows, fused_blocks: fusedBlocks, dequantize, metrics,
  mse_partials: msePartials, mse_fold: mseFold, mse_choose: mseChoose,
  percentile_count: percentileCount, percentile_select: percentileSelect, percentile_range: percentileRange,
};

/** What every kernel starts with: the shared uniform and helpers, and the exact-arithmetic library. */
export const LIBRARY_SOURCE = `${common}\n${exact}\n${qparams}\n${codes}\n`;

/** What a pipeline is compiled for: constants prepended to its source (see shaders/common.wgsl). */
export const SPEC_FIELDS = ['profile', 'bits', 'granularity', 'symmetric', 'given', 'subgroups', 'uniform_words'] as const;
export type Specialization = Record<(typeof SPEC_FIELDS)[number], number>;

/** Words per invocation of quantize.wgsl per tensor: the host sizes its dispatch by it. */
export const QUANTIZE_RUN_WORDS = 16;

/**
 * The values `PROFILE` and `GRANULARITY` take, which kernels compare with by name
 * (`PROFILE == PROFILE_GGML`, `GRANULARITY == GRANULARITY_GROUP`).
 */
export const PROFILE_CODES: Readonly<Record<Profile, number>> = { onnx: 0, pytorch: 1, ggml: 2 };
export const GRANULARITY_CODES: Readonly<Record<Granularity, number>> = { tensor: 0, channel: 1, group: 2 };

const NAMED_CODES = [
  ...Object.entries(PROFILE_CODES).map(([k, v]) => `const PROFILE_${k.toUpperCase()}: u32 = ${v}u;\n`),
  ...Object.entries(GRANULARITY_CODES).map(([k, v]) => `const GRANULARITY_${k.toUpperCase()}: u32 = ${v}u;\n`),
].join('');

/** The constants that specialise a pipeline, and those host and kernels share, as WGSL. */
export function specHeader(spec: Specialization): string {
  const spec_ = SPEC_FIELDS.map((f) => `const ${f.toUpperCase()}: u32 = ${spec[f]}u;\n`).join('');
  return `${spec_}${NAMED_CODES}const RUN_WORDS: u32 = ${QUANTIZE_RUN_WORDS}u;\n${STATS_HEADER}`;
}

/** The statistics record's word offsets (`STAT_MIN`, …) and length (`STAT_WORDS`), from its one declaration. */
const STATS_HEADER = [
  ...minmax.record.map((f, i) => `const STAT_${f.name.toUpperCase()}: u32 = ${i}u;\n`),
  `const STAT_WORDS: u32 = ${minmax.record.length}u;\n`,
].join('');

/**
 * A kernel's full source, specialised. The row kernel takes the partial-sharing library that fits
 * the device; WGSL wants `enable` directives before any declaration, so they move to the top.
 */
export function kernelSource(kernel: Kernel, spec: Specialization): string {
  const parts = typeof kernel !== 'string' ? [kernel.source]
    : kernel === 'fused_rows' ? [spec.subgroups ? rowPartialsSubgroups : rowPartials, KERNELS[kernel]]
    : kernel.startsWith('mse_') ? [mseTerm, KERNELS[kernel]]
    : kernel.startsWith('percentile_') ? [percentileCommon, KERNELS[kernel]] : [KERNELS[kernel]];
  const body = `${specHeader(spec)}${LIBRARY_SOURCE}${parts.join('\n')}`;
  const directives = body.split('\n').filter((line) => line.startsWith('enable '));
  return [...directives, ...body.split('\n').filter((line) => !line.startsWith('enable '))].join('\n');
}

/** Fields of `struct Params` in shaders/common.wgsl, in order; each is 4 bytes. */
export const PARAM_FIELDS = [
  'numel', 'outer', 'axis_len', 'inner', 'block', 'num_blocks', 'param_count', 'chunk_start', 'chunk_len',
  'slices', 'slice_len', 'qmin', 'qmax', 'zero', 'row_threads', 'm_outer', 'm_axis_len', 'm_inner', 'param_base',
] as const;

export type ParamField = (typeof PARAM_FIELDS)[number];
/** Everything a dispatch needs: the uniform's fields and the pipeline's specialisation. */
export type UniformValues = Record<ParamField, number> & Specialization;

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
