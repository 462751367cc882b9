// The WebGPU boundary: non-finite input inside chunks, device ownership and loss, cancellation,
// progress, leaks, and adapter facts.
import { afterAll, describe, expect, it } from 'vitest';
import { adapterFacts, adapterName, compareQuantized, dequantize, QuantizationError, quantize, quantizeWithParams, releaseDevice } from '../../src/index.js';
import type { Progress, QuantScheme } from '../../src/index.js';
import { gpuContext } from '../../src/webgpu/device.js';
import { POOL_IDLE_MS, releasePool } from '../../src/webgpu/gpu.js';
import { randomNormal } from '../../src/synthetic.js';

afterAll(releaseDevice);

const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx' };

// Dawn instances must outlive their devices; keep them until the file ends.
const instances: GPU[] = [];

/** A device of the caller's own, as an application would make it. */
async function newDevice(): Promise<GPUDevice> {
  const gpu = (await import('webgpu')).create([]);
  instances.push(gpu);
  const fresh = await gpu.requestAdapter();
  if (!fresh) throw new Error('no adapter for a second device');
  return fresh.requestDevice();
}

/** Counts buffers created and not destroyed on `device`. */
function trackBuffers(device: GPUDevice): Set<GPUBuffer> {
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return live;
}

describe('non-finite input', () => {
  // 1000 elements in chunks of at most 256 (whole rows of 100 for the one-pass row kernel).
  // Each path finds them its own way: the one-pass row and block kernels while reducing, the
  // reduction for per-tensor and non-leading axes, the quantize kernel for caller-supplied scales.
  const paths: [string, QuantScheme, 'subgroup' | 'workgroup' | 'invocation'][] = [
    ['rows (one pass, a workgroup per row, subgroup folds)', scheme, 'subgroup'],
    ['rows (one pass, a workgroup per row)', scheme, 'workgroup'],
    ['rows (one pass, an invocation per row)', scheme, 'invocation'],
    ['blocks along the last axis (one pass)', { ...scheme, granularity: 'group', blockSize: 20 }, 'workgroup'],
    ['per tensor (reduce, calibrate, quantize)', { ...scheme, granularity: 'tensor' }, 'workgroup'],
    ['channels along axis 1 (reduce, calibrate, quantize)', { ...scheme, axis: 1 }, 'workgroup'],
  ];
  it.each(paths.flatMap(([path, s, rowKernel]) => [
    [path, 'the first element of a chunk', s, rowKernel, 200, NaN],
    [path, 'the middle of a chunk', s, rowKernel, 300, Infinity],
    [path, 'the last element of a chunk', s, rowKernel, 511, -Infinity],
    [path, 'the last element of the tensor', s, rowKernel, 999, NaN],
  ] as const))('%s: names the index at %s', async (_path, _where, s, rowKernel, index, value) => {
    const x = randomNormal(1000, 7);
    x[index] = value;
    const err = await quantize(x, [10, 100], s, { backend: 'webgpu', maxChunkBytes: 1024, rowKernel }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizationError);
    expect((err as QuantizationError).index).toBe(index);
    expect((err as Error).message).toContain(`${value} at flat index ${index} (coordinates [${Math.floor(index / 100)}, ${index % 100}])`);
  });

  it.each(['onnx', 'pytorch'] as const)('per tensor with scales given (%s, runs of words): names the index', async (profile) => {
    const x = randomNormal(1000, 7);
    x[613] = NaN;
    const params = { dtype: 'int8' as const, scales: [0.02], zeroPoints: [0], profile };
    const err = await quantizeWithParams(x, [10, 100], params, { backend: 'webgpu', maxChunkBytes: 1024 }).catch((e: unknown) => e);
    expect((err as QuantizationError).index).toBe(613);
    expect((err as Error).message).toContain('NaN at flat index 613 (coordinates [6, 13])');
  });

  it('ggml Q8_0 blocks (one pass, held in registers): names the index', async () => {
    const x = randomNormal(960, 7);
    x[517] = -Infinity;
    const q8: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
    const err = await quantize(x, [10, 96], q8, { backend: 'webgpu' }).catch((e: unknown) => e);
    expect((err as QuantizationError).index).toBe(517);
    expect((err as Error).message).toContain('-Infinity at flat index 517 (coordinates [5, 37])');
  });
});

