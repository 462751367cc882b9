// WebGPU implementations of quantize and dequantize: the same results as src/cpu/, bit for bit.
import { codeRange } from '../cpu/calibrate.js';
import { emptySums, type ErrorSums, metricsLayout } from '../cpu/metrics.js';
import { QuantizationError } from '../errors.js';
import { bitsOf, type CodeRange, fullRange, type Layout, lcm, nonFiniteError } from '../layout.js';
import type { QuantScheme } from '../types.js';
import { gpuContext, type AdapterFacts, type GpuContext } from './device.js';
import { type Binding, guarded, type Scratch, Usage, WORKGROUP_SIZE } from './gpu.js';
import { QUANTIZE_RUN_WORDS, type UniformValues } from './shaders.js';

/** Progress of a long operation, reported after each chunk. */
export interface Progress {
  stage: 'reduce' | 'quantize' | 'dequantize';
  /** Bytes of input processed so far in this stage, and in all. */
  doneBytes: number;
  totalBytes: number;
}

export interface GpuOptions {
  /** Run on this device instead of one the library acquires. */
  device?: GPUDevice;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /**
   * How the one-pass kernel for per-channel rows spreads a row: over a workgroup of invocations
   * that fold their partials through subgroup operations (`'subgroup'`, the default on hardware
   * GPUs whose device has the `subgroups` feature) or through workgroup memory alone
   * (`'workgroup'`, the default on other hardware GPUs) — both keep loads coalesced and the
   * device occupied, and keep a row that fits the device's workgroup memory there, so it is read
   * once — or within one invocation (`'invocation'`, the default on adapters that emulate a GPU on
   * the CPU, where a workgroup barrier is a costly switch between coroutines and workgroup memory
   * costs a zero fill per workgroup).
   * All give the same bits; the choice is for speed only.
   */
  rowKernel?: 'subgroup' | 'workgroup' | 'invocation';
  /**
   * Largest chunk of the input bound at once, in bytes. Defaults to what the device allows
   * (maxStorageBufferBindingSize and maxBufferSize); set it lower to bound GPU memory.
   */
  maxChunkBytes?: number;
}

/** Elements each reduction invocation walks. */
const SLICE_LEN = 256;
/**
 * Reduction slices per parameter at most: combine.wgsl folds a parameter's slices in order in one
 * invocation, so a per-tensor reduction of millions of elements takes longer slices instead.
 */
const MAX_SLICES = 1024;
/** Words per (parameter, slice) statistics record; see shaders/reduce.wgsl. */
const STAT_WORDS = 7;
/** Words per (channel, slice) error record; see shaders/metrics.wgsl. */
const METRIC_WORDS = 4;
const NO_INDEX = 0xffffffff;
/** Windows an array-to-array one-pass quantization is cut into, each of at least this many elements. */
const PIPELINE_WINDOWS = 4;
const PIPELINE_MIN_ELEMENTS = 1 << 20;
const PROFILES = { onnx: 0, pytorch: 1, ggml: 2 } as const;
const GRANULARITIES = { tensor: 0, channel: 1, group: 2 } as const;

interface Span {
  start: number;
  len: number;
}

/** A run of elements whose parameters are all calibrated together. */
interface Window extends Span {
  paramBase: number;
  paramCount: number;
}

