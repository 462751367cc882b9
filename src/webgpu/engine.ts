// The WebGPU implementation of quantize: the same results as src/cpu/, bit for bit. This module
// runs an operation; plan.ts decides its chunks and kernels, stage.ts feeds it input,
// calibrate.ts and metrics.ts own those passes, dequantize.ts is the way back.
import { emptySums, type ErrorSums, metricsLayout } from '../cpu/metrics.js';
import { QuantizationError } from '../errors.js';
import { bitsOf, fullRange, type Layout, lcm, nonFiniteError } from '../layout.js';
import type { KernelBinding } from '../schemes/format.js';
import { NO_INDEX } from '../schemes/minmax.js';
import { calibratorOf, formatOf } from '../schemes/registry.js';
import type { AdapterFacts, GpuOptions, QuantScheme, TensorSource } from '../types.js';
import { calibrateOnGpu, paramBuffers, STAT_WORDS } from './calibrate.js';
import { gpuContext } from './device.js';
import { guarded, type Scratch } from './gpu.js';
import { chooseRowKernel, heldRowQuads, ROW_WG } from './kernels.js';
import { addErrorRecords, METRIC_WORDS } from './metrics.js';
import {
  blockWindows, chunkElements, chunks, fusedPlan, makePlan, type OnePass, PIPELINE_MIN_ELEMENTS, PIPELINE_WINDOWS, SLICE_LEN,
  uniformWords, type Window,
} from './plan.js';
import { gpuRefiner } from './refine.js';
import { QUANTIZE_RUN_WORDS } from './shaders.js';
import { type GpuInput, isSource, stager } from './stage.js';

export type { GpuInput } from './stage.js';

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
  const format = formatOf(scheme);
  const calibrator = calibratorOf(scheme);
  const refiner = calibrator.refine ? gpuRefiner(calibrator) : undefined;
  if (!given && (!calibrator.gpu || (calibrator.refine && !refiner))) {
    throw new QuantizationError(`calibration ${calibrator.name} runs on the CPU backend only`, { field: 'scheme.calibration' });
  }
  const own = format.gpu.kind === 'blocks' ? format.gpu.kernel : undefined;
  if (own && (given || layout.granularity !== 'group' || layout.inner !== 1 || layout.axisLen % layout.blockSize !== 0)) {
    throw new QuantizationError(
      `format ${format.name}'s kernel quantizes whole blocks along the last axis with parameters of its own making`,
      { field: 'scheme.format' },
    );
  }
  const range = given ? fullRange(scheme.dtype) : format.codeRange(scheme);
  const plan = makePlan(ctx, layout, scheme, range, numel);
  // An own kernel's windows hold whole blocks; a sink's chunks start where it asks.
  const align = own ? lcm(sink?.alignElements ?? 1, layout.blockSize) : sink?.alignElements;
  const maxElements = chunkElements(ctx, options, align);
  return guarded(ctx, `quantizing a [${shape.join(', ')}] tensor`, async (s) => {
    const perWord = 32 / bitsOf(scheme.dtype);
    const spans = chunks(numel, maxElements);
    const rowKernel = chooseRowKernel(ctx, options);
    // Arrays in and out: several windows, so that each one's upload overlaps the previous one's
    // compute and readback (one pass over the data, so nothing is uploaded twice).
    const windowElements = output === 'arrays' && ArrayBuffer.isView(x)
      ? Math.min(maxElements, Math.max(PIPELINE_MIN_ELEMENTS, Math.ceil(numel / PIPELINE_WINDOWS))) : maxElements;
    const fused: OnePass | undefined = own
      ? { kernel: own, windows: blockWindows(layout, numel, windowElements) }
      : given || sink || refiner ? undefined : fusedPlan(layout, numel, bitsOf(scheme.dtype), windowElements, rowKernel);
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
    } else if (numel > 0 && refiner) {
      await refiner(s, plan, scheme, input, params, firstBad, maxElements, options);
    } else if (numel > 0 && !fused) {
      await calibrateOnGpu(s, plan, input, params, firstBad, maxElements, options);
    }
    const out = s.storage('packed chunk', Math.ceil(Math.min(numel, staged) / perWord) * 4);
    const bound: Record<KernelBinding, GPUBuffer> = {
      input: input.buffer, scales: params.scales, zero_points: params.zeroPoints, packed: out, first_bad: firstBad, blocks: out,
    };
    const windowValues = (span: Window) => ({
      ...plan.base, chunk_start: span.start, chunk_len: span.len, slices: 1, param_count: span.paramCount,
      param_base: span.paramBase, given: given ? 1 : 0,
    });
    if (sink && own && fused) {
      // A sink takes every parameter before the first code: a first pass makes them, the codes
      // are made again in the second.
      for (const span of fused.windows) {
        options.signal?.throwIfAborted();
        await input.stage(span);
        const encoder = ctx.device.createCommandEncoder({ label: 'parameters' });
        s.dispatch(encoder, own, span.paramCount, windowValues(span), own.bindings.map((b) => bound[b]));
        ctx.device.queue.submit([encoder.finish()]);
      }
    }
    const readParams = async () => ({
      scales: new Float32Array(await s.read(params.scales, 0, layout.paramCount * 4)),
      zeroPoints: new Int32Array(await s.read(params.zeroPoints, 0, layout.paramCount * 4)),
    });
    // A sink gets nothing made from a non-finite input, its parameters included: the reduction
    // (or an own kernel's first pass) has already found any NaN or ±Inf.
    if (sink) await checkFinite(s, firstBad, x, shape);
    const streamedParams = sink ? await readParams() : undefined;
    if (sink && streamedParams) await sink.params(streamedParams.scales, streamedParams.zeroPoints);

    const totalWords = Math.ceil(numel / perWord);
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
      const values = windowValues(span);
      if (own) {
        s.dispatch(encoder, own, span.paramCount, values, own.bindings.map((b) => bound[b]));
      } else if (rowOverrides) {
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
