// Small helpers every WebGPU operation shares: pipelines, dispatch sizing, buffers, readback,
// and the error boundary.
import { QuantizationError } from '../errors.js';
import type { GpuContext } from './device.js';
import { encodeParams, type Kernel, kernelSource, SPEC_FIELDS, type Specialization, type UniformValues } from './shaders.js';

// GPUBufferUsage / GPUMapMode values, fixed by the WebGPU spec; local so that Node needs no globals.
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MapMode = { READ: 0x1 } as const;

/** Invocations per workgroup unless a dispatch says otherwise; `WG`, an override in every kernel. */
export const WORKGROUP_SIZE = 64;

/** Pipeline-overridable constants of one dispatch: `WG`, and any the kernel declares. */
export type Overrides = Record<string, number> & { WG: number };

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipeline(device: GPUDevice, kernel: Kernel, spec: Specialization, overrides: Overrides): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const constants = Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(',');
  const name = typeof kernel === 'string' ? kernel : `format ${kernel.name}`;
  const key = `${name}/${SPEC_FIELDS.map((f) => spec[f]).join(',')}/${constants}`;
  let found = cache.get(key);
  if (!found) {
    const module = device.createShaderModule({ label: name, code: kernelSource(kernel, spec) });
    found = device.createComputePipeline({
      label: name,
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: overrides },
    });
    cache.set(key, found);
  }
  return found;
}

/** Workgroup counts for `threads` invocations, folded into 2-D past the per-dimension limit. */
function dispatchSize(threads: number, maxPerDimension: number, workgroupSize: number) {
  const groups = Math.max(1, Math.ceil(threads / workgroupSize));
  const x = Math.min(groups, maxPerDimension);
  const y = Math.ceil(groups / x);
  if (y > maxPerDimension) {
    throw new QuantizationError(`a dispatch of ${threads} invocations exceeds the device's workgroup limits`, {
      field: 'device',
    });
  }
  return { x, y, rowThreads: x * workgroupSize };
}

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/** How long the buffers of a finished operation wait for the next one before they are destroyed. */
export const POOL_IDLE_MS = 1000;
/** The most bytes kept waiting, per device. */
const POOL_MAX_BYTES = 512 * 2 ** 20;

/**
 * Buffers of finished operations, kept a moment for the next operation on the same device: a new
 * buffer costs a zero fill (about 200 ms for 256 MiB on SwiftShader), and a model's tensors come
 * one after another, often in the same shapes. Reuse needs no waiting: queue order puts every
 * later write after the work that used the buffer. Kernels never use a value they did not write
 * in the same call: the lanes of a partial last word read past the chunk, and are masked.
 */
class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private bytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  take(size: number, usage: number): GPUBuffer | undefined {
    const found = this.free.get(`${usage}/${size}`)?.pop();
    if (found) this.bytes -= size;
    return found;
  }

  give(buffers: GPUBuffer[]): void {
    for (const b of buffers) {
      if (this.bytes + b.size > POOL_MAX_BYTES) {
        b.destroy();
        continue;
      }
      const key = `${b.usage}/${b.size}`;
      const list = this.free.get(key) ?? [];
      list.push(b);
      this.free.set(key, list);
      this.bytes += b.size;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clear(), POOL_IDLE_MS);
    // In Node, waiting buffers must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  clear(): void {
    clearTimeout(this.timer);
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bytes = 0;
  }
}

const pools = new WeakMap<GPUDevice, BufferPool>();

function poolOf(device: GPUDevice): BufferPool {
  let pool = pools.get(device);
  if (!pool) {
    pool = new BufferPool();
    pools.set(device, pool);
  }
  return pool;
}

/** Destroys the buffers waiting for reuse on `device` now. */
export function releasePool(device: GPUDevice): void {
  pools.get(device)?.clear();
}

/**
 * Buffers made for one operation, released together when it ends: kept for the next operation
 * after a success, destroyed after a failure (a buffer may then be invalid or mapped), so that
 * nothing leaks either way.
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
    const reused = poolOf(this.ctx.device).take(bytes, usage);
    if (reused) reused.label = label;
    const b = reused ?? this.ctx.device.createBuffer({ label, size: bytes, usage });
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
  dispatch(
    encoder: GPUCommandEncoder, kernel: Kernel, threads: number, values: Omit<UniformValues, 'row_threads'>, bindings: Binding[],
    overrides: Overrides = { WG: WORKGROUP_SIZE },
  ): void {
    const { device } = this.ctx;
    const { x, y, rowThreads } = dispatchSize(threads, device.limits.maxComputeWorkgroupsPerDimension, overrides.WG);
    const data = encodeParams({ ...values, row_threads: rowThreads });
    const name = typeof kernel === 'string' ? kernel : kernel.name;
    const uniform = this.buffer(`${name} params`, data.byteLength, Usage.UNIFORM | Usage.COPY_DST);
    device.queue.writeBuffer(uniform, 0, data);
    const pipe = pipeline(device, kernel, values, overrides);
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
    poolOf(device).give([this.keep(staging)]);
    return out;
  }

  /** Hands `buffer` to the caller: it outlives the operation. */
  keep(buffer: GPUBuffer): GPUBuffer {
    const i = this.buffers.indexOf(buffer);
    if (i >= 0) this.buffers.splice(i, 1);
    return buffer;
  }

  /** Ends the operation: its buffers go to the pool when `reuse`, else are destroyed. */
  release(reuse: boolean): void {
    const buffers = this.buffers.splice(0);
    if (reuse) poolOf(this.ctx.device).give(buffers);
    else for (const b of buffers) b.destroy();
  }
}

/**
 * Runs `work` inside validation and out-of-memory error scopes and against device loss, turning
 * each into an error that says what was being attempted. Scratch buffers are always released.
 */
export async function guarded<T>(ctx: GpuContext, what: string, work: (scratch: Scratch) => Promise<T>): Promise<T> {
  const { device } = ctx;
  const scratch = new Scratch(ctx);
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { value: T } | { lost: GPUDeviceLostInfo } | { error: unknown } = { error: undefined };
  let validation: GPUError | null = null;
  let oom: GPUError | null = null;
  try {
    outcome = await Promise.race([
      work(scratch).then((value) => ({ value }), (error: unknown) => ({ error })),
      ctx.lost.then((lost) => ({ lost })),
    ]);
    // A lost device may never answer popErrorScope; its loss is the error to report then.
    const pop = () => Promise.race([device.popErrorScope(), ctx.lost.then(() => null)]);
    validation = await pop();
    oom = await pop();
  } finally {
    scratch.release('value' in outcome && !validation && !oom && !ctx.lostInfo);
    // A lost device's buffers are gone with it.
    if ('lost' in outcome || ctx.lostInfo) releasePool(device);
  }
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
