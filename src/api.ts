import { symmetricZeroPoint } from './cpu/calibrate.js';
import { dequantizeCodes } from './cpu/dequantize.js';
import { emptySums, errorMetrics, metricsFromSums, metricsLayout, reconstructionMetrics } from './cpu/metrics.js';
import { codesOfPacked, packCodes } from './cpu/pack.js';
import { findNonFinite } from './cpu/reduce.js';
import { QuantizationError } from './errors.js';
import { codeParams, fastCodes, fastDequantize, type FastPlan, fastParams, fastPlan, fastScan, fastStats, kernelLayout } from './fast/engine.js';
import {
  bitsOf, checkDType, checkProfile, checkShape, fullRange, isSigned, type Layout, makeLayout, nonFiniteError, normalizeAxis, shapeElements,
} from './layout.js';
import type { BlockFormat, QParams } from './schemes/format.js';
import { calibrateOnCpu } from './schemes/calibrate.js';
import { blockFormatOf, formatOf } from './schemes/registry.js';
import { resolveScheme } from './schemes/resolve.js';
import type { Backend, GpuQuantizedTensor, QuantOptions, QuantParams, QuantScheme, QuantizedTensor } from './types.js';
import { dequantizeOnGpu } from './webgpu/dequantize.js';
import { quantizeBlocksOnGpu } from './webgpu/blocks.js';
import { type GpuInput, quantizeOnGpu } from './webgpu/engine.js';

const BACKENDS: readonly Backend[] = ['cpu', 'reference', 'webgpu'];

export function selectBackend(options: Pick<QuantOptions, 'backend'> | undefined): Backend {
  const backend = options?.backend ?? 'cpu';
  if (!BACKENDS.includes(backend)) {
    throw new QuantizationError(`options.backend must be 'cpu', 'reference' or 'webgpu'; got ${String(backend)}`, {
      field: 'options.backend',
    });
  }
  return backend;
}

function isGpuBuffer(x: unknown): x is GPUBuffer {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && typeof (x as GPUBuffer).mapAsync === 'function';
}

/** Shape and type checks; the CPU also scans for NaN/Inf here, the GPU does it in its kernels. */
function checkInput(x: GpuInput, shape: readonly number[], backend: Backend, options: QuantOptions | undefined): void {
  if (isGpuBuffer(x)) {
    if (backend !== 'webgpu' || !options?.device) {
      throw new QuantizationError("a GPUBuffer input needs backend: 'webgpu' and options.device, the device that owns it", {
        field: 'x',
      });
    }
    shapeElements(shape);
    return;
  }
  if (!(x instanceof Float32Array)) {
    throw new QuantizationError('x must be a Float32Array or a GPUBuffer', { field: 'x' });
  }
  checkShape(shape, x.length);
  if (options?.output === 'gpu' && backend !== 'webgpu') {
    throw new QuantizationError("output: 'gpu' needs backend: 'webgpu'", { field: 'options.output' });
  }
  // The fast engine finds NaN and ±Infinity as it reads the data.
  if (backend !== 'reference') return;
  const bad = findNonFinite(x);
  if (bad >= 0) throw nonFiniteError(x[bad], bad, shape);
}

/**
 * Quantizes `x` (row-major, of `shape`) by `scheme`, computing scales and zero points from the data.
 *
 * @example
 * const q = await quantize(weights, [out, inp], { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' });
 */
export async function quantize(
  x: GpuInput, shape: readonly number[], scheme: QuantScheme, options: QuantOptions & { output: 'gpu' },
): Promise<GpuQuantizedTensor>;
export async function quantize(
  x: GpuInput, shape: readonly number[], scheme: QuantScheme, options?: QuantOptions,
): Promise<QuantizedTensor>;
export async function quantize(
  x: GpuInput,
  shape: readonly number[],
  scheme: QuantScheme,
  options?: QuantOptions,
): Promise<QuantizedTensor | GpuQuantizedTensor> {
  const backend = selectBackend(options);
  checkInput(x, shape, backend, options);
  const { scheme: resolved, layout } = resolveScheme(shape, scheme);
  const blockFormat = blockFormatOf(resolved);
  if (blockFormat) return quantizeBlocks(x, shape, layout, resolved, blockFormat, backend, options);
  return produce(x, shape, layout, resolved, undefined, backend, options);
}

