// Quantizing a tensor too large to hold: its elements are read chunk by chunk from a source, and
// its codes are handed out chunk by chunk, with the same results as `quantize` on the whole tensor.
import { addDecodedErrors, addReconstructionErrors, emptySums, metricsFromSums, metricsLayout } from './cpu/metrics.js';
import { codesOfPacked, packCodes } from './cpu/pack.js';
import { findNonFinite } from './cpu/reduce.js';
import { codeParams, fastCodes, type FastPlan, fastParams, fastPlan, fastScan, fastStats, kernelLayout } from './fast/engine.js';
import { QuantizationError } from './errors.js';
import { metricsAxis, selectBackend } from './api.js';
import { bitsOf, isSigned, type Layout, lcm, nonFiniteError, shapeElements } from './layout.js';
import { calibrateOnCpu } from './schemes/calibrate.js';
import type { BlockFormat } from './schemes/format.js';
import { blockFormatOf, formatOf } from './schemes/registry.js';
import { resolveScheme } from './schemes/resolve.js';
import { readExactly } from './source.js';
import type { QuantOptions, QuantScheme, QuantizedTensor, TensorSource } from './types.js';
import { quantizeBlocksOnGpu } from './webgpu/blocks.js';
import { quantizeOnGpu } from './webgpu/engine.js';

export type { TensorSource } from './types.js';

/** One chunk of a streamed quantization: elements start … start + values.length − 1. */
export interface QuantizedChunk {
  start: number;
  values: Float32Array;
  codes: Int8Array | Uint8Array;
  /** The chunk's codes packed as in {@link QuantizedTensor} (a final partial word zero-filled). */
  packed: Uint32Array;
  /** A block format's blocks of this chunk (its chunks hold whole blocks; `codes` and `packed` are then empty). */
  blocks?: Uint8Array;
}

export interface StreamOptions extends Omit<QuantOptions, 'output' | 'maxChunkBytes'> {
  /**
   * Elements per chunk (default 4 Mi), rounded down to a multiple of `alignElements` and of 8 but
   * never below one such multiple; on WebGPU a per-group chunk also holds at least one block row
   * (a block along the axis for every index after it).
   */
  chunkElements?: number;
  /** Every chunk but the last is a multiple of this many elements (a row, for writers that encode rows). */
  alignElements?: number;
  /** Receives the scales and zero points, once, before the first chunk (never for a block format, whose blocks hold them). */
  onParams?: (params: Pick<QuantizedTensor, 'scales' | 'zeroPoints'>) => void | Promise<void>;
  /** Receives each chunk in order; the next one is made only once this returns (or resolves). */
  onChunk: (chunk: QuantizedChunk) => void | Promise<void>;
}

/** What a streamed quantization returns: everything {@link quantize} does but the codes. */
export type StreamedTensor = Omit<QuantizedTensor, 'codes' | 'packed'>;

const DEFAULT_CHUNK = 4 * 1024 * 1024;

/** Elements per chunk, and the multiple every chunk but the last is of. */
function chunkSize(options: StreamOptions): { size: number; unit: number } {
  const align = options.alignElements ?? 1;
  const max = options.chunkElements ?? DEFAULT_CHUNK;
  for (const [field, v] of [['alignElements', align], ['chunkElements', max]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new QuantizationError(`options.${field} must be a positive integer; got ${String(v)}`, { field: `options.${field}` });
    }
  }
  const unit = lcm(8, align);
  return { size: Math.max(unit, Math.floor(max / unit) * unit), unit };
}

/**
 * Quantizes a tensor of `shape` whose elements `source` reads on demand, in bounded memory: the
 * source is read once to calibrate and once to quantize (only once when it fits one chunk), and
 * each chunk's codes go to `options.onChunk`. Scales, zero points, codes and metrics equal those
 * of {@link quantize} on the whole tensor, on either backend.
 *
 * @example
 * await quantizeStream({ read: (start, n) => readRows(start, n) }, [4096, 4096], scheme, {
 *   onChunk: ({ start, packed }) => out.write(packed),
 * });
 */
