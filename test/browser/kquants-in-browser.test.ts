// The K-quant kernels inside headless Chromium, on its WebGPU (SwiftShader where there is no GPU):
// their super-blocks equal the CPU reference's (src/cpu/kquants.ts, itself checked against
// llama.cpp), computed here in Node and compared with what the page returns, on real weights as
// rows of 256 (whole and in small windows) and on the adversarial super-blocks.
import { describe, expect, it } from 'vitest';
import { quantizeK } from '../../src/cpu/kquants.js';
import type * as Quantizer from '../../src/index.js';
import { blockFormatOf, type QuantScheme } from '../../src/index.js';
import { adversarialBlocks, realWeights } from '../kquants/fixtures.js';
import { useGpuPage } from './harness.js';

declare global {
  interface Window {
    quantizer: typeof Quantizer;
  }
}

const gpu = useGpuPage();

/** The first super-block of mnist's fc1.weight and of each stories260K weight, end to end. */
async function realRows(): Promise<Float32Array> {
  const tensors = [...(await realWeights('mnist.safetensors')), ...(await realWeights('stories260K.gguf'))];
  const out = new Float32Array(tensors.length * 256);
  tensors.forEach((t, i) => out.set(t.values.subarray(0, 256), i * 256));
  return out;
}

/** Floats travel to the page as the base64 of their bytes, so −0 and subnormals arrive intact. */
function toBase64(x: Float32Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
}

/** The first super-block whose bytes differ, by name, or 'equal'. */
function firstDifference(gpu: Uint8Array, cpu: Uint8Array, blockBytes: number, names?: string[]): string {
  if (gpu.length !== cpu.length) return `lengths ${gpu.length} and ${cpu.length}`;
  const at = gpu.findIndex((b, i) => b !== cpu[i]);
  if (at < 0) return 'equal';
  const block = Math.floor(at / blockBytes);
  return `super-block ${block}${names ? ` (${names[block]})` : ''}, byte ${at % blockBytes}: ${gpu[at]} vs ${cpu[at]}`;
}

/** The page's WebGPU blocks for `x` as rows of `row`, in windows of at most `maxChunkBytes` when given. */
async function gpuBlocks(x: Float32Array, row: number, scheme: QuantScheme, maxChunkBytes?: number): Promise<{ backend: string; blocks: Uint8Array }> {
  const r = await gpu.page.evaluate(async (b64, rowLength, s, chunk) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const values = new Float32Array(bytes.buffer);
    const q = await window.quantizer.quantize(values, [values.length / rowLength, rowLength], s, {
      backend: 'webgpu', ...(chunk === undefined ? {} : { maxChunkBytes: chunk }),
    });
    let bin = '';
    for (const v of q.blocks ?? new Uint8Array(0)) bin += String.fromCharCode(v);
    return { backend: q.backend, blocks: btoa(bin) };
  }, toBase64(x), row, scheme, maxChunkBytes);
  return { backend: r.backend, blocks: new Uint8Array(Buffer.from(r.blocks, 'base64')) };
}

describe('K-quant kernels in headless Chromium equal the CPU reference byte for byte', () => {
  it.each(['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const)('%s: real weights whole and windowed, adversarial super-blocks', async (type) => {
    const format = blockFormatOf({ format: type.toLowerCase(), profile: 'ggml', dtype: 'int8' });
    const scheme = format?.blocks.scheme as QuantScheme;
    const blockBytes = format?.blocks.blockBytes as number;

    const real = await realRows();
    const realCpu = quantizeK(type, real);
    const whole = await gpuBlocks(real, 256, scheme);
    expect(whole.backend).toBe('webgpu');
    expect(firstDifference(whole.blocks, realCpu, blockBytes)).toBe('equal');
    const even = real.subarray(0, real.length - (real.length % 512));
    const windowed = await gpuBlocks(even, 512, scheme, 3 * 512 * 4);
    expect(firstDifference(windowed.blocks, realCpu.subarray(0, (even.length / 256) * blockBytes), blockBytes)).toBe('equal');

    const blocks = adversarialBlocks();
    const x = new Float32Array(blocks.length * 256);
    blocks.forEach((b, i) => x.set(b.values, i * 256));
    const adversarial = await gpuBlocks(x, 256, scheme);
    expect(firstDifference(adversarial.blocks, quantizeK(type, x), blockBytes, blocks.map((b) => b.name))).toBe('equal');
  }, 300_000);
});