/** An empty code array of the scheme's signedness: what a block format's result holds for codes. */
function noCodes(scheme: QuantScheme): Int8Array | Uint8Array {
  return isSigned(scheme.dtype) ? new Int8Array(0) : new Uint8Array(0);
}

/**
 * A block format's result: its blocks from its kernel on WebGPU, else from its CPU reference (the
 * fast engine has no block formats; 'cpu' runs the reference). Metrics come from the decoded blocks.
 */
async function quantizeBlocks(
  x: GpuInput, shape: readonly number[], layout: Layout, scheme: QuantScheme, format: BlockFormat, backend: Backend,
  options: QuantOptions | undefined,
): Promise<QuantizedTensor> {
  if (options?.output === 'gpu') {
    throw new QuantizationError(`output: 'gpu' holds codes, scales and zero points; format ${format.name} makes blocks (use output: 'arrays')`, {
      field: 'options.output',
    });
  }
  const axis = metricsAxis(options, shape, scheme);
  if (axis !== undefined && !ArrayBuffer.isView(x)) {
    throw new QuantizationError(`metrics of format ${format.name} are measured on the CPU, from the input as a Float32Array; x is a GPUBuffer`, {
      field: 'options.metrics',
    });
  }
  let blocks: Uint8Array;
  let adapter: QuantizedTensor['adapter'];
  if (backend === 'webgpu') {
    const r = await quantizeBlocksOnGpu(x, shape, layout, scheme, format, options ?? {});
    blocks = r.blocks as Uint8Array;
    adapter = r.adapter;
  } else {
    options?.signal?.throwIfAborted();
    const values = x as Float32Array;
    const bad = findNonFinite(values);
    if (bad >= 0) throw nonFiniteError(values[bad], bad, shape);
    blocks = format.blocks.encode(values, 0);
  }
  return {
    shape: [...shape], scheme, codes: noCodes(scheme), packed: new Uint32Array(0), scales: new Float32Array(0),
    zeroPoints: new Int32Array(0), blocks, backend, ...(adapter ? { adapter } : {}),
    ...(axis !== undefined ? { metrics: errorMetrics(x as Float32Array, format.blocks.decode(blocks), shape, axis) } : {}),
  };
}

/** The weights of a block format's result, decoded by its CPU reference. */
function dequantizeBlocks(q: QuantizedTensor | GpuQuantizedTensor, format: BlockFormat, backend: Backend, options: QuantOptions | undefined): Float32Array {
  resolveScheme(q.shape, q.scheme);
  if (!('blocks' in q) || !(q.blocks instanceof Uint8Array)) {
    throw new QuantizationError(`a ${format.name} result holds its blocks in q.blocks, a Uint8Array`, { field: 'blocks' });
  }
  if (backend === 'webgpu' || options?.output === 'gpu') {
    throw new QuantizationError(`format ${format.name}'s blocks are decoded on the CPU: use backend 'cpu' or 'reference' and output 'arrays'`, {
      field: 'options.backend',
    });
  }
  const need = (shapeElements(q.shape) / format.blocks.blockElements) * format.blocks.blockBytes;
  if (q.blocks.length !== need) {
    throw new QuantizationError(`blocks holds ${q.blocks.length} bytes but the shape and scheme need ${need}`, { field: 'blocks' });
  }
  options?.signal?.throwIfAborted();
  return format.blocks.decode(q.blocks);
}

/** The axis metrics run along, or undefined when none were asked for. */
export function metricsAxis(options: Pick<QuantOptions, 'metrics'> | undefined, shape: readonly number[], scheme: QuantScheme): number | undefined {
  const m = options?.metrics;
  if (!m) return undefined;
  if (typeof m === 'object' && m.axis !== undefined) return normalizeAxis(m.axis, shape.length, 'options.metrics.axis');
  return scheme.granularity === 'channel' ? scheme.axis : 0;
}

