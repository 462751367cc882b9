// GPU-resident entry points: a GPUBuffer in, GPU buffers out, the same bits as the array path.
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, dequantize, QuantizationError, quantize, quantizeWithParams } from '../../src/index.js';
import type { QuantScheme } from '../../src/index.js';
import { randomNormal } from '../../src/synthetic.js';

// Dawn instances must outlive their devices.
const instances: GPU[] = [];
let device: GPUDevice;

async function callerDevice(): Promise<GPUDevice> {
  const gpu = (await import('webgpu')).create([]);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  return adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
}

afterAll(() => device?.destroy());

async function upload(x: Float32Array): Promise<GPUBuffer> {
  device ??= await callerDevice();
  const buffer = device.createBuffer({ size: x.byteLength, usage: 0x80 | 0x4 | 0x8 });
  device.queue.writeBuffer(buffer, 0, x);
  return buffer;
}

async function readBack(buffer: GPUBuffer): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: buffer.size, usage: 0x1 | 0x8 });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(1);
  const out = staging.getMappedRange().slice(0);
  staging.destroy();
  return out;
}

const schemes: QuantScheme[] = [
  { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' },
  { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 32, profile: 'onnx' },
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
  { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' },
];

describe('GPU-resident quantization', () => {
  for (const scheme of schemes) {
    for (const maxChunkBytes of [undefined, 4096]) {
      it(`${scheme.profile} ${scheme.dtype} ${scheme.granularity}${maxChunkBytes ? ', chunked' : ''}: buffers hold the array path's bits`, async () => {
        const shape = [48, 160];
        const x = randomNormal(48 * 160, 31);
        const input = await upload(x);
        const options = { backend: 'webgpu' as const, device, ...(maxChunkBytes ? { maxChunkBytes } : {}) };
        const cpu = await quantize(x, shape, scheme);
        const onGpu = await quantize(input, shape, scheme, { ...options, output: 'gpu' });
        expect(Array.from(new Uint32Array(await readBack(onGpu.packed)))).toEqual(Array.from(cpu.packed));
        expect(Array.from(new Uint32Array(await readBack(onGpu.scales)))).toEqual(Array.from(new Uint32Array(cpu.scales.buffer)));
        expect(Array.from(new Int32Array(await readBack(onGpu.zeroPoints)))).toEqual(Array.from(cpu.zeroPoints));
        const arrays = await quantize(input, shape, scheme, options);
        expect(compareQuantized(arrays, cpu).equal).toBe(true);
        // Dequantize what stayed on the GPU, to a GPU buffer and to an array: the CPU's bits.
        const want = Array.from(new Uint32Array((await dequantize(cpu)).buffer));
        const back = await dequantize(onGpu, { ...options, output: 'gpu' });
        expect(Array.from(new Uint32Array(await readBack(back)))).toEqual(want);
        expect(Array.from(new Uint32Array((await dequantize(onGpu, options)).buffer))).toEqual(want);
        for (const b of [onGpu.packed, onGpu.scales, onGpu.zeroPoints, input, back]) b.destroy();
      });
    }
  }

  it('quantizeWithParams takes a GPUBuffer too', async () => {
    const x = randomNormal(64, 32);
    const input = await upload(x);
    const params = { dtype: 'int8' as const, scales: [0.01], zeroPoints: [0] };
    const gpu = await quantizeWithParams(input, [64], params, { backend: 'webgpu', device, output: 'gpu' });
    const cpu = await quantizeWithParams(x, [64], params);
    expect(Array.from(new Uint32Array(await readBack(gpu.packed)))).toEqual(Array.from(cpu.packed));
  });

  it('a buffer longer than the tensor: what lies past its end is never read as input', async () => {
    // 61 elements, then NaNs: the last packed word's missing lanes read past the tensor.
    const x = randomNormal(61, 33);
    const padded = new Float32Array(72).fill(Number.NaN);
    padded.set(x);
    const input = await upload(padded);
    for (const scheme of schemes.filter((s) => s.granularity !== 'group')) {
      const shape = scheme.granularity === 'tensor' ? [61] : [1, 61];
      const cpu = await quantize(x, shape, scheme);
      const gpu = await quantize(input, shape, scheme, { backend: 'webgpu', device });
      expect(compareQuantized(gpu, cpu).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
    }
    const params = { dtype: 'int8' as const, scales: [0.01], zeroPoints: [0] };
    const given = await quantizeWithParams(input, [61], params, { backend: 'webgpu', device });
    expect(compareQuantized(given, await quantizeWithParams(x, [61], params)).equal).toBe(true);
    input.destroy();
  });

  it('rejects what cannot work, saying why', async () => {
    const input = await upload(new Float32Array(16));
    const scheme = schemes[0] as QuantScheme;
    await expect(quantize(input, [4, 4], scheme, { backend: 'webgpu' })).rejects.toThrow(/needs backend: 'webgpu' and options.device/);
    await expect(quantize(input, [4, 4], scheme)).rejects.toThrow(QuantizationError);
    await expect(quantize(input, [8, 4], scheme, { backend: 'webgpu', device })).rejects.toThrow(/holds 64 bytes; shape \[8, 4\] needs 128/);
    await expect(quantize(new Float32Array(4), [4], scheme, { output: 'gpu' })).rejects.toThrow(/output: 'gpu' needs backend: 'webgpu'/);
    const onGpu = await quantize(input, [4, 4], scheme, { backend: 'webgpu', device, output: 'gpu' });
    await expect(dequantize(onGpu)).rejects.toThrow(/a tensor left on the GPU needs backend: 'webgpu' and options.device/);
    await expect(dequantize({ ...onGpu, shape: [8, 4] }, { backend: 'webgpu', device })).rejects.toThrow(/scales holds 16 bytes but the shape and scheme need 32/);
  });
});