export async function quantizeStream(
  source: TensorSource, shape: readonly number[], scheme: QuantScheme, options: StreamOptions,
): Promise<StreamedTensor> {
  const backend = selectBackend(options);
  if (typeof source?.read !== 'function') {
    throw new QuantizationError('source must have a read(start, length) method', { field: 'source' });
  }
  if (typeof options?.onChunk !== 'function') {
    throw new QuantizationError('options.onChunk must be a function', { field: 'options.onChunk' });
  }
  const numel = shapeElements(shape);
  const { scheme: resolved, layout } = resolveScheme(shape, scheme);
  const { size, unit } = chunkSize(options);
  const axis = metricsAxis(options, shape, resolved);
  const bits = bitsOf(resolved.dtype);
  const blockFormat = blockFormatOf(resolved);
  if (blockFormat) return streamBlocks(source, shape, resolved, layout, blockFormat, backend, options, axis);

  if (backend === 'webgpu') {
    // The GPU calibrates the blocks of a block row together, so its chunks hold at least one.
    const blockRow = layout.granularity === 'group' ? Math.min(layout.blockSize, layout.axisLen) * layout.inner : 0;
    const gpuSize = Math.max(size, Math.ceil(blockRow / unit) * unit);
    const r = await quantizeOnGpu(source, shape, layout, resolved, undefined, axis, { ...options, maxChunkBytes: gpuSize * 4 }, {
      alignElements: gpuSize,
      params: (scales, zeroPoints) => options.onParams?.({ scales, zeroPoints }),
      chunk: (start, values, packed) =>
        options.onChunk({ start, values, codes: codesOfPacked(packed, bits, values.length, isSigned(resolved.dtype)), packed }),
    });
    return {
      shape: [...shape], scheme: resolved, scales: r.scales, zeroPoints: r.zeroPoints, backend, adapter: r.adapter,
      ...(r.errors && axis !== undefined ? { metrics: metricsFromSums(r.errors, axis) } : {}),
    };
  }

  // One chunk is read once; more are read twice (three times for a calibrator that refines), since
  // every statistic must be in before any code.
  let cached: Float32Array | undefined;
  const read = async (start: number): Promise<Float32Array> => {
    options.signal?.throwIfAborted();
    if (cached && start === 0) return cached;
    const values = await readExactly(source, start, Math.min(size, numel - start));
    if (numel <= size) cached = values;
    return values;
  };
  const plan = backend === 'cpu' ? fastPlan(resolved, layout) : undefined;
  if (plan) return streamFast(read, numel, size, shape, resolved, layout, plan, axis, options);

  // The calibration pass sees every element first: it alone looks for NaN and ±Inf.
  let scanned = 0;
  const p = await calibrateOnCpu(resolved, layout, numel, async (start) => {
    const values = await read(start);
    if (start >= scanned) {
      const bad = findNonFinite(values);
      if (bad >= 0) throw nonFiniteError(values[bad], start + bad, shape);
      scanned = start + values.length;
    }
    return values;
  });
  const quantizeChunk = formatOf(resolved).cpu.quantizer(layout, resolved, p);
  await options.onParams?.({ scales: p.scales, zeroPoints: p.zeroPoints });
  const ml = axis === undefined ? undefined : metricsLayout(shape, axis);
  const sums = ml && emptySums(ml.paramCount);
  for (let start = 0; start < numel; start += size) {
    const values = await read(start);
    const codes = quantizeChunk(values, start);
    if (ml && sums) addReconstructionErrors(sums, ml, values, codes, start, layout, p.scales, p.zeroPoints);
    await options.onChunk({ start, values, codes, packed: packCodes(codes, bits) });
    options.onProgress?.({ stage: 'quantize', doneBytes: (start + values.length) * 4, totalBytes: numel * 4 });
  }
  return {
    shape: [...shape], scheme: resolved, scales: p.scales, zeroPoints: p.zeroPoints, backend,
    ...(sums && axis !== undefined ? { metrics: metricsFromSums(sums, axis) } : {}),
  };
}

