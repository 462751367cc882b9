// The K-quants as registry formats: quantize / dequantize / quantizeStream on the CPU reference,
// and their WGSL kernels on WebGPU (Dawn with SwiftShader here), whose bytes must equal the CPU
// reference's (src/cpu/kquants.ts, itself checked against llama.cpp) on real weights as rows of
// 256 and on adversarial super-blocks, whole and in small windows.
import { afterAll, describe, expect, it } from 'vitest';
import { dequantizeK, quantizeK } from '../../src/cpu/kquants.js';
import {
  type BlockFormat, blockFormatOf, dequantize, formatOf, quantize, quantizeStream, type QuantScheme, registerFormat, releaseDevice,
} from '../../src/index.js';
import { adversarialBlocks, realWeights } from './fixtures.js';

afterAll(async () => {
  await releaseDevice();
});

const SCHEMES = {
  Q2_K: { format: 'q2_k', profile: 'ggml', dtype: 'uint4', symmetric: false, granularity: 'group' },
  Q3_K: { format: 'q3_k', profile: 'ggml', dtype: 'int4', symmetric: true, granularity: 'group' },
  Q4_K: { format: 'q4_k', profile: 'ggml', dtype: 'uint4', symmetric: false, granularity: 'group' },
  Q5_K: { format: 'q5_k', profile: 'ggml', dtype: 'uint8', symmetric: false, granularity: 'group' },
  Q6_K: { format: 'q6_k', profile: 'ggml', dtype: 'int8', symmetric: true, granularity: 'group' },
} as const satisfies Record<string, QuantScheme>;
type GpuType = keyof typeof SCHEMES;
const TYPES = Object.keys(SCHEMES) as GpuType[];

/** The first `blocks` super-blocks of mnist's fc1.weight and of each stories260K weight, as rows of 256. */
async function realRows(blocksPerTensor: number): Promise<Float32Array> {
  const tensors = [...(await realWeights('mnist.safetensors')), ...(await realWeights('stories260K.gguf'))];
  const parts = tensors.map((t) => t.values.subarray(0, Math.min(t.values.length, blocksPerTensor * 256)));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Float32Array(total - (total % 512));
  let at = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.min(p.length, out.length - at)), at);
    at += p.length;
  }
  return out;
}

/** The first super-block whose bytes differ, by name, or 'equal'. */
function firstDifference(gpu: Uint8Array, cpu: Uint8Array, blockBytes: number, names?: string[]): string {
  if (gpu.length !== cpu.length) return `lengths ${gpu.length} and ${cpu.length}`;
  const at = gpu.findIndex((b, i) => b !== cpu[i]);
  if (at < 0) return 'equal';
  const block = Math.floor(at / blockBytes);
  return `super-block ${block}${names ? ` (${names[block]})` : ''}, byte ${at % blockBytes}: ${gpu[at]} vs ${cpu[at]}`;
}

