// Planning a GPU operation: chunks the device can bind, calibration windows, the one-pass kernel a
// layout allows, reduction slicing and the uniform values every dispatch of the operation shares.
import { QuantizationError } from '../errors.js';
import { bitsOf, type CodeRange, type Layout, lcm } from '../layout.js';
import type { FormatKernel } from '../schemes/format.js';
import type { GpuOptions, QuantScheme } from '../types.js';
import type { GpuContext } from './device.js';
import type { RowKernel } from './kernels.js';
import { GRANULARITY_CODES, PROFILE_CODES, type UniformValues } from './shaders.js';

/** Elements each reduction invocation walks. */
export const SLICE_LEN = 256;
/**
 * Reduction slices per parameter at most: combine.wgsl folds a parameter's slices in order in one
 * invocation, so a per-tensor reduction of millions of elements takes longer slices instead.
 */
const MAX_SLICES = 1024;
/** Windows an array-to-array one-pass quantization is cut into, each of at least this many elements. */
export const PIPELINE_WINDOWS = 4;
export const PIPELINE_MIN_ELEMENTS = 1 << 20;

export interface Span {
  start: number;
  len: number;
}

/** A run of elements whose parameters are all calibrated together. */
export interface Window extends Span {
  paramBase: number;
  paramCount: number;
}

/** Elements per chunk: what the device and options allow, a multiple of 8 and of `align`. */
export function chunkElements(ctx: GpuContext, options: GpuOptions, align = 8): number {
  const { maxStorageBufferBindingSize, maxBufferSize } = ctx.device.limits;
  const bytes = Math.min(maxStorageBufferBindingSize, maxBufferSize, options.maxChunkBytes ?? Infinity);
  const unit = lcm(8, align);
  const elements = Math.floor(bytes / 4 / unit) * unit;
  if (elements < unit) {
    throw new QuantizationError(
      `a chunk must hold at least ${unit} elements (${unit * 4} bytes); maxChunkBytes and the device allow ${bytes}`,
      { field: 'options.maxChunkBytes' },
    );
  }
  return elements;
}

/** Word-aligned chunks of at most `max` elements covering [0, numel). */
export function chunks(numel: number, max: number): Span[] {
  const out: Span[] = [];
  for (let start = 0; start < numel; start += max) out.push({ start, len: Math.min(max, numel - start) });
  return out;
}

/**
 * Calibration windows. Per tensor and per channel, one window spans the whole tensor and its
 * statistics accumulate over every chunk. Per group, a window is a run of whole block rows
 * (a block row: one block along the axis for every inner index), so that no block straddles two
 * windows and each window is calibrated on its own.
 */
export function windows(layout: Layout, numel: number, maxElements: number): Window[] {
  if (layout.granularity !== 'group') return [{ start: 0, len: numel, paramBase: 0, paramCount: layout.paramCount }];
  const { outer, axisLen, inner, blockSize, numBlocks } = layout;
  const out: Window[] = [];
  let current: Window | undefined;
  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < numBlocks; b++) {
      const len = (Math.min(blockSize, axisLen - b * blockSize)) * inner;
      if (len > maxElements) {
        throw new QuantizationError(
          `one block row (${blockSize} × ${inner} elements along axis ${layout.axis}) is larger than a chunk ` +
            `(${maxElements} elements); raise maxChunkBytes or use a smaller block`,
          { field: 'scheme.blockSize' },
        );
      }
      const start = (o * axisLen + b * blockSize) * inner;
      const paramBase = (o * numBlocks + b) * inner;
      if (current && current.len + len <= maxElements) {
        current.len += len;
        current.paramCount += inner;
      } else {
        current = { start, len, paramBase, paramCount: inner };
        out.push(current);
      }
    }
  }
  return out;
}

export function membersPerParam(layout: Layout, numel: number): number {
  return layout.granularity === 'tensor' ? numel : layout.granularity === 'channel' ? layout.outer * layout.inner : layout.blockSize;
}

/** A one-pass kernel (parameters and codes together) and the windows it runs over. */
export interface OnePass {
  kernel: 'fused_rows' | 'fused_blocks' | FormatKernel;
  windows: Window[];
}

