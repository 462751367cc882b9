// The GPU-vs-CPU suite of test/gpu/suite.ts inside headless Chromium, on its WebGPU (SwiftShader
// where there is no GPU).
import { describe, expect, it } from 'vitest';
import type * as Suite from '../gpu/suite.js';
import type * as Quantizer from '../../src/index.js';
import { launchChromium, useGpuPage } from './harness.js';

declare global {
  interface Window {
    suite: typeof Suite;
    quantizer: typeof Quantizer;
  }
}

const gpu = useGpuPage();

describe('WebGPU equals the CPU reference (headless Chromium)', () => {
  it('uses the browser adapter', async () => {
    const facts = await gpu.page.evaluate(() => window.quantizer.adapterFacts());
    expect(facts.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  // Some 250 cases in one page: minutes on a loaded 2-core machine. One evaluate per case, so no
  // single call to the browser runs long enough to hit puppeteer's protocol timeout.
  it('every case of the suite is bit-identical', async () => {
    const counts = await gpu.page.evaluate(() => {
      const { matrixCases, shapeCases, chunkCases, fusedCases } = window.suite;
      return {
        cases: [...matrixCases(), ...shapeCases(), ...chunkCases(), ...fusedCases()].length,
        withParams: matrixCases().filter((_, j) => j % 3 === 0).length,
      };
    });
    const results = [];
    for (let i = 0; i < counts.cases; i++) {
      results.push(await gpu.page.evaluate((i) => {
        const { matrixCases, shapeCases, chunkCases, fusedCases, runCase } = window.suite;
        const cases = [...matrixCases(), ...shapeCases(), ...chunkCases(), ...fusedCases()];
        return runCase(cases[i] as (typeof cases)[number], 1000 + i);
      }, i));
    }
    for (let i = 0; i < counts.withParams; i++) {
      results.push(await gpu.page.evaluate((i) => {
        const { matrixCases, runWithParamsCase } = window.suite;
        const every = matrixCases().filter((_, j) => j % 3 === 0);
        return runWithParamsCase(every[i] as (typeof every)[number], 2000 + i);
      }, i));
    }
    results.push(...await gpu.page.evaluate(async () => {
      const { runNearTies } = window.suite;
      return [await runNearTies('onnx', 77), await runNearTies('pytorch', 77)];
    }));
    expect(results.length).toBeGreaterThan(200);
    const failures = results
      .filter((r) => !r.equal || !r.dequantizeEqual || r.metricsProblem)
      .map((r) => `${r.name}: ${r.summary}${r.dequantizeEqual ? '' : '; dequantize differs'} ${r.metricsProblem ?? ''}`);
    expect(failures).toEqual([]);
  }, 600_000);
});

describe('large dispatches in Chromium', () => {
  it('a dispatch past 65 535 workgroups folds into two dimensions', async () => {
    const r = await gpu.page.evaluate(() => window.suite.runCase(window.suite.foldCase(), 14));
    expect([r.summary, r.dequantizeEqual, r.metricsProblem]).toEqual([
      'bit-identical: codes, packed words, scales and zero points all equal', true, undefined,
    ]);
  });
});

describe('Chromium without WebGPU', () => {
  it("a WebGPU request fails clearly, naming the CPU backend, which still works", async () => {
    const plain = await launchChromium([], false);
    try {
      const p = await plain.newPage();
      await p.goto(`${gpu.url}/test/browser/gpu-page.html`);
      await p.waitForFunction(() => document.title === 'ready', { timeout: 60_000 });
      const outcome = await p.evaluate(async () => {
        const { quantize } = window.quantizer;
        const scheme = { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' } as const;
        const x = new Float32Array([1, -2, 3]);
        const gpuError = await quantize(x, [3], scheme, { backend: 'webgpu' }).then(() => 'no error', (e: Error) => e.message);
        const cpu = await quantize(x, [3], scheme);
        return { hasGpu: 'gpu' in navigator, gpuError, backend: cpu.backend, codes: Array.from(cpu.codes) };
      });
      expect(outcome.gpuError).toMatch(/WebGPU is unavailable.*backend: 'cpu'/);
      expect(outcome.backend).toBe('cpu');
      // scale = 2·3/254 = 3/127: 1 → rne(42.33) = 42, −2 → rne(−84.67) = −85, 3 → 127.
      expect(outcome.codes).toEqual([42, -85, 127]);
    } finally {
      await plain.close();
    }
  });
});
