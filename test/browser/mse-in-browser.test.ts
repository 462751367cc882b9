// The mse suite of test/gpu/mse-suite.ts inside headless Chromium, on its WebGPU (SwiftShader
// where there is no GPU): whole, chunked and streamed, bit for bit the CPU reference.
import { describe, expect, it } from 'vitest';
import type { MseResult } from '../gpu/mse-suite.js';
import { useGpuPage } from './harness.js';

const gpu = useGpuPage();

describe('mse calibration on WebGPU equals the CPU reference (headless Chromium)', () => {
  it('every case of the mse suite is bit-identical', async () => {
    // A string, so that the test runner leaves its import() alone: Vite compiles the suite from
    // source for the page, as it does test/gpu/suite.ts.
    const results = (await gpu.page.evaluate(`(async () => {
      const suite = await import('/test/gpu/mse-suite.ts');
      const out = [];
      for (const c of suite.mseCases()) out.push(await suite.runMseCase(c));
      return out;
    })()`)) as MseResult[];
    expect(results.length).toBeGreaterThan(200);
    expect(results.filter((r) => r.clipped).length).toBeGreaterThan(results.length / 2);
    expect(results.filter((r) => !r.equal).map((r) => `${r.name}: ${r.summary}`)).toEqual([]);
  }, 900_000);
});
