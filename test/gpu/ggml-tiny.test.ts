// Blocks whose ggml scale is zero, whose 1/d overflows, or whose float16 d overflows: the CPU
// reference and every WebGPU path (Node, Dawn) write llama.cpp's own bytes, taken from its
// reference quantizers (test/gpu/llama-cpp.ts names the build).
import { afterAll, describe, expect, it } from 'vitest';
import { releaseDevice } from '../../src/index.js';
import { blockHex, ggmlBlockBytes, givenScaleCodes, tinyBlocks, tinyTensor } from './ggml-tiny.js';
import { LLAMA_CPP_UNAVAILABLE, llamaCpp } from './llama-cpp.js';

afterAll(releaseDevice);

describe.skipIf(LLAMA_CPP_UNAVAILABLE !== undefined)(
  `ggml blocks of tiny and huge values equal llama.cpp's bytes${LLAMA_CPP_UNAVAILABLE ? ` (skipped: ${LLAMA_CPP_UNAVAILABLE})` : ''}`,
  () => {
    it.each(['Q8_0', 'Q4_0'] as const)('%s: CPU reference and WebGPU paths', async (type) => {
      const llama = await llamaCpp();
      const blocks = tinyBlocks();
      const x = tinyTensor(blocks);
      const expected = blockHex(type === 'Q8_0' ? llama.q8_0(x) : llama.q4_0(x), type);
      const got = await ggmlBlockBytes(blocks, type);
      const mismatches: string[] = [];
      for (const [path, hex] of Object.entries(got)) {
        hex.forEach((h, b) => {
          if (h !== expected[b]) mismatches.push(`${path}, ${blocks[b]?.name}: ${h} vs llama.cpp ${expected[b]}`);
        });
      }
      expect({ llama: llama.version, mismatches }).toEqual({ llama: llama.version, mismatches: [] });
    });
  },
);

describe('ggml codes from caller-supplied scales whose reciprocal overflows', () => {
  it.each([['int8', 0], ['int4', -8]] as const)('%s: every code is %i where 1/d is infinite; WebGPU equals the CPU', async (dtype, code) => {
    const { scales, cpu, webgpu } = await givenScaleCodes(dtype);
    const overflowing = scales.flatMap((s, b) => (s !== 0 && !Number.isFinite(Math.fround(1 / Math.fround(s))) ? [b] : []));
    expect(overflowing.length).toBeGreaterThan(3);
    for (const b of overflowing) expect({ block: b, codes: cpu[b] }).toEqual({ block: b, codes: new Array<number>(32).fill(code) });
    const mismatches = webgpu.flatMap((codes, b) => (codes.join() === cpu[b]?.join() ? [] : [`block ${b} (d = ${scales[b]}): ${codes.join()} vs CPU ${cpu[b]?.join()}`]));
    expect(mismatches).toEqual([]);
  });
});