describe('K-quants in the registry, on the CPU', () => {
  it.each(['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const)('%s: quantize returns the reference blocks, dequantize decodes them, a stream gives the same', async (type) => {
    const x = await realRows(2);
    const shape = [x.length / 512, 512];
    const f = blockFormatOf({ format: type.toLowerCase(), profile: 'ggml', dtype: 'int8' });
    expect(f?.blocks.gguf.typeName).toBe(type);
    const scheme = f?.blocks.scheme as QuantScheme;
    const want = quantizeK(type, x);
    for (const backend of ['cpu', 'reference'] as const) {
      const q = await quantize(x, shape, scheme, { backend, metrics: true });
      expect(Buffer.from(q.blocks as Uint8Array).equals(Buffer.from(want))).toBe(true);
      expect([q.codes.length, q.packed.length, q.scales.length, q.zeroPoints.length]).toEqual([0, 0, 0, 0]);
      expect(q.backend).toBe(backend);
      const y = await dequantize(q, { backend });
      expect(Array.from(y)).toEqual(Array.from(dequantizeK(type, want)));
      let num = 0;
      let den = 0;
      x.forEach((v, i) => {
        num += v * v;
        den += (v - (y[i] as number)) ** 2;
      });
      expect(q.metrics?.sqnrDb).toBeCloseTo(10 * Math.log10(num / den), 6);
    }
    const parts: Uint8Array[] = [];
    const starts: number[] = [];
    const r = await quantizeStream({ read: async (s, n) => x.slice(s, s + n) }, shape, scheme, {
      chunkElements: 1000, alignElements: 512, onChunk: (c) => { parts.push(c.blocks as Uint8Array); starts.push(c.start); },
    });
    expect(starts.slice(0, 2)).toEqual([0, 512]);
    expect(Buffer.concat(parts).equals(Buffer.from(want))).toBe(true);
    expect(r.scales.length).toBe(0);
  });

  it('names the scheme a K-quant takes, refuses any other, and refuses rows that are not whole super-blocks', async () => {
    const x = new Float32Array(512);
    const bad: [Partial<QuantScheme>, number[], RegExp][] = [
      [{ dtype: 'int4' }, [2, 256], /Q4_K is uint4, asymmetric, granularity 'group' with blockSize 256 along the last axis; got dtype int4/],
      [{ symmetric: true }, [2, 256], /got symmetric/],
      [{ blockSize: 32 }, [2, 256], /got blockSize 32/],
      [{ axis: 0 }, [2, 256], /got axis 0 of a rank-2 tensor/],
      [{ granularity: 'channel' }, [2, 256], /got granularity channel/],
      [{}, [4, 128], /Q4_K quantizes rows of whole super-blocks of 256; the last axis has length 128/],
      [{ profile: 'onnx' }, [2, 256], /format q4_k follows the ggml profile/],
      [{ calibration: 'mse' }, [2, 256], /mse is not available for the ggml profile/],
    ];
    for (const [change, shape, message] of bad) {
      await expect(quantize(x, shape, { ...SCHEMES.Q4_K, ...change } as QuantScheme)).rejects.toThrow(message);
    }
    expect(() => formatOf(SCHEMES.Q4_K)).toThrow(/format q4_k encodes blocks of 256 with scales of their own/);
  });

  it('names the first NaN, and refuses a result whose blocks are missing or of the wrong size', async () => {
    const x = new Float32Array(512);
    x[300] = NaN;
    for (const backend of ['cpu', 'reference'] as const) {
      await expect(quantize(x, [2, 256], SCHEMES.Q6_K, { backend })).rejects.toThrow(/NaN at flat index 300 \(coordinates \[1, 44\]\)/);
    }
    const q = await quantize(new Float32Array(512), [2, 256], SCHEMES.Q6_K);
    await expect(dequantize({ ...q, blocks: (q.blocks as Uint8Array).subarray(1) })).rejects.toThrow(/blocks holds 419 bytes but the shape and scheme need 420/);
    const noBlocks = { ...q };
    delete noBlocks.blocks;
    await expect(dequantize(noBlocks)).rejects.toThrow(/a q6_k result holds its blocks in q.blocks/);
    await expect(dequantize(q, { backend: 'webgpu' })).rejects.toThrow(/q6_k's blocks are decoded on the CPU/);
    await expect(quantize(new Float32Array(512), [2, 256], SCHEMES.Q6_K, { backend: 'webgpu', output: 'gpu' }))
      .rejects.toThrow(/output: 'gpu' holds codes, scales and zero points; format q6_k makes blocks/);
    // Every built-in K-quant has a kernel; a block format registered without one is refused by name.
    const { gpu, ...withoutKernel } = blockFormatOf(SCHEMES.Q4_K) as BlockFormat;
    expect(gpu?.kind).toBe('blocks');
    registerFormat({ ...withoutKernel, name: 'q4_k_cpu_only' });
    await expect(quantize(new Float32Array(512), [2, 256], { ...SCHEMES.Q4_K, format: 'q4_k_cpu_only' }, { backend: 'webgpu' }))
      .rejects.toThrow(/format q4_k_cpu_only has no WebGPU kernel yet/);
  });
});

describe('K-quant kernels on WebGPU equal the CPU reference byte for byte', () => {
  for (const type of TYPES) {
    const scheme = SCHEMES[type];
    const blockBytes = { Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210 }[type];

    it(`${type}: adversarial super-blocks, whole and one window per block`, async () => {
      // 'tiny normal' (Gaussian · 1e-37) holds subnormal weights: its bytes come from the CPU
      // reference by the host's rule, as every such block's do.
      const kept = adversarialBlocks();
      const x = new Float32Array(kept.length * 256);
      kept.forEach((b, i) => x.set(b.values, i * 256));
      const names = kept.map((b) => b.name);
      const cpu = quantizeK(type, x);
      for (const maxChunkBytes of [undefined, 1024 * 3]) {
        const q = await quantize(x, [x.length / 256, 256], scheme, { backend: 'webgpu', ...(maxChunkBytes ? { maxChunkBytes } : {}) });
        expect(firstDifference(q.blocks as Uint8Array, cpu, blockBytes, names)).toBe('equal');
      }
    }, 300_000);

    it(`${type}: real weights as rows of 256 and 512, whole, in small windows and streamed`, async () => {
      const x = await realRows(8);
      const cpu = quantizeK(type, x);
      const whole = await quantize(x, [x.length / 256, 256], scheme, { backend: 'webgpu' });
      expect(firstDifference(whole.blocks as Uint8Array, cpu, blockBytes)).toBe('equal');
      const windows = await quantize(x, [x.length / 512, 512], scheme, { backend: 'webgpu', maxChunkBytes: 5 * 256 * 4 });
      expect(firstDifference(windows.blocks as Uint8Array, cpu, blockBytes)).toBe('equal');
      const parts: Uint8Array[] = [];
      await quantizeStream({ read: async (s, n) => x.slice(s, s + n) }, [x.length / 512, 512], scheme, {
        backend: 'webgpu', chunkElements: 3 * 512, alignElements: 512, onChunk: (c) => { parts.push(c.blocks as Uint8Array); },
      });
      expect(parts.length).toBeGreaterThan(2);
      expect(firstDifference(new Uint8Array(Buffer.concat(parts)), cpu, blockBytes)).toBe('equal');
    }, 300_000);

    it(`${type}: names the first NaN or infinity`, async () => {
      const x = new Float32Array(4 * 256);
      x[600] = -Infinity;
      x[900] = NaN;
      await expect(quantize(x, [4, 256], scheme, { backend: 'webgpu' })).rejects.toThrow(/-Infinity at flat index 600 \(coordinates \[2, 88\]\)/);
    }, 60_000);
  }
});