/**
 * The one-pass kernel for a layout whose parameters are contiguous runs that start on words —
 * rows (per channel, quantized axis first) or blocks along the last axis — with the windows it
 * runs over (whole rows or blocks, at most a chunk each); undefined where the layout needs the
 * general reduce → calibrate → quantize passes.
 */
export function fusedPlan(
  layout: Layout, numel: number, bits: number, maxElements: number, rowKernel: RowKernel,
): OnePass | undefined {
  const perWord = 32 / bits;
  if (numel === 0) return undefined;
  if (layout.granularity === 'channel' && layout.outer === 1 && layout.inner % perWord === 0) {
    const rows = Math.floor(maxElements / layout.inner);
    if (rows === 0) return undefined;
    const wins: Window[] = [];
    for (let r = 0; r < layout.axisLen; r += rows) {
      const n = Math.min(rows, layout.axisLen - r);
      wins.push({ start: r * layout.inner, len: n * layout.inner, paramBase: r, paramCount: n });
    }
    return { kernel: rowKernel === 'invocation' ? 'fused_blocks' : 'fused_rows', windows: wins };
  }
  if (
    layout.granularity === 'group' && layout.inner === 1 && layout.blockSize % perWord === 0 &&
    layout.axisLen % perWord === 0 && Math.min(layout.blockSize, layout.axisLen) <= maxElements
  ) {
    return { kernel: 'fused_blocks', windows: windows(layout, numel, maxElements) };
  }
  return undefined;
}

/**
 * The windows of a format's own block kernel: runs of whole blocks along the last axis (blocks
 * are contiguous there), each of at most `maxElements`, starting on words.
 */
export function blockWindows(layout: Layout, numel: number, maxElements: number): Window[] {
  const unit = lcm(8, layout.blockSize);
  const size = Math.max(unit, Math.floor(maxElements / unit) * unit);
  return chunks(numel, size).map((span) => ({
    ...span, paramBase: span.start / layout.blockSize, paramCount: Math.ceil(span.len / layout.blockSize),
  }));
}

/**
 * Whether every packed word's elements share one parameter (chunks start on words): per tensor,
 * channels whose rows are whole words, blocks along the last axis that start on words.
 */
export function uniformWords(layout: Layout, perWord: number): boolean {
  if (layout.granularity === 'tensor') return true;
  if (layout.granularity === 'channel') return layout.inner % perWord === 0;
  return layout.inner === 1 && layout.blockSize % perWord === 0 && layout.axisLen % perWord === 0;
}

export interface Plan {
  ctx: GpuContext;
  layout: Layout;
  numel: number;
  base: Omit<UniformValues, 'row_threads' | 'chunk_start' | 'chunk_len' | 'slices' | 'param_count' | 'param_base' | 'given'>;
}

export function makePlan(ctx: GpuContext, layout: Layout, scheme: QuantScheme, range: CodeRange, numel: number): Plan {
  if (numel >= 2 ** 31) {
    throw new QuantizationError(`the WebGPU backend handles tensors of fewer than 2^31 elements; this one has ${numel}`, {
      field: 'shape',
    });
  }
  return {
    ctx, layout, numel,
    base: {
      numel, outer: layout.outer, axis_len: layout.axisLen, inner: layout.inner, block: layout.blockSize,
      num_blocks: layout.numBlocks, granularity: GRANULARITY_CODES[layout.granularity], slice_len: SLICE_LEN,
      profile: PROFILE_CODES[scheme.profile], bits: bitsOf(scheme.dtype), qmin: range.qmin, qmax: range.qmax,
      symmetric: scheme.symmetric ? 1 : 0, subgroups: 0, uniform_words: 0, zero: 0, m_outer: 0, m_axis_len: 0, m_inner: 0,
    },
  };
}

/** How a parameter's members in one chunk are split: slices of a multiple of 4 (vec4 loads). */
export function slicing(members: number): { slices: number; sliceLen: number } {
  const slices = Math.max(1, Math.min(MAX_SLICES, Math.ceil(members / SLICE_LEN)));
  return { slices, sliceLen: Math.ceil(members / slices / 4) * 4 };
}