/** The CPU's metrics for codes it made. */
function cpuMetrics(
  x: Float32Array, shape: readonly number[], layout: Layout, codes: Int8Array | Uint8Array, scales: Float32Array,
  zeroPoints: Int32Array, axis: number | undefined,
): Pick<QuantizedTensor, 'metrics'> {
  if (axis === undefined) return {};
  return { metrics: reconstructionMetrics(x, codes, layout, scales, zeroPoints, shape, axis) };
}

/**
 * Quantizes on the chosen backend: with the caller's parameters when `given` (codes saturate to the
 * full range), else with parameters calibrated from the data.
 */
async function produce(
  x: GpuInput, shape: readonly number[], layout: Layout, scheme: QuantScheme,
  given: { scales: Float32Array; zeroPoints: Int32Array } | undefined, backend: Backend, options: QuantOptions | undefined,
): Promise<QuantizedTensor | GpuQuantizedTensor> {
  const axis = metricsAxis(options, shape, scheme);
  if (options?.output === 'gpu') {
    const r = await quantizeOnGpu(x, shape, layout, scheme, given, axis, options, 'resident');
    return {
      shape: [...shape], scheme, ...r.buffers, backend: 'webgpu', adapter: r.adapter,
      ...(r.errors && axis !== undefined ? { metrics: metricsFromSums(r.errors, axis) } : {}),
    };
  }
  if (backend === 'webgpu' || !ArrayBuffer.isView(x)) {
    const r = await quantizeOnGpu(x, shape, layout, scheme, given, axis, options ?? {});
    return fromPacked(shape, scheme, r.packed, r.scales, r.zeroPoints, {
      backend, adapter: r.adapter, ...(r.errors && axis !== undefined ? { metrics: metricsFromSums(r.errors, axis) } : {}),
    });
  }
  options?.signal?.throwIfAborted();
  const plan = backend === 'cpu' ? fastPlan(scheme, layout) : undefined;
  if (plan) return quantizeFast(x, shape, layout, scheme, plan, given, axis, options ?? {});
  if (backend === 'cpu') {
    const bad = findNonFinite(x);
    if (bad >= 0) throw nonFiniteError(x[bad], bad, shape);
  }
  const p: QParams = given
    ? { ...given, codeScales: given.scales, range: fullRange(scheme.dtype) }
    : await calibrateOnCpu(scheme, layout, x.length, async () => x);
  const codes = formatOf(scheme).cpu.quantizer(layout, scheme, p)(x, 0);
  return {
    shape: [...shape], scheme, codes, packed: packCodes(codes, bitsOf(scheme.dtype)), scales: p.scales,
    zeroPoints: p.zeroPoints, backend, ...cpuMetrics(x, shape, layout, codes, p.scales, p.zeroPoints, axis),
  };
}

/**
 * The fast engine's result: statistics (or, with given parameters, only the NaN scan), the format's
 * parameters from the registry, then codes, packed words and metrics in one pass over the data.
 */
async function quantizeFast(
  x: Float32Array, shape: readonly number[], layout: Layout, scheme: QuantScheme, plan: FastPlan,
  given: { scales: Float32Array; zeroPoints: Int32Array } | undefined, axis: number | undefined, options: QuantOptions,
): Promise<QuantizedTensor> {
  const run = { workers: options.workers, simd: options.simd, signal: options.signal };
  const stats = fastStats(given ? 1 : layout.paramCount);
  const bad = await fastScan(given ? kernelLayout(makeLayout(shape, 'tensor', 0, 1)) : plan.L, x, 0, stats, run);
  if (bad >= 0) throw nonFiniteError(x[bad], bad, shape);
  const p: QParams = given
    ? { ...given, codeScales: given.scales, range: fullRange(scheme.dtype) }
    : fastParams(plan, stats, scheme);
  const ml = axis === undefined ? undefined : metricsLayout(shape, axis);
  const sums = ml && emptySums(ml.paramCount);
  const { codes, packed } = await fastCodes(plan, x, 0, codeParams(plan, p), ml && sums && { M: kernelLayout(ml), sums }, run);
  return {
    shape: [...shape], scheme, codes, packed, scales: p.scales, zeroPoints: p.zeroPoints, backend: 'cpu',
    ...(ml && sums && axis !== undefined ? { metrics: metricsFromSums(sums, ml.axis) } : {}),
  };
}

