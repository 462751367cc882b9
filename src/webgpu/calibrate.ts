// Calibration on the GPU by the general passes: reduce each chunk's slices, combine them into
// per-parameter statistics across chunks, then calibrate every window's parameters.
import { minmax } from '../schemes/minmax.js';
import type { GpuOptions } from '../types.js';
import type { Scratch } from './gpu.js';
import { chunks, membersPerParam, type Plan, slicing, windows } from './plan.js';
import type { Stager } from './stage.js';

/** Words per (parameter, slice) statistics record: the min/max calibrator's, which the kernels gather. */
export const STAT_WORDS = minmax.record.length;

/** Per-parameter buffers, for the whole tensor. */
export interface ParamBuffers {
  scales: GPUBuffer;
  zeroPoints: GPUBuffer;
  codeScales: GPUBuffer;
  inverses: GPUBuffer;
}

export function paramBuffers(s: Scratch, count: number): ParamBuffers {
  return {
    scales: s.storage('scales', count * 4),
    zeroPoints: s.storage('zero points', count * 4),
    codeScales: s.storage('code scales', count * 4),
    inverses: s.storage('inverses', count * 4),
  };
}

/** Reduces and calibrates every window, leaving scales and zero points in `params`. */
export async function calibrateOnGpu(
  s: Scratch, plan: Plan, input: Stager, params: ParamBuffers, firstBad: GPUBuffer, maxElements: number, options: GpuOptions,
): Promise<void> {
  const { ctx, layout, numel } = plan;
  const wins = windows(layout, numel, maxElements);
  const largest = Math.max(...wins.map((w) => w.paramCount));
  const maxSlices = slicing(Math.min(membersPerParam(layout, numel), maxElements)).slices;
  const stats = s.storage('statistics', largest * STAT_WORDS * 4);
  const partials = s.storage('partial statistics', largest * maxSlices * STAT_WORDS * 4);
  const init = new Uint32Array(largest * STAT_WORDS);
  const record = Uint32Array.from(minmax.record, (f) => f.init);
  for (let p = 0; p < largest; p++) init.set(record, p * STAT_WORDS);
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
