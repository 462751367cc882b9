// The WebGPU implementation of dequantize: R = S·(Q − Z) from packed codes, chunk by chunk.
import { bitsOf, fullRange, type Layout } from '../layout.js';
import type { AdapterFacts, GpuOptions, QuantScheme } from '../types.js';
import { gpuContext } from './device.js';
import { type Binding, guarded, type Scratch } from './gpu.js';
import { chunkElements, chunks, makePlan } from './plan.js';

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
