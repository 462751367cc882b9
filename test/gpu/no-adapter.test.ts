// With no adapter, asking for WebGPU fails clearly and points at the CPU backend; nothing falls back.
import { afterEach, describe, expect, it } from 'vitest';
import { QuantizationError, quantize, releaseDevice } from '../../src/index.js';

const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');

afterEach(async () => {
  if (original) Object.defineProperty(globalThis, 'navigator', original);
  else Reflect.deleteProperty(globalThis, 'navigator');
  await releaseDevice();
});

describe('no WebGPU adapter', () => {
  it("says WebGPU is unavailable and that backend: 'cpu' exists", async () => {
    await releaseDevice();
    const gpu = { requestAdapter: async () => null };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    const err = await quantize(new Float32Array(4), [4], { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' }, {
      backend: 'webgpu',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizationError);
    expect((err as Error).message).toMatch(/WebGPU is unavailable: no GPU adapter was found\. Use backend: 'cpu'/);
    expect((err as Error).message).toMatch(/VK_ICD_FILENAMES/);
  });

  it('the CPU backend still works and says it produced the result', async () => {
    const q = await quantize(new Float32Array([1, -1]), [2], { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' });
    expect(q.backend).toBe('cpu');
    expect(q.adapter).toBeUndefined();
  });
});
