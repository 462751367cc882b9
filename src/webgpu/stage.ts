// Getting the input onto the GPU: a span at a time from an array or a source, or a caller's
// buffer bound as it is.
import { readExactly } from '../source.js';
import type { TensorSource } from '../types.js';
import { type Scratch, Usage } from './gpu.js';
import type { Span } from './plan.js';

/** A tensor's values: in CPU memory, or already in a GPU buffer of the same device. */
export type GpuInput = Float32Array | GPUBuffer;

export function isSource(x: GpuInput | TensorSource): x is TensorSource {
  return !ArrayBuffer.isView(x) && typeof (x as TensorSource).read === 'function';
}

/** Puts one span of the input at the start of `buffer`, for binding; `values` are its elements on the CPU. */
export interface Stager {
  buffer: GPUBuffer;
  stage(span: Span): Promise<void>;
  values: Float32Array | undefined;
}

/**
 * The stager for `x`, whose spans hold at most `largestSpan` elements; a GPU buffer of at most
 * `maxElements` is bound as it is.
 */
export function stager(s: Scratch, x: GpuInput | TensorSource, numel: number, maxElements: number, largestSpan: number): Stager {
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