/** A result whose codes came back packed: the per-element codes are read from the words. */
function fromPacked(
  shape: readonly number[], scheme: QuantScheme, packed: Uint32Array, scales: Float32Array, zeroPoints: Int32Array,
  producer: Pick<QuantizedTensor, 'backend' | 'adapter'>,
): QuantizedTensor {
  const numel = shape.reduce((a, b) => a * b, 1);
  const codes = codesOfPacked(packed, bitsOf(scheme.dtype), numel, isSigned(scheme.dtype));
  return { shape: [...shape], scheme, codes, packed, scales, zeroPoints, ...producer };
}

function toInt32(values: Int32Array | number[] | undefined, count: number): Int32Array {
  if (values === undefined) return new Int32Array(count);
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

/**
 * Quantizes `x` with scales and zero points the caller already has (requantizing, calibrated
 * activation parameters, ONNX QuantizeLinear). One scale and no axis is per-tensor; an axis alone
 * is per-channel; an axis and a block size is blocked. Codes saturate to the type's full range.
 * Scales must be finite and > 0, except under `ggml`, whose stored `d` may be zero or negative.
 *
 * @example
 * const q = await quantizeWithParams(x, [4], { dtype: 'uint8', scales: [40 / 255], zeroPoints: [64] });
 */
export async function quantizeWithParams(
  x: GpuInput, shape: readonly number[], params: QuantParams, options: QuantOptions & { output: 'gpu' },
): Promise<GpuQuantizedTensor>;
export async function quantizeWithParams(
  x: GpuInput, shape: readonly number[], params: QuantParams, options?: QuantOptions,
): Promise<QuantizedTensor>;
export async function quantizeWithParams(
  x: GpuInput,
  shape: readonly number[],
  params: QuantParams,
  options?: QuantOptions,
): Promise<QuantizedTensor | GpuQuantizedTensor> {
  const backend = selectBackend(options);
  checkInput(x, shape, backend, options);
  const dtype = checkDType(params.dtype);
  const profile = checkProfile(params.profile ?? 'onnx');
  const { axis, blockSize } = params;
  if (params.calibration !== undefined && params.calibration !== 'minmax') {
    throw new QuantizationError(
      `params.calibration ${String(params.calibration)} searches the data for scales; quantizeWithParams uses the given ones (calibrate with quantize)`,
      { field: 'params.calibration' },
    );
  }
  if (blockSize !== undefined && axis === undefined) {
    throw new QuantizationError('blockSize needs an axis: blocks run along params.axis', { field: 'blockSize' });
  }
  const scheme: QuantScheme = {
    dtype,
    symmetric: true,
    granularity: axis === undefined ? 'tensor' : blockSize === undefined ? 'channel' : 'group',
    profile,
  };
  if (axis !== undefined) scheme.axis = axis;
  if (blockSize !== undefined) scheme.blockSize = blockSize;
  const { scheme: resolved, layout } = resolveScheme(shape, scheme);

  const count = layout.paramCount;
  const scales = params.scales instanceof Float32Array ? params.scales : Float32Array.from(params.scales);
  const what = { tensor: 'one scale (per-tensor)', channel: `one scale per index of axis ${layout.axis}`,
    group: `one scale per block of ${layout.blockSize} along axis ${layout.axis}` }[resolved.granularity];
  if (scales.length !== count) {
    throw new QuantizationError(`scales has ${scales.length} entries but ${what} needs ${count}`, { field: 'scales' });
  }
  const zeroPoints = toInt32(params.zeroPoints, count);
  if (zeroPoints.length !== count) {
    throw new QuantizationError(`zeroPoints has ${zeroPoints.length} entries but ${what} needs ${count}`, {
      field: 'zeroPoints',
    });
  }
  scales.forEach((s, p) => {
    const ok = Number.isFinite(s) && (profile === 'ggml' || s > 0);
    if (!ok) {
      throw new QuantizationError(
        `scales[${p}] is ${s}; a scale must be finite${profile === 'ggml' ? '' : ' and > 0'}`,
        { field: 'scales', index: p },
      );
    }
  });
  const range = fullRange(dtype);
  const zpSource = params.zeroPoints ?? [];
  zeroPoints.forEach((z, p) => {
    const given = zpSource[p] ?? z;
    if (!Number.isInteger(given) || given < range.qmin || given > range.qmax) {
      throw new QuantizationError(
        `zeroPoints[${p}] is ${given}, outside the ${dtype} range [${range.qmin}, ${range.qmax}]`,
        { field: 'zeroPoints', index: p },
      );
    }
    if (profile === 'ggml' && z !== 0) {
      throw new QuantizationError(`zeroPoints[${p}] is ${z}; the ggml formats have no zero point`, {
        field: 'zeroPoints', index: p,
      });
    }
  });
  const symZp = symmetricZeroPoint(profile, resolved);
  resolved.symmetric = zeroPoints.every((z) => z === symZp);
  return produce(x, shape, layout, resolved, { scales: Float32Array.from(scales), zeroPoints: Int32Array.from(zeroPoints) }, backend, options);
}

/**
 * Reconstructs `R = S·(Q − Z)` in float32 for every element of `q`: a result of {@link quantize},
 * or one left on the GPU (`output: 'gpu'`, then with `backend: 'webgpu'` and its `device`).
 * `output: 'gpu'` returns R as a GPU buffer the caller owns.
 *
 * @example
 * const approx = await dequantize(await quantize(x, shape, scheme));
 */
export async function dequantize(
  q: QuantizedTensor | GpuQuantizedTensor, options: QuantOptions & { output: 'gpu' },
): Promise<GPUBuffer>;
export async function dequantize(q: QuantizedTensor | GpuQuantizedTensor, options?: QuantOptions): Promise<Float32Array>;
export async function dequantize(
  q: QuantizedTensor | GpuQuantizedTensor, options?: QuantOptions,
): Promise<Float32Array | GPUBuffer> {
  const backend = selectBackend(options);
  const blockFormat = typeof q?.scheme === 'object' && q.scheme !== null ? blockFormatOf(q.scheme) : undefined;
  if (blockFormat) return dequantizeBlocks(q, blockFormat, backend, options);
  const numel = shapeElements(q.shape);
  if ('codes' in q) checkShape(q.shape, q.codes.length);
  const { scheme, layout } = resolveScheme(q.shape, q.scheme);
  const words = Math.ceil(numel / (32 / bitsOf(scheme.dtype)));
  if ('codes' in q) {
    const wantSigned = isSigned(q.scheme.dtype);
    if ((q.codes instanceof Int8Array) !== wantSigned) {
      throw new QuantizationError(`codes must be ${wantSigned ? 'an Int8Array' : 'a Uint8Array'} for ${q.scheme.dtype}`, {
        field: 'codes',
      });
    }
  } else if (backend !== 'webgpu' || !options?.device) {
    throw new QuantizationError("a tensor left on the GPU needs backend: 'webgpu' and options.device, the device that owns it", {
      field: 'q',
    });
  }
  const sizes: [string, number, number][] = [
    ['scales', byteSize(q.scales), layout.paramCount * 4],
    ['zeroPoints', byteSize(q.zeroPoints), layout.paramCount * 4],
    ['packed', byteSize(q.packed), words * 4],
  ];
  for (const [field, have, need] of sizes) {
    if (have < need || ('codes' in q && have !== need)) {
      throw new QuantizationError(`${field} holds ${have} bytes but the shape and scheme need ${need}`, { field });
    }
  }
  if (options?.output === 'gpu') {
    if (backend !== 'webgpu') throw new QuantizationError("output: 'gpu' needs backend: 'webgpu'", { field: 'options.output' });
    return (await dequantizeOnGpu(q, q.shape, layout, scheme, options, true)).buffer;
  }
  if (backend === 'webgpu' || !('codes' in q)) {
    return (await dequantizeOnGpu(q, q.shape, layout, scheme, options ?? {})).values;
  }
  if (backend === 'reference') return dequantizeCodes(q.codes, layout, q.scales, q.zeroPoints);
  return fastDequantize(layout, q.codes, q.scales, q.zeroPoints);
}

function byteSize(data: ArrayBufferView | GPUBuffer): number {
  return ArrayBuffer.isView(data) ? data.byteLength : data.size;
}