/** The CPU path on the fast engine: statistics chunk by chunk, the format's parameters, then codes. */
async function streamFast(
  read: (start: number) => Promise<Float32Array>, numel: number, size: number, shape: readonly number[], scheme: QuantScheme,
  layout: Layout, plan: FastPlan, axis: number | undefined, options: StreamOptions,
): Promise<StreamedTensor> {
  const run = { workers: options.workers, simd: options.simd, signal: options.signal };
  const stats = fastStats(layout.paramCount);
  for (let start = 0; start < numel; start += size) {
    const values = await read(start);
    const bad = await fastScan(plan.L, values, start, stats, run);
    if (bad >= 0) throw nonFiniteError(values[bad - start], bad, shape);
  }
  const p = fastParams(plan, stats, scheme);
  const c = codeParams(plan, p);
  await options.onParams?.({ scales: p.scales, zeroPoints: p.zeroPoints });
  const ml = axis === undefined ? undefined : metricsLayout(shape, axis);
  const sums = ml && emptySums(ml.paramCount);
  const metrics = ml && sums && { M: kernelLayout(ml), sums };
  for (let start = 0; start < numel; start += size) {
    const values = await read(start);
    const { codes, packed } = await fastCodes(plan, values, start, c, metrics, run);
    await options.onChunk({ start, values, codes, packed });
    options.onProgress?.({ stage: 'quantize', doneBytes: (start + values.length) * 4, totalBytes: numel * 4 });
  }
  return {
    shape: [...shape], scheme, scales: p.scales, zeroPoints: p.zeroPoints, backend: 'cpu',
    ...(ml && sums ? { metrics: metricsFromSums(sums, ml.axis) } : {}),
  };
}

/**
 * A block format streamed: chunks of whole blocks (and of `alignElements`), each read once and
 * encoded by the format's kernel on WebGPU or its CPU reference otherwise; metrics from the decoded blocks.
 */
async function streamBlocks(
  source: TensorSource, shape: readonly number[], scheme: QuantScheme, layout: Layout, format: BlockFormat,
  backend: 'cpu' | 'reference' | 'webgpu', options: StreamOptions, axis: number | undefined,
): Promise<StreamedTensor> {
  const numel = shapeElements(shape);
  const { size: asked, unit: aligned } = chunkSize(options);
  const unit = lcm(aligned, format.blocks.blockElements);
  const size = Math.max(unit, Math.floor(asked / unit) * unit);
  const ml = axis === undefined ? undefined : metricsLayout(shape, axis);
  const sums = ml && emptySums(ml.paramCount);
  const empty = isSigned(scheme.dtype) ? new Int8Array(0) : new Uint8Array(0);
  const deliver = async (start: number, values: Float32Array, blocks: Uint8Array): Promise<void> => {
    if (ml && sums) addDecodedErrors(sums, ml, values, format.blocks.decode(blocks), start);
    await options.onChunk({ start, values, codes: empty, packed: new Uint32Array(0), blocks });
  };
  let adapter: StreamedTensor['adapter'];
  if (backend === 'webgpu') {
    const r = await quantizeBlocksOnGpu(source, shape, layout, scheme, format, { ...options, maxChunkBytes: size * 4 }, {
      alignElements: size,
      chunk: (start, values, blocks) => deliver(start, values as Float32Array, blocks),
    });
    adapter = r.adapter;
  } else {
    for (let start = 0; start < numel; start += size) {
      options.signal?.throwIfAborted();
      const values = await readExactly(source, start, Math.min(size, numel - start));
      const bad = findNonFinite(values);
      if (bad >= 0) throw nonFiniteError(values[bad], start + bad, shape);
      await deliver(start, values, format.blocks.encode(values, start));
      options.onProgress?.({ stage: 'quantize', doneBytes: (start + values.length) * 4, totalBytes: numel * 4 });
    }
  }
  return {
    shape: [...shape], scheme, scales: new Float32Array(0), zeroPoints: new Int32Array(0), backend, ...(adapter ? { adapter } : {}),
    ...(ml && sums ? { metrics: metricsFromSums(sums, ml.axis) } : {}),
  };
}
