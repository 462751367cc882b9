// Calibration on the GPU for a calibrator that looks at the data twice ('mse'): per window, the
// min/max statistics by the general passes (reduce → combine), then every candidate range of every
// parameter evaluated in parallel over a second read of the window's chunks (mse_partials →
// mse_fold), then each parameter's least-error candidate made into its scale and zero point
// (mse_choose, in place of calibrate). The sums are exact integers (shaders/mse_term.wgsl), so the
// GPU's slicing and chunking choose what the CPU reference's flat-order walk chooses. The
// percentile calibrator's refinement is in percentile.ts.
import { f32Bits } from '../cpu/float.js';
import type { Calibrator } from '../schemes/calibrator.js';
import { minmax } from '../schemes/minmax.js';
import { fixedPointBits, MSE_DEFAULTS, powerNorm, shrinkFactors } from '../schemes/mse.js';
import type { GpuOptions, QuantScheme } from '../types.js';
import { type ParamBuffers, STAT_WORDS } from './calibrate.js';
import type { Scratch } from './gpu.js';
import { chunks, membersPerParam, type Plan, SLICE_LEN, slicing, type Span, windows } from './plan.js';
import { refinePercentile } from './percentile.js';
import type { Stager } from './stage.js';

/** Calibrates every window into `params`, as calibrateOnGpu does, for a calibrator that refines. */
export type GpuRefiner = (
  s: Scratch, plan: Plan, scheme: QuantScheme, input: Stager, params: ParamBuffers, firstBad: GPUBuffer, maxElements: number,
  options: GpuOptions,
) => Promise<void>;

/** The GPU refinement of a calibrator, where the kernels have one. */
export function gpuRefiner(calibrator: Calibrator): GpuRefiner | undefined {
  return calibrator.name === 'mse' ? refineMse : calibrator.name === 'percentile' ? refinePercentile : undefined;
}

/** Words per (parameter, candidate) sum: three 32-bit words, low first. */
const SUM_WORDS = 3;

/**
 * Slices of a parameter's members in one chunk: reduce.wgsl's, fewer where the sums of every
 * (parameter, slice, candidate) would not fit `budget` bytes.
 */
function mseSlicing(members: number, paramCount: number, candidates: number, budget: number) {
  const most = Math.max(1, Math.floor(budget / (paramCount * candidates * SUM_WORDS * 4)));
  const slices = Math.max(1, Math.min(slicing(members).slices, most));
  return { slices, sliceLen: Math.ceil(members / slices / 4) * 4 };
}

const refineMse: GpuRefiner = async (s, plan, scheme, input, params, firstBad, maxElements, options) => {
  const { ctx, layout, numel } = plan;
  const { grid, maxShrink, norm } = { ...MSE_DEFAULTS, ...scheme.mse };
  const factors = shrinkFactors(grid, maxShrink);
  const count = factors.length;
  const power = powerNorm(norm);
  const config = s.storage('mse config', (3 + count) * 4);
  ctx.device.queue.writeBuffer(config, 0, Uint32Array.of(f32Bits(power), fixedPointBits(power) >>> 0, count, ...factors.map(f32Bits)));
  const budget = Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize) / 2;
  // Group windows hold whole block rows; each block's sums for every candidate must fit the budget.
  const perElement = layout.granularity === 'group' ? (1 / layout.blockSize + 1 / SLICE_LEN) * count * SUM_WORDS * 4 : 0;
  const rowElements = layout.granularity === 'group' ? Math.min(layout.blockSize, layout.axisLen) * layout.inner : 8;
  const windowElements = perElement > 0
    ? Math.min(maxElements, Math.max(rowElements, Math.floor(budget / perElement / 8) * 8)) : maxElements;
  const wins = windows(layout, numel, windowElements);
  const largest = Math.max(...wins.map((w) => w.paramCount));
  const maxSlices = slicing(Math.min(membersPerParam(layout, numel), windowElements)).slices;
  const stats = s.storage('statistics', largest * STAT_WORDS * 4);
  const statPartials = s.storage('partial statistics', largest * maxSlices * STAT_WORDS * 4);
  const sliceSums = s.storage('mse slice sums', largest * mseSlicing(maxSlices * SLICE_LEN, largest, count, budget).slices * count * SUM_WORDS * 4);
  const totals = s.storage('mse sums', largest * count * SUM_WORDS * 4);
  const init = new Uint32Array(largest * STAT_WORDS);
  const record = Uint32Array.from(minmax.record, (f) => f.init);
  for (let p = 0; p < largest; p++) init.set(record, p * STAT_WORDS);
  const zeros = new Uint32Array(largest * count * SUM_WORDS);
  let done = 0;
  for (const win of wins) {
    ctx.device.queue.writeBuffer(stats, 0, init);
    ctx.device.queue.writeBuffer(totals, 0, zeros);
    const spans: Span[] = layout.granularity === 'group' ? [{ start: win.start, len: win.len }] : chunks(numel, maxElements);
    const uniforms = (span: Span, slices: number, sliceLen: number) => ({
      ...plan.base, chunk_start: span.start, chunk_len: span.len, slices, slice_len: sliceLen, param_count: win.paramCount,
      param_base: win.paramBase, given: 0,
    });
    for (const span of spans) {
      options.signal?.throwIfAborted();
      await input.stage(span);
      const { slices, sliceLen } = slicing(Math.min(membersPerParam(layout, numel), span.len));
      const encoder = ctx.device.createCommandEncoder({ label: 'reduce' });
      s.dispatch(encoder, 'reduce', win.paramCount * slices, uniforms(span, slices, sliceLen), [input.buffer, statPartials]);
      s.dispatch(encoder, 'combine', win.paramCount, uniforms(span, slices, sliceLen), [statPartials, stats]);
      ctx.device.queue.submit([encoder.finish()]);
      done += span.len * 4;
      options.onProgress?.({ stage: 'reduce', doneBytes: done, totalBytes: numel * 4 });
    }
    // The second read: a group window is still staged; tensor and channel windows read every chunk again.
    for (const span of spans) {
      options.signal?.throwIfAborted();
      await input.stage(span);
      const { slices, sliceLen } = mseSlicing(Math.min(membersPerParam(layout, numel), span.len), win.paramCount, count, budget);
      const values = uniforms(span, slices, sliceLen);
      const encoder = ctx.device.createCommandEncoder({ label: 'mse sums' });
      s.dispatch(encoder, 'mse_partials', win.paramCount * slices * count, values, [input.buffer, stats, config, sliceSums]);
      s.dispatch(encoder, 'mse_fold', win.paramCount * count, values, [config, sliceSums, totals]);
      ctx.device.queue.submit([encoder.finish()]);
    }
    const encoder = ctx.device.createCommandEncoder({ label: 'mse choice' });
    s.dispatch(encoder, 'mse_choose', win.paramCount, {
      ...plan.base, chunk_start: win.start, chunk_len: win.len, slices: 1, param_count: win.paramCount,
      param_base: win.paramBase, given: 0,
    }, [stats, config, totals, params.scales, params.zeroPoints, params.codeScales, params.inverses, firstBad]);
    ctx.device.queue.submit([encoder.finish()]);
  }
};
