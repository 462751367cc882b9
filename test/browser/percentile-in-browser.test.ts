// The percentile suite of test/gpu/percentile-suite.ts inside headless Chromium, on its WebGPU (SwiftShader
// where there is no GPU): whole, chunked and streamed, and every weight of the bundled models,
// bit for bit the CPU reference.
import { describe, expect, it } from 'vitest';
import type { PercentileResult } from '../gpu/percentile-suite.js';
import { useGpuPage } from './harness.js';

const gpu = useGpuPage();

describe('percentile calibration on WebGPU equals the CPU reference (headless Chromium)', () => {
  it('every case of the percentile suite is bit-identical', async () => {
    // A string, so that the test runner leaves its import() alone: Vite compiles the suite from
    // source for the page, as it does test/gpu/suite.ts.
    const results = (await gpu.page.evaluate(`(async () => {
      const suite = await import('/test/gpu/percentile-suite.ts');
      const out = [];
      for (const c of suite.percentileCases()) out.push(await suite.runPercentileCase(c));
      return out;
    })()`)) as PercentileResult[];
    expect(results.length).toBeGreaterThan(200);
    expect(results.filter((r) => r.clipped).length).toBeGreaterThan(results.length / 2);
    expect(results.filter((r) => !r.equal).map((r) => `${r.name}: ${r.summary}`)).toEqual([]);
  }, 900_000);

  it('every weight of the bundled models, whole and chunked, is bit-identical', async () => {
    const results = (await gpu.page.evaluate(`(async () => {
      const suite = await import('/test/gpu/percentile-suite.ts');
      const { parseSafetensors } = await import('/test/gpu/model-weights.ts');
      const out = [];
      for (const file of suite.MODEL_FILES) {
        const bytes = new Uint8Array(await (await fetch('/models/' + file)).arrayBuffer());
        for (const { c, x } of suite.modelCases(file, parseSafetensors(bytes))) out.push(await suite.runPercentileCase(c, x));
      }
      const gguf = new Uint8Array(await (await fetch('/models/' + suite.GGUF_MODEL)).arrayBuffer());
      for (const { c, x } of suite.modelCases(suite.GGUF_MODEL, await suite.ggufWeights(gguf))) out.push(await suite.runPercentileCase(c, x));
      return out;
    })()`)) as PercentileResult[];
    expect(results.length).toBeGreaterThan(37 * 4 * 2);
    expect(results.filter((r) => !r.equal).map((r) => `${r.name}: ${r.summary}`)).toEqual([]);
  }, 900_000);
});
