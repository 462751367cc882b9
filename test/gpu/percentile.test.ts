// The 'percentile' calibrator on WebGPU in Node (Dawn; SwiftShader where there is no GPU): bit for
// bit the CPU reference's scales, zero points and codes on the suite of test/gpu/percentile-suite.ts
// and on every weight of the bundled models (safetensors and GGUF), and the reference's error
// for a non-finite element.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { quantize, releaseDevice, type QuantScheme } from '../../src/index.js';
import { parseSafetensors } from './model-weights.js';
import {
  GGUF_MODEL, ggufWeights, MODEL_FILES, modelCases, percentileCases, percentileData, type PercentileResult, RANK_ONE, runPercentileCase,
} from './percentile-suite.js';

afterAll(releaseDevice);

function expectEqual(r: PercentileResult): void {
  expect({ name: r.name, equal: r.equal, summary: r.summary }).toEqual({ name: r.name, equal: true, summary: r.summary });
}

describe('percentile calibration on WebGPU equals the CPU reference (Node)', () => {
  const cases = percentileCases();
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expectEqual(await runPercentileCase(c));
  });

  it('the suite tests clips: most percentile cases below 100 clip some parameter', async () => {
    const plain = cases.filter((c) => !c.maxChunkBytes && !c.streamElements && !c.versusMinmax && c.data === 'outliers');
    const results = await Promise.all(plain.map((c) => runPercentileCase(c)));
    expect(results.filter((r) => r.clipped).length).toBeGreaterThan(results.length / 2);
  });

  it('rank 1 selects the smallest |x| (symmetric) and the extremes swapped (asymmetric), as independent arithmetic finds them', async () => {
    const shape = [13, 70];
    const x = percentileData(shape, 'outliers');
    const smallest = x.reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
    const sym = await quantize(x, shape, {
      dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx', calibration: 'percentile', percentile: RANK_ONE,
    }, { backend: 'webgpu' });
    // ONNX symmetric int8: scale = amax / 127 in float32.
    expect(sym.scales[0]).toBe(Math.fround(Math.fround(smallest) / 127));
    const asym = await quantize(x, shape, {
      dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx', calibration: 'percentile', percentile: RANK_ONE,
    }, { backend: 'webgpu' });
    // The lower tail's rank n is the maximum and the upper's rank 1 the minimum: ONNX widens the
    // range [max, min] to hold 0, [min(max, 0), max(min, 0)] = [0, 0], whose zero scale becomes 1.
    expect(Math.max(...x)).toBeGreaterThan(0);
    expect(Math.min(...x)).toBeLessThan(0);
    expect(asym.scales[0]).toBe(1);
  });

  it.each(MODEL_FILES)('every weight of %s, whole and chunked', async (file) => {
    const cases = modelCases(file, parseSafetensors(readFileSync(new URL(`../../models/${file}`, import.meta.url))));
    expect(cases.length).toBeGreaterThan(0);
    for (const { c, x } of cases) expectEqual(await runPercentileCase(c, x));
  }, 600_000);

  it(`every weight of ${GGUF_MODEL}, whole and chunked`, async () => {
    const cases = modelCases(GGUF_MODEL, await ggufWeights(readFileSync(new URL(`../../models/${GGUF_MODEL}`, import.meta.url))));
    expect(cases.length).toBeGreaterThan(37 * 4);
    for (const { c, x } of cases) expectEqual(await runPercentileCase(c, x));
  }, 600_000);

  it.each([
    ['NaN', Number.NaN, 'channel'], ['+Inf', Infinity, 'tensor'], ['-Inf', -Infinity, 'group'],
  ] as const)('a %s element fails as on the reference, naming its index, whole and chunked', async (_n, bad, granularity) => {
    const shape = [13, 70];
    const x = percentileData(shape, 'outliers');
    x[500] = bad;
    x[801] = bad;
    const scheme: QuantScheme = {
      dtype: 'int4', symmetric: false, granularity, profile: 'onnx', calibration: 'percentile', percentile: 90,
      ...(granularity === 'group' ? { blockSize: 16 } : {}),
    };
    const reference = await quantize(x, shape, scheme, { backend: 'reference' }).then(() => undefined, (e: unknown) => e);
    expect(reference).toMatchObject({ index: 500 });
    for (const maxChunkBytes of [undefined, 256]) {
      const gpu = await quantize(x, shape, scheme, { backend: 'webgpu', ...(maxChunkBytes ? { maxChunkBytes } : {}) })
        .then(() => undefined, (e: unknown) => e);
      expect(gpu).toMatchObject({ name: 'QuantizationError', index: 500, message: (reference as Error).message });
    }
  });
});
