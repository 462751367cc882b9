// Small helpers every WebGPU operation shares: pipelines, dispatch sizing, buffers, readback,
// and the error boundary.
import { QuantizationError } from '../errors.js';
import type { GpuContext } from './device.js';
import { encodeParams, type KernelName, kernelSource, SPEC_FIELDS, type Specialization, type UniformValues } from './shaders.js';

// GPUBufferUsage / GPUMapMode values, fixed by the WebGPU spec; local so that Node needs no globals.
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MapMode = { READ: 0x1 } as const;

/** Invocations per workgroup; a pipeline-overridable constant in every kernel. */
export const WORKGROUP_SIZE = 64;

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipeline(device: GPUDevice, name: KernelName, spec: Specialization): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const key = `${name}/${SPEC_FIELDS.map((f) => spec[f]).join(',')}`;
  let found = cache.get(key);
  if (!found) {
    const module = device.createShaderModule({ label: name, code: kernelSource(name, spec) });
    found = device.createComputePipeline({
      label: name,
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: { WG: WORKGROUP_SIZE } },
    });
    cache.set(key, found);
  }
  return found;
}

/** Workgroup counts for `threads` invocations, folded into 2-D past the per-dimension limit. */
function dispatchSize(threads: number, maxPerDimension: number) {
  const groups = Math.max(1, Math.ceil(threads / WORKGROUP_SIZE));
  const x = Math.min(groups, maxPerDimension);
  const y = Math.ceil(groups / x);
  if (y > maxPerDimension) {
    throw new QuantizationError(`a dispatch of ${threads} invocations exceeds the device's workgroup limits`, {
      field: 'device',
    });
  }
  return { x, y, rowThreads: x * WORKGROUP_SIZE };
}

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/**
 * Buffers made for one operation, destroyed together when it ends, so that a failure part way
 * leaks nothing.
 */
export class Scratch {
  private readonly buffers: GPUBuffer[] = [];

  constructor(readonly ctx: GpuContext) {}

  buffer(label: string, size: number, usage: number): GPUBuffer {
    const limit = this.ctx.device.limits.maxBufferSize;
    const bytes = Math.max(4, Math.ceil(size / 4) * 4);
    if (bytes > limit) {
      throw new QuantizationError(`${label} needs ${bytes} bytes, more than this device's maxBufferSize (${limit})`, {
        field: 'device',
      });
    }
    const b = this.ctx.device.createBuffer({ label, size: bytes, usage });
    this.buffers.push(b);
    return b;
  }

  storage(label: string, size: number): GPUBuffer {
    const limit = this.ctx.device.limits.maxStorageBufferBindingSize;
    if (size > limit) {
      throw new QuantizationError(
        `${label} needs ${size} bytes, more than this device's maxStorageBufferBindingSize (${limit})`,
        { field: 'device' },
      );
    }
    return this.buffer(label, size, Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST);
  }

  /** Records one kernel dispatch of `threads` invocations with bindings 1, 2, … after the uniform. */
  dispatch(encoder: GPUCommandEncoder, name: KernelName, threads: number, values: Omit<UniformValues, 'row_threads'>, bindings: Binding[]): void {
    const { device } = this.ctx;
    const { x, y, rowThreads } = dispatchSize(threads, device.limits.maxComputeWorkgroupsPerDimension);
    const data = encodeParams({ ...values, row_threads: rowThreads });
    const uniform = this.buffer(`${name} params`, data.byteLength, Usage.UNIFORM | Usage.COPY_DST);
    device.queue.writeBuffer(uniform, 0, data);
    const pipe = pipeline(device, name, values);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    bindings.forEach((b, i) => {
      entries.push({ binding: i + 1, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
    });
    const pass = encoder.beginComputePass({ label: name });
    pass.setPipeline(pipe);
    pass.setBindGroup(0, device.createBindGroup({ label: name, layout: pipe.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  /** Copies `size` bytes of `src` from `offset` back to the CPU. */
  async read(src: GPUBuffer, offset: number, size: number, encoder?: GPUCommandEncoder): Promise<ArrayBuffer> {
    const { device } = this.ctx;
    const bytes = Math.ceil(size / 4) * 4;
    if (bytes === 0) return new ArrayBuffer(0);
    const staging = this.buffer(`${src.label} readback`, bytes, Usage.MAP_READ | Usage.COPY_DST);
    const enc = encoder ?? device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, bytes);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(MapMode.READ);
    const out = staging.getMappedRange().slice(0, size);
    staging.unmap();
    // Chunk after chunk would otherwise keep every staging buffer until the operation ends.
    this.keep(staging).destroy();
    return out;
  }

  /** Hands `buffer` to the caller: it outlives the operation. */
  keep(buffer: GPUBuffer): GPUBuffer {
    const i = this.buffers.indexOf(buffer);
    if (i >= 0) this.buffers.splice(i, 1);
    return buffer;
  }

  destroy(): void {
    for (const b of this.buffers.splice(0)) b.destroy();
  }
}

/**
 * Runs `work` inside validation and out-of-memory error scopes and against device loss, turning
 * each into an error that says what was being attempted. Scratch buffers are always destroyed.
 */
export async function guarded<T>(ctx: GpuContext, what: string, work: (scratch: Scratch) => Promise<T>): Promise<T> {
  const { device } = ctx;
  const scratch = new Scratch(ctx);
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { value: T } | { lost: GPUDeviceLostInfo } | { error: unknown };
  try {
    outcome = await Promise.race([
      work(scratch).then((value) => ({ value }), (error: unknown) => ({ error })),
      ctx.lost.then((lost) => ({ lost })),
    ]);
  } finally {
    scratch.destroy();
  }
  // A lost device may never answer popErrorScope; its loss is the error to report then.
  const pop = () => Promise.race([device.popErrorScope(), ctx.lost.then(() => null)]);
  const validation = await pop();
  const oom = await pop();
  // A lost device also makes the work itself fail (mapAsync rejects); report the loss, not that.
  const lostError = (info: GPUDeviceLostInfo) =>
    new QuantizationError(
      `the GPU device was lost while ${what}: ${info.message || info.reason}` +
        (ctx.owned ? '; the next call acquires a new device' : '; pass a new device to continue'),
      { field: 'device' },
    );
  const lost = 'lost' in outcome ? outcome.lost : ctx.lostInfo;
  if (lost) throw lostError(lost);
  if (oom) throw new QuantizationError(`the GPU ran out of memory while ${what}: ${oom.message}`, { field: 'device' });
  if (validation) {
    throw new QuantizationError(`WebGPU rejected the work while ${what}: ${validation.message}`, { field: 'device' });
  }
  if ('value' in outcome) return outcome.value;
  throw (outcome as { error: unknown }).error;
}
