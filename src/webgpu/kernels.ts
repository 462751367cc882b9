// Kernel choice: which row kernel suits the adapter, and how much of a row it may hold in
// workgroup memory.
import { QuantizationError } from '../errors.js';
import type { GpuOptions } from '../types.js';
import type { GpuContext } from './device.js';
import { WORKGROUP_SIZE } from './gpu.js';

export type RowKernel = NonNullable<GpuOptions['rowKernel']>;

/** Invocations per row of fused_rows.wgsl: its dispatch size and its WG. */
export const ROW_WG = WORKGROUP_SIZE;

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
export function heldRowQuads(device: GPUDevice, inner: number): number {
  const capacity = Math.floor((device.limits.maxComputeWorkgroupStorageSize - ROW_KERNEL_OWN_BYTES) / 16);
  const quads = inner / 4;
  if (quads > capacity) return 1;
  return Math.min(Math.ceil(quads / ROW_WG) * ROW_WG, capacity);
}

export function chooseRowKernel(ctx: GpuContext, options: GpuOptions): RowKernel {
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