describe('resources', () => {
  it("a caller's device is used, left usable, and every buffer made is destroyed once idle, on success and on failure", async () => {
    const device = await newDevice();
    const live = trackBuffers(device);
    device.pushErrorScope('validation');
    const x = randomNormal(5000, 8);
    const q = await quantize(x, [50, 100], scheme, { backend: 'webgpu', device, maxChunkBytes: 4096 });
    await dequantize(q, { backend: 'webgpu', device });
    const waiting = live.size;
    x[17] = NaN;
    await expect(quantize(x, [50, 100], scheme, { backend: 'webgpu', device })).rejects.toThrow(/flat index 17/);
    expect(await device.popErrorScope()).toBeNull();
    // A failed call destroys what it made at once (the pool may have lent it some of its own).
    expect(live.size).toBeLessThanOrEqual(waiting);
    await new Promise((resolve) => setTimeout(resolve, POOL_IDLE_MS + 300));
    expect(live.size).toBe(0);
    expect(q.adapter?.limits.maxBufferSize).toBe(device.limits.maxBufferSize);
    device.destroy();
  });

  it('a call reuses the buffers of the call before it, with the same results', async () => {
    const device = await newDevice();
    const live = trackBuffers(device);
    let made = 0;
    const create = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor) => {
      made++;
      return create(descriptor);
    };
    const x = randomNormal(20000, 11);
    const first = await quantize(x, [200, 100], scheme, { backend: 'webgpu', device });
    const before = made;
    const second = await quantize(x, [200, 100], scheme, { backend: 'webgpu', device });
    expect(made).toBe(before);
    expect(compareQuantized(second, first).equal).toBe(true);
    expect(compareQuantized(second, await quantize(x, [200, 100], scheme)).equal).toBe(true);
    releasePool(device);
    expect(live.size).toBe(0);
    device.destroy();
  });

  it('a lost device fails the call in flight with a clear error', async () => {
    const device = await newDevice();
    const pending = quantize(randomNormal(20000, 9), [200, 100], scheme, { backend: 'webgpu', device });
    device.destroy();
    await expect(pending).rejects.toThrow(/GPU device was lost while quantizing a \[200, 100\] tensor.*pass a new device/);
  });

  it("after the library's own device is lost, the next call acquires a new one", async () => {
    const first = await gpuContext();
    first.device.destroy();
    await first.device.lost;
    const again = await gpuContext();
    expect(again.device).not.toBe(first.device);
    const x = randomNormal(64, 10);
    const q = await quantize(x, [64], scheme, { backend: 'webgpu' });
    expect(compareQuantized(q, await quantize(x, [64], scheme)).equal).toBe(true);
  });
});

describe('long operations', () => {
  it('report progress per chunk through every stage, ending at the total', async () => {
    const seen: Progress[] = [];
    const x = randomNormal(4096, 11);
    await quantize(x, [4096], { ...scheme, granularity: 'tensor' }, {
      backend: 'webgpu', maxChunkBytes: 4096, onProgress: (p) => seen.push(p),
    });
    const reduce = seen.filter((p) => p.stage === 'reduce');
    const quant = seen.filter((p) => p.stage === 'quantize');
    expect(reduce.length).toBe(4);
    expect(quant.map((p) => p.doneBytes)).toEqual([4096, 8192, 12288, 16384]);
    expect(seen.every((p) => p.totalBytes === 16384)).toBe(true);
  });

  it('stop when the signal aborts: before starting, and part way', async () => {
    const x = randomNormal(4096, 12);
    await expect(quantize(x, [4096], scheme, { backend: 'webgpu', signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
    const controller = new AbortController();
    await expect(quantize(x, [4096], scheme, {
      backend: 'webgpu', maxChunkBytes: 4096, signal: controller.signal, onProgress: () => controller.abort(),
    })).rejects.toThrow(/abort/i);
  });

  it('a chunk too small for one block row is refused with a clear error', async () => {
    const x = randomNormal(64 * 64, 13);
    await expect(quantize(x, [64, 64], { ...scheme, granularity: 'group', axis: 0, blockSize: 32 }, {
      backend: 'webgpu', maxChunkBytes: 4096,
    })).rejects.toThrow(/one block row \(32 × 64 elements along axis 0\) is larger than a chunk \(1024 elements\)/);
  });
});

const initialFacts = await adapterFacts();

describe('adapter facts', () => {
  it('say what the adapter is and the limits in force', async () => {
    const facts = await adapterFacts();
    expect(facts.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
  });

  it('name the adapter from the parts it gives', () => {
    expect(adapterName({ vendor: 'google', architecture: 'swiftshader', description: '' })).toBe('google swiftshader');
    expect(adapterName({ vendor: '', architecture: '', description: '' })).toBe('an unnamed adapter');
  });

  // Reported as skipped, not passed, where the tests run on another adapter.
  it.runIf(/swiftshader/i.test(`${initialFacts.architecture} ${initialFacts.description}`))('recognise SwiftShader as a CPU emulation', () => {
    expect(initialFacts.isFallback).toBe(true);
  });
});

describe('row kernel choice', () => {
  it("rejects 'subgroup' on a device without the subgroups feature, naming the option", async () => {
    const device = await newDevice();
    expect(device.features.has('subgroups')).toBe(false);
    await expect(quantize(randomNormal(64, 3), [8, 8], scheme, { backend: 'webgpu', device, rowKernel: 'subgroup' }))
      .rejects.toThrow("options.rowKernel 'subgroup' needs a device with the 'subgroups' feature; this one has none");
    device.destroy();
  });

  it('rejects an unknown kernel', async () => {
    await expect(quantize(randomNormal(64, 3), [8, 8], scheme, { backend: 'webgpu', rowKernel: 'warp' as 'subgroup' }))
      .rejects.toThrow("options.rowKernel must be 'subgroup', 'workgroup' or 'invocation'; got warp");
  });

  it('the library asks for subgroups where the adapter has them', async () => {
    const gpu = (await import('webgpu')).create([]);
    instances.push(gpu);
    const adapter = await gpu.requestAdapter();
    const { device } = await gpuContext();
    expect(device.features.has('subgroups')).toBe(adapter?.features.has('subgroups') ?? false);
  });
});
