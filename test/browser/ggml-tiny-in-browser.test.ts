// test/gpu/ggml-tiny.ts inside headless Chromium, on its WebGPU (SwiftShader where there is no
// GPU): the CPU reference and every WebGPU path write llama.cpp's bytes for blocks of tiny and
// huge values. The expected bytes come from llama.cpp's reference quantizers, run here in Node
// (test/gpu/llama-cpp.ts names the build) and handed to the page.
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Tiny from '../gpu/ggml-tiny.js';
import { blockHex, tinyBlocks, tinyTensor } from '../gpu/ggml-tiny.js';
import { LLAMA_CPP_UNAVAILABLE, llamaCpp } from '../gpu/llama-cpp.js';
import { type GpuPage, openGpuPage } from './harness.js';

declare global {
  interface Window {
    ggmlTiny: typeof Tiny;
  }
}

let gpu: GpuPage;
let page: Page;

beforeAll(async () => {
  gpu = await openGpuPage();
  page = gpu.page;
  // Vite compiles the module for the page, as it does the suite.
  await page.addScriptTag({ type: 'module', content: "import * as t from '/test/gpu/ggml-tiny.ts'; window.ggmlTiny = t;" });
  await page.waitForFunction(() => window.ggmlTiny !== undefined, { timeout: 60_000 });
});

afterAll(async () => {
  await gpu?.close();
});

describe.skipIf(LLAMA_CPP_UNAVAILABLE !== undefined)(
  `ggml blocks of tiny and huge values equal llama.cpp's bytes in Chromium${LLAMA_CPP_UNAVAILABLE ? ` (skipped: ${LLAMA_CPP_UNAVAILABLE})` : ''}`,
  () => {
    it.each(['Q8_0', 'Q4_0'] as const)('%s: CPU reference and WebGPU paths', async (type) => {
      const llama = await llamaCpp();
      const blocks = tinyBlocks();
      const x = tinyTensor(blocks);
      const expected = blockHex(type === 'Q8_0' ? llama.q8_0(x) : llama.q4_0(x), type);
      const got = await page.evaluate((blockList, t) => window.ggmlTiny.ggmlBlockBytes(blockList, t), blocks, type);
      expect(Object.keys(got)).toHaveLength(3);
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

describe('ggml codes from caller-supplied scales in Chromium', () => {
  it.each(['int8', 'int4'] as const)('%s: WebGPU equals the CPU', async (dtype) => {
    const { cpu, webgpu } = await page.evaluate((d) => window.ggmlTiny.givenScaleCodes(d), dtype);
    expect(cpu.length).toBe(tinyBlocks().length);
    const mismatches = webgpu.flatMap((codes, b) => (codes.join() === cpu[b]?.join() ? [] : [`block ${b}: ${codes.join()} vs CPU ${cpu[b]?.join()}`]));
    expect(mismatches).toEqual([]);
  });
});
