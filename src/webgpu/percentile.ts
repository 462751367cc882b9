// The percentile calibrator on the GPU: per window, a radix select finds each parameter's
// nearest-rank value(s) by exact integer counts (shaders/percentile_common.wgsl): eight passes of
// a 4-bit digit each, every pass counting over the window's chunks (percentile_count) and then
// settling each target's digit (percentile_select); the selected keys become a statistics record
// (percentile_range) that calibrate.wgsl turns into scales and zero points by the profile's
// formulas, as the reference turns its sorted values into them (src/schemes/percentile.ts).
import { PERCENTILE_DEFAULT, nearestRank } from '../schemes/percentile.js';
import type { GpuOptions, QuantScheme } from '../types.js';
import { type ParamBuffers, STAT_WORDS } from './calibrate.js';
import type { Scratch } from './gpu.js';
import { chunks, membersPerParam, type Plan, slicing, type Span, windows } from './plan.js';
import type { Stager } from './stage.js';

/** Bits per radix digit and counts per digit, as shaders/percentile_common.wgsl declares them. */
const DIGIT_BITS = 4;
const BINS = 1 << DIGIT_BITS;

/** The lowest bit of each pass's digit, most significant first. */
const SHIFTS = Array.from({ length: 32 / DIGIT_BITS }, (_, k) => 32 - DIGIT_BITS * (k + 1));

/** Calibrates every window into `params` by the percentile calibrator: refine.ts's GpuRefiner. */
export async function refinePercentile(
  s: Scratch, plan: Plan, scheme: QuantScheme, input: Stager, params: ParamBuffers, firstBad: GPUBuffer, maxElements: number,
  options: GpuOptions,
): Promise<void> {
  const { ctx, layout, numel } = plan;
  const P = scheme.percentile ?? PERCENTILE_DEFAULT;
  const targets = scheme.symmetric ? 1 : 2;
  // A parameter's members: a whole block (or channel, or the tensor), or a short last block.
  const full = layout.granularity === 'group' ? Math.min(layout.blockSize, layout.axisLen) : membersPerParam(layout, numel);
  const last = layout.granularity === 'group' ? layout.axisLen - (layout.numBlocks - 1) * layout.blockSize : full;
  const config = s.storage('percentile config', 5 * 4);
  ctx.device.queue.writeBuffer(config, 0, Uint32Array.of(full, nearestRank(full, P), last, nearestRank(last, P), 0));
  // Group windows hold whole block rows: their targets' counts, state and records must fit the budget.
  const budget = Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize) / 2;
  const paramBytes = (targets * (BINS + 2) + STAT_WORDS) * 4;
  const windowElements = layout.granularity === 'group'
    ? Math.min(maxElements, Math.max(Math.min(layout.blockSize, layout.axisLen) * layout.inner,
      Math.floor((budget / paramBytes) * Math.min(full, last) / 8) * 8))
    : maxElements;
  const wins = windows(layout, numel, windowElements);
  const largest = Math.max(...wins.map((w) => w.paramCount));
  const hist = s.storage('percentile counts', largest * targets * BINS * 4);
  const state = s.storage('percentile state', largest * targets * 2 * 4);
  const stats = s.storage('statistics', largest * STAT_WORDS * 4);
  const zeros = new Uint32Array(largest * targets * BINS);
  let done = 0;
  for (const win of wins) {
    // percentile_select leaves the counts it read zero; a reused buffer may hold anything at first.
    ctx.device.queue.writeBuffer(hist, 0, zeros, 0, win.paramCount * targets * BINS);
    const spans: Span[] = layout.granularity === 'group' ? [{ start: win.start, len: win.len }] : chunks(numel, maxElements);
    const values = (span: Span, slices: number, sliceLen: number) => ({
      ...plan.base, chunk_start: span.start, chunk_len: span.len, slices, slice_len: sliceLen, param_count: win.paramCount,
      param_base: win.paramBase, given: 0,
    });
    for (const shift of SHIFTS) {
      // Queue order puts this write after the previous pass's dispatches, which were submitted.
      ctx.device.queue.writeBuffer(config, 16, Uint32Array.of(shift));
      for (const span of spans) {
        options.signal?.throwIfAborted();
        await input.stage(span);
        const { slices, sliceLen } = slicing(Math.min(membersPerParam(layout, numel), span.len));
        const encoder = ctx.device.createCommandEncoder({ label: 'percentile counts' });
        s.dispatch(encoder, 'percentile_count', win.paramCount * slices, values(span, slices, sliceLen), [
          input.buffer, config, state, hist, firstBad,
        ]);
        ctx.device.queue.submit([encoder.finish()]);
        if (shift === SHIFTS[0]) {
          done += span.len * 4;
          options.onProgress?.({ stage: 'reduce', doneBytes: done, totalBytes: numel * 4 });
        }
      }
      const encoder = ctx.device.createCommandEncoder({ label: 'percentile digits' });
      s.dispatch(encoder, 'percentile_select', win.paramCount * targets, values(win, 1, win.len), [config, state, hist]);
      ctx.device.queue.submit([encoder.finish()]);
    }
    const encoder = ctx.device.createCommandEncoder({ label: 'percentile parameters' });
    s.dispatch(encoder, 'percentile_range', win.paramCount, values(win, 1, win.len), [state, stats]);
    s.dispatch(encoder, 'calibrate', win.paramCount, values(win, 1, win.len), [
      stats, params.scales, params.zeroPoints, params.codeScales, params.inverses, firstBad,
    ]);
    ctx.device.queue.submit([encoder.finish()]);
  }
}