/** Elements per chunk: what the device and options allow, a multiple of 8 and of `align`. */
function chunkElements(ctx: GpuContext, options: GpuOptions, align = 8): number {
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
function chunks(numel: number, max: number): Span[] {
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
function windows(layout: Layout, numel: number, maxElements: number): Window[] {
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

function membersPerParam(layout: Layout, numel: number): number {
  return layout.granularity === 'tensor' ? numel : layout.granularity === 'channel' ? layout.outer * layout.inner : layout.blockSize;
}

/**
 * The one-pass kernel for a layout whose parameters are contiguous runs that start on words —
 * rows (per channel, quantized axis first) or blocks along the last axis — with the windows it
 * runs over (whole rows or blocks, at most a chunk each); undefined where the layout needs the
 * general reduce → calibrate → quantize passes.
 */
function fusedPlan(
  layout: Layout, numel: number, bits: number, maxElements: number, rowKernel: RowKernel,
): { kernel: 'fused_rows' | 'fused_blocks'; windows: Window[] } | undefined {
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
 * Whether every packed word's elements share one parameter (chunks start on words): per tensor,
 * channels whose rows are whole words, blocks along the last axis that start on words.
 */
function uniformWords(layout: Layout, perWord: number): boolean {
  if (layout.granularity === 'tensor') return true;
  if (layout.granularity === 'channel') return layout.inner % perWord === 0;
  return layout.inner === 1 && layout.blockSize % perWord === 0 && layout.axisLen % perWord === 0;
}

type RowKernel = NonNullable<GpuOptions['rowKernel']>;

/** Invocations per row of fused_rows.wgsl: its dispatch size and its WG. */
const ROW_WG = WORKGROUP_SIZE;

/**
 * Workgroup memory fused_rows.wgsl declares besides the held row, as WebGPU counts it (each
 * variable rounded up to 16 bytes): three partials per invocation, the subgroup library's slot
 * counter and the row's QParams.
 */
const ROW_KERNEL_OWN_BYTES = 3 * Math.ceil((4 * ROW_WG) / 16) * 16 + 16 + 16;

/**
 * How many vec4s of a row fused_rows.wgsl keeps in workgroup memory (its ROW_QUADS): room for a
 * whole row of `inner` elements, rounded up to a whole number per invocation (so that a model's
 * few row widths share a few pipelines) within what the device allows; 1 where the device's
 * workgroup memory cannot hold one, and the kernel reads the row again instead.
 */
function heldRowQuads(device: GPUDevice, inner: number): number {
  const capacity = Math.floor((device.limits.maxComputeWorkgroupStorageSize - ROW_KERNEL_OWN_BYTES) / 16);
  const quads = inner / 4;
  if (quads > capacity) return 1;
  return Math.min(Math.ceil(quads / ROW_WG) * ROW_WG, capacity);
}

function chooseRowKernel(ctx: GpuContext, options: GpuOptions): RowKernel {
  const subgroups = ctx.device.features.has('subgroups');
  const kernel = options.rowKernel ?? (ctx.adapter.isFallback ? 'invocation' : subgroups ? 'subgroup' : 'workgroup');
  if (!['subgroup', 'workgroup', 'invocation'].includes(kernel)) {
    throw new QuantizationError(`options.rowKernel must be 'subgroup', 'workgroup' or 'invocation'; got ${String(kernel)}`, {
      field: 'options.rowKernel',
    });
  }
  if (kernel === 'subgroup' && !subgroups) {
    throw new QuantizationError("options.rowKernel 'subgroup' needs a device with the 'subgroups' feature; this one has none", {
      field: 'options.rowKernel',
    });
  }
  return kernel;
}

interface Plan {
  ctx: GpuContext;
  layout: Layout;
  numel: number;
  base: Omit<UniformValues, 'row_threads' | 'chunk_start' | 'chunk_len' | 'slices' | 'param_count' | 'param_base' | 'given'>;
}

function makePlan(ctx: GpuContext, layout: Layout, scheme: QuantScheme, range: CodeRange, numel: number): Plan {
  if (numel >= 2 ** 31) {
    throw new QuantizationError(`the WebGPU backend handles tensors of fewer than 2^31 elements; this one has ${numel}`, {
      field: 'shape',
    });
  }
  return {
    ctx, layout, numel,
    base: {
      numel, outer: layout.outer, axis_len: layout.axisLen, inner: layout.inner, block: layout.blockSize,
      num_blocks: layout.numBlocks, granularity: GRANULARITIES[layout.granularity], slice_len: SLICE_LEN,
      profile: PROFILES[scheme.profile], bits: bitsOf(scheme.dtype), qmin: range.qmin, qmax: range.qmax,
      symmetric: scheme.symmetric ? 1 : 0, subgroups: 0, uniform_words: 0, zero: 0, m_outer: 0, m_axis_len: 0, m_inner: 0,
    },
  };
}

/** A tensor's values: in CPU memory, or already in a GPU buffer of the same device. */
export type GpuInput = Float32Array | GPUBuffer;

/** A tensor's elements read on demand, in row-major order: `length` of them from flat index `start`. */
export interface TensorSource {
  read(start: number, length: number): Promise<Float32Array>;
}

function isSource(x: GpuInput | TensorSource): x is TensorSource {
  return !ArrayBuffer.isView(x) && typeof (x as TensorSource).read === 'function';
}

/** `len` elements from `start` of `source`, or an error saying what it gave instead. */
export async function readExactly(source: TensorSource, start: number, len: number): Promise<Float32Array> {
  const values = await source.read(start, len);
  if (values?.length !== len) {
    throw new QuantizationError(`the source gave ${values?.length} elements from ${start}; ${len} were asked for`, {
      field: 'source',
    });
  }
  return values;
}

/** Puts one span of the input at the start of `buffer`, for binding; `values` are its elements on the CPU. */
interface Stager {
  buffer: GPUBuffer;
  stage(span: Span): Promise<void>;
  values: Float32Array | undefined;
}

/**
 * The stager for `x`, whose spans hold at most `largestSpan` elements; a GPU buffer of at most
 * `maxElements` is bound as it is.
 */
function stager(s: Scratch, x: GpuInput | TensorSource, numel: number, maxElements: number, largestSpan: number): Stager {
  const { device } = s.ctx;
  if (!ArrayBuffer.isView(x) && !isSource(x) && numel <= maxElements && (x.usage & Usage.STORAGE) !== 0) {
    return { buffer: x, stage: async () => {}, values: undefined };
  }
  const buffer = s.storage('input chunk', Math.min(numel, largestSpan) * 4);
  let staged: Span | undefined;
  const st: Stager = {
    buffer,
    values: undefined,
    async stage(span) {
      if (staged?.start === span.start && staged.len === span.len) return;
      staged = undefined;
      if (isSource(x)) {
        const values = await readExactly(x, span.start, span.len);
        st.values = values;
        device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
      } else if (ArrayBuffer.isView(x)) {
        st.values = x.subarray(span.start, span.start + span.len);
        device.queue.writeBuffer(buffer, 0, x.buffer, x.byteOffset + span.start * 4, span.len * 4);
      } else {
        const encoder = device.createCommandEncoder({ label: 'stage input' });
        encoder.copyBufferToBuffer(x, span.start * 4, buffer, 0, span.len * 4);
        device.queue.submit([encoder.finish()]);
      }
      staged = span;
    },
  };
  return st;
}

/** Per-parameter buffers, for the whole tensor. */
interface ParamBuffers {
  scales: GPUBuffer;
  zeroPoints: GPUBuffer;
  codeScales: GPUBuffer;
  inverses: GPUBuffer;
}

function paramBuffers(s: Scratch, count: number): ParamBuffers {
  return {
    scales: s.storage('scales', count * 4),
    zeroPoints: s.storage('zero points', count * 4),
    codeScales: s.storage('code scales', count * 4),
    inverses: s.storage('inverses', count * 4),
  };
}

/** How a parameter's members in one chunk are split: slices of a multiple of 4 (vec4 loads). */
function slicing(members: number): { slices: number; sliceLen: number } {
  const slices = Math.max(1, Math.min(MAX_SLICES, Math.ceil(members / SLICE_LEN)));
  return { slices, sliceLen: Math.ceil(members / slices / 4) * 4 };
}

/** Reduces and calibrates every window, leaving scales and zero points in `params`. */
async function calibrateOnGpu(
  s: Scratch, plan: Plan, input: Stager, params: ParamBuffers, firstBad: GPUBuffer, maxElements: number, options: GpuOptions,
): Promise<void> {
  const { ctx, layout, numel } = plan;
  const wins = windows(layout, numel, maxElements);
  const largest = Math.max(...wins.map((w) => w.paramCount));
  const maxSlices = slicing(Math.min(membersPerParam(layout, numel), maxElements)).slices;
  const stats = s.storage('statistics', largest * STAT_WORDS * 4);
  const partials = s.storage('partial statistics', largest * maxSlices * STAT_WORDS * 4);
  const init = new Uint32Array(largest * STAT_WORDS);
  for (let p = 0; p < largest; p++) init[p * STAT_WORDS + 6] = NO_INDEX;
  let done = 0;
  for (const win of wins) {
    ctx.device.queue.writeBuffer(stats, 0, init);
    const spans = layout.granularity === 'group' ? [{ start: win.start, len: win.len }] : chunks(numel, maxElements);
    for (const span of spans) {
      options.signal?.throwIfAborted();
      await input.stage(span);
      const { slices, sliceLen } = slicing(Math.min(membersPerParam(layout, numel), span.len));
      const values = {
        ...plan.base, chunk_start: span.start, chunk_len: span.len, slices, slice_len: sliceLen, param_count: win.paramCount,
        param_base: win.paramBase, given: 0,
      };
      const encoder = ctx.device.createCommandEncoder({ label: 'reduce' });
      s.dispatch(encoder, 'reduce', win.paramCount * slices, values, [input.buffer, partials]);
      s.dispatch(encoder, 'combine', win.paramCount, values, [partials, stats]);
      ctx.device.queue.submit([encoder.finish()]);
      done += span.len * 4;
      options.onProgress?.({ stage: 'reduce', doneBytes: done, totalBytes: numel * 4 });
    }
    const encoder = ctx.device.createCommandEncoder({ label: 'calibrate' });
    s.dispatch(encoder, 'calibrate', win.paramCount, {
      ...plan.base, chunk_start: win.start, chunk_len: win.len, slices: 1, param_count: win.paramCount,
      param_base: win.paramBase, given: 0,
    }, [stats, params.scales, params.zeroPoints, params.codeScales, params.inverses, firstBad]);
    ctx.device.queue.submit([encoder.finish()]);
  }
}

/** Results left on the GPU: the caller owns (and destroys) the buffers. */
export interface GpuBuffers {
  packed: GPUBuffer;
  scales: GPUBuffer;
  zeroPoints: GPUBuffer;
}

export interface GpuQuantized {
  packed: Uint32Array;
  scales: Float32Array;
  zeroPoints: Int32Array;
  adapter: AdapterFacts;
  /** Per-channel error sums along the requested metrics axis. */
  errors?: ErrorSums;
}

/** Accumulates metrics.wgsl's per-(channel, slice) records of one chunk into float64 sums. */
function addErrorRecords(sums: ErrorSums, records: Float32Array, slices: number): void {
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

/** Where a streamed quantization delivers its results: the parameters first, then chunk by chunk. */
export interface ChunkSink {
  /** Chunks start at multiples of this many elements (and of 8). */
  alignElements: number;
  params(scales: Float32Array, zeroPoints: Int32Array): void | Promise<void>;
  /** The chunk's input elements and its packed codes (a final partial word zero-filled). */
  chunk(start: number, values: Float32Array, packed: Uint32Array): void | Promise<void>;
}

/** Arrays read back, buffers left on the GPU, or chunks handed to a sink as they are made. */
export type GpuOutput = 'arrays' | 'resident' | ChunkSink;

type Resident = Omit<GpuQuantized, 'packed' | 'scales' | 'zeroPoints'> & { buffers: GpuBuffers };
type Streamed = Omit<GpuQuantized, 'packed'>;

export function quantizeOnGpu(
  x: GpuInput, shape: readonly number[], layout: Layout, scheme: QuantScheme,
  given: { scales: Float32Array; zeroPoints: Int32Array } | undefined, metricsAxis: number | undefined,
  options: GpuOptions, output: 'resident',
): Promise<Resident>;
export function quantizeOnGpu(
  x: GpuInput, shape: readonly number[], layout: Layout, scheme: QuantScheme,
  given: { scales: Float32Array; zeroPoints: Int32Array } | undefined, metricsAxis: number | undefined,
  options: GpuOptions, output?: 'arrays',
): Promise<GpuQuantized>;
export function quantizeOnGpu(
  x: TensorSource, shape: readonly number[], layout: Layout, scheme: QuantScheme,
  given: undefined, metricsAxis: number | undefined, options: GpuOptions, output: ChunkSink,
): Promise<Streamed>;
/**
 * Quantizes `x` on the GPU. Without `given`, scales and zero points come from the data (reduce →
 * combine → calibrate); with it, they are the caller's and codes saturate to the full range.
 * `output` says where results go: read back as arrays, left in GPU buffers the caller owns, or
 * handed chunk by chunk to a sink so that no whole-tensor array is ever held.
 */
export async function quantizeOnGpu(
  x: GpuInput | TensorSource, shape: readonly number[], layout: Layout, scheme: QuantScheme,
  given: { scales: Float32Array; zeroPoints: Int32Array } | undefined, metricsAxis: number | undefined,
  options: GpuOptions, output: GpuOutput = 'arrays',
): Promise<GpuQuantized | Resident | Streamed> {
  const ctx = await gpuContext(options.device);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (!ArrayBuffer.isView(x) && !isSource(x) && x.size < numel * 4) {
    throw new QuantizationError(`the input buffer holds ${x.size} bytes; shape [${shape.join(', ')}] needs ${numel * 4}`, {
      field: 'x',
    });
  }
  const sink = typeof output === 'object' ? output : undefined;
  const resident = output === 'resident';
  const range = given ? fullRange(scheme.dtype) : codeRange(scheme);
  const plan = makePlan(ctx, layout, scheme, range, numel);
  const maxElements = chunkElements(ctx, options, sink?.alignElements);
  return guarded(ctx, `quantizing a [${shape.join(', ')}] tensor`, async (s) => {
    const perWord = 32 / bitsOf(scheme.dtype);
    const spans = chunks(numel, maxElements);
    const rowKernel = chooseRowKernel(ctx, options);
    // Arrays in and out: several windows, so that each one's upload overlaps the previous one's
    // compute and readback (one pass over the data, so nothing is uploaded twice).
    const windowElements = output === 'arrays' && ArrayBuffer.isView(x)
      ? Math.min(maxElements, Math.max(PIPELINE_MIN_ELEMENTS, Math.ceil(numel / PIPELINE_WINDOWS))) : maxElements;
    const fused = given || sink ? undefined : fusedPlan(layout, numel, bitsOf(scheme.dtype), windowElements, rowKernel);
    // Windows are staged one after another into the same place: queue order keeps each upload
    // behind the work on the window before, so the staging buffer need only hold the largest.
    const staged = fused ? Math.max(...fused.windows.map((w) => w.len)) : maxElements;
    const input = stager(s, x, numel, maxElements, staged);
    const params = paramBuffers(s, layout.paramCount);
    const firstBad = s.storage('first non-finite index', 4);
    ctx.device.queue.writeBuffer(firstBad, 0, Uint32Array.of(NO_INDEX));
    if (given) {
      ctx.device.queue.writeBuffer(params.scales, 0, given.scales);
      ctx.device.queue.writeBuffer(params.zeroPoints, 0, given.zeroPoints);
      const encoder = ctx.device.createCommandEncoder({ label: 'prepare parameters' });
      s.dispatch(encoder, 'calibrate', layout.paramCount, {
        ...plan.base, chunk_start: 0, chunk_len: numel, slices: 1, param_count: layout.paramCount, param_base: 0,
        given: 1,
      }, [s.storage('no statistics', 4 * STAT_WORDS), params.scales, params.zeroPoints, params.codeScales, params.inverses, firstBad]);
      ctx.device.queue.submit([encoder.finish()]);
    } else if (numel > 0 && !fused) {
      await calibrateOnGpu(s, plan, input, params, firstBad, maxElements, options);
    }
    const readParams = async () => ({
      scales: new Float32Array(await s.read(params.scales, 0, layout.paramCount * 4)),
      zeroPoints: new Int32Array(await s.read(params.zeroPoints, 0, layout.paramCount * 4)),
    });
    // A sink gets nothing made from a non-finite input, its parameters included: without caller
    // scales or one-pass kernels the reduction has already found any NaN or ±Inf.
    if (sink) await checkFinite(s, firstBad, x, shape);
    const streamedParams = sink ? await readParams() : undefined;
    if (sink && streamedParams) await sink.params(streamedParams.scales, streamedParams.zeroPoints);

    const totalWords = Math.ceil(numel / perWord);
    const out = s.storage('packed chunk', Math.ceil(Math.min(numel, staged) / perWord) * 4);
    const rowOverrides = fused?.kernel === 'fused_rows' ? { WG: ROW_WG, ROW_QUADS: heldRowQuads(ctx.device, layout.inner) } : undefined;
    const passes: Window[] = fused?.windows ?? spans.map((sp) => ({ ...sp, paramBase: 0, paramCount: layout.paramCount }));
    // One pass's readback is the result as it is; several are assembled.
    const assembled = output === 'arrays' && passes.length > 1 ? new Uint32Array(totalWords) : undefined;
    let packed = output === 'arrays' ? (assembled ?? new Uint32Array(0)) : undefined;
    // A resident result of one chunk is the chunk buffer itself; of several, they are copied in.
    const keptPacked = resident ? (passes.length > 1 ? s.storage('packed codes', totalWords * 4) : out) : undefined;
    const m = metricsAxis === undefined ? undefined : metricsLayout(shape, metricsAxis);
    const errors: ErrorSums | undefined = m && emptySums(m.paramCount);
    const metricSlices = m ? Math.max(1, Math.ceil(Math.min(m.outer * m.inner, maxElements) / SLICE_LEN)) : 0;
    const records = m && s.storage('error records', m.paramCount * metricSlices * METRIC_WORDS * 4);
    const reads: Promise<void>[] = [];
    // A failure part way (abort, device loss) destroys the staging buffers of readbacks still in
    // flight; their rejections are the same failure, so they must not surface unhandled.
    const track = (read: Promise<void>) => {
      read.catch(() => {});
      reads.push(read);
    };
    for (const span of passes) {
      options.signal?.throwIfAborted();
      await input.stage(span);
      const words = Math.ceil(span.len / perWord);
      const encoder = ctx.device.createCommandEncoder({ label: 'quantize' });
      const values = {
        ...plan.base, chunk_start: span.start, chunk_len: span.len, slices: 1, param_count: span.paramCount,
        param_base: span.paramBase, given: given ? 1 : 0,
      };
      if (rowOverrides) {
        s.dispatch(encoder, 'fused_rows', span.paramCount * ROW_WG, { ...values, subgroups: rowKernel === 'subgroup' ? 1 : 0 }, [
          input.buffer, params.scales, params.zeroPoints, out, firstBad,
        ], rowOverrides);
      } else if (fused) {
        s.dispatch(encoder, 'fused_blocks', span.paramCount, values, [input.buffer, params.scales, params.zeroPoints, out, firstBad]);
      } else {
        const threads = layout.granularity === 'tensor' ? Math.ceil(words / QUANTIZE_RUN_WORDS) : words;
        s.dispatch(encoder, 'quantize', threads, { ...values, uniform_words: uniformWords(layout, perWord) ? 1 : 0 }, [
          input.buffer, params.codeScales, params.inverses, params.zeroPoints, out, firstBad,
        ]);
      }
      let slices = 0;
      if (m && records) {
        slices = Math.max(1, Math.ceil(Math.min(m.outer * m.inner, span.len) / SLICE_LEN));
        s.dispatch(encoder, 'metrics', m.paramCount * slices, {
          ...values, slices, param_base: 0, m_outer: m.outer, m_axis_len: m.axisLen, m_inner: m.inner,
        }, [input.buffer, out, params.scales, params.zeroPoints, records]);
      }
      if (keptPacked) {
        if (keptPacked !== out) encoder.copyBufferToBuffer(out, 0, keptPacked, (span.start / perWord) * 4, words * 4);
        ctx.device.queue.submit([encoder.finish()]);
      } else if (sink && input.values) {
        await sink.chunk(span.start, input.values, new Uint32Array(await s.read(out, 0, words * 4, encoder)));
      } else {
        // Not awaited: the next pass's upload and dispatch are queued while this one's codes come
        // back. Readbacks resolve in queue order, and each has its own staging buffer.
        const start = span.start;
        track(s.read(out, 0, words * 4, encoder).then((bytes) => {
          if (assembled) assembled.set(new Uint32Array(bytes), start / perWord);
          else packed = new Uint32Array(bytes);
        }));
      }
      if (m && errors && records) {
        track(s.read(records, 0, m.paramCount * slices * METRIC_WORDS * 4).then((bytes) => {
          addErrorRecords(errors, new Float32Array(bytes), slices);
        }));
      }
      options.onProgress?.({ stage: 'quantize', doneBytes: (span.start + span.len) * 4, totalBytes: numel * 4 });
    }
    await Promise.all(reads);
    if (!sink) await checkFinite(s, firstBad, x, shape);
    const extra = { adapter: ctx.adapter, ...(errors ? { errors } : {}) };
    if (keptPacked) {
      return { ...extra, buffers: { packed: s.keep(keptPacked), scales: s.keep(params.scales), zeroPoints: s.keep(params.zeroPoints) } };
    }
    const { scales, zeroPoints } = streamedParams ?? await readParams();
    return packed ? { packed, scales, zeroPoints, ...extra } : { scales, zeroPoints, ...extra };
  });
}

/** Throws, naming the element, when a kernel saw a NaN or ±Inf. */
async function checkFinite(s: Scratch, firstBad: GPUBuffer, x: GpuInput | TensorSource, shape: readonly number[]): Promise<void> {
  const bad = new Uint32Array(await s.read(firstBad, 0, 4))[0] ?? NO_INDEX;
  if (bad === NO_INDEX) return;
  throw nonFiniteError(ArrayBuffer.isView(x) ? x[bad] : isSource(x) ? (await x.read(bad, 1))[0] : undefined, bad, shape);
}

/** A quantized tensor's parts, in CPU memory or in GPU buffers of the same device. */
export interface GpuDequantizeSource {
  packed: Uint32Array | GPUBuffer;
  scales: Float32Array | GPUBuffer;
  zeroPoints: Int32Array | GPUBuffer;
}

/** Binds an array (uploaded) or a caller's buffer (as is). */
function bindable(s: Scratch, label: string, data: Float32Array | Int32Array | GPUBuffer): GPUBuffer {
  if (!ArrayBuffer.isView(data)) return data;
  const buffer = s.storage(label, data.byteLength);
  s.ctx.device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

export function dequantizeOnGpu(
  source: GpuDequantizeSource, shape: readonly number[], layout: Layout, scheme: QuantScheme, options: GpuOptions,
  resident: true,
): Promise<{ buffer: GPUBuffer; adapter: AdapterFacts }>;
export function dequantizeOnGpu(
  source: GpuDequantizeSource, shape: readonly number[], layout: Layout, scheme: QuantScheme, options: GpuOptions,
  resident?: false,
): Promise<{ values: Float32Array; adapter: AdapterFacts }>;
/** R = S·(Q − Z) on the GPU, from packed codes; `resident` leaves R in a GPU buffer the caller owns. */
export async function dequantizeOnGpu(
  source: GpuDequantizeSource, shape: readonly number[], layout: Layout, scheme: QuantScheme, options: GpuOptions,
  resident = false,
): Promise<{ values: Float32Array; adapter: AdapterFacts } | { buffer: GPUBuffer; adapter: AdapterFacts }> {
  const ctx = await gpuContext(options.device);
  const numel = shape.reduce((a, b) => a * b, 1);
  const plan = makePlan(ctx, layout, scheme, fullRange(scheme.dtype), numel);
  const maxElements = chunkElements(ctx, options);
  return guarded(ctx, `dequantizing a [${shape.join(', ')}] tensor`, async (s) => {
    const { device } = ctx;
    const perWord = 32 / bitsOf(scheme.dtype);
    const spans = chunks(numel, maxElements);
    const values = resident ? undefined : new Float32Array(numel);
    const sc = bindable(s, 'scales', source.scales);
    const zp = bindable(s, 'zero points', source.zeroPoints);
    const codes = s.storage('packed chunk', Math.ceil(Math.min(numel, maxElements) / perWord) * 4);
    const out = s.storage('output chunk', Math.min(numel, maxElements) * 4);
    const kept = resident ? (spans.length > 1 ? s.storage('dequantized', numel * 4) : out) : undefined;
    for (const span of spans) {
      options.signal?.throwIfAborted();
      const words = Math.ceil(span.len / perWord);
      const encoder = device.createCommandEncoder({ label: 'dequantize' });
      if (ArrayBuffer.isView(source.packed)) {
        device.queue.writeBuffer(codes, 0, source.packed, span.start / perWord, words);
      } else {
        encoder.copyBufferToBuffer(source.packed, (span.start / perWord) * 4, codes, 0, words * 4);
      }
      const bindings: Binding[] = [codes, sc, zp, out];
      s.dispatch(encoder, 'dequantize', words, {
        ...plan.base, chunk_start: span.start, chunk_len: span.len, slices: 1, param_count: layout.paramCount,
        param_base: 0, given: 0,
      }, bindings);
      if (values) {
        values.set(new Float32Array(await s.read(out, 0, span.len * 4, encoder)), span.start);
      } else {
        if (kept && kept !== out) encoder.copyBufferToBuffer(out, 0, kept, span.start * 4, span.len * 4);
        device.queue.submit([encoder.finish()]);
      }
      options.onProgress?.({ stage: 'dequantize', doneBytes: (span.start + span.len) * 4, totalBytes: numel * 4 });
    }
    if (kept) {
      await device.queue.onSubmittedWorkDone();
      return { buffer: s.keep(kept), adapter: ctx.adapter };
    }
    return { values: values ?? new Float32Array(0), adapter: ctx.adapter };
  });
}
