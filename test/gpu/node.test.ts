// The GPU-vs-CPU suite in Node, on Dawn (SwiftShader where there is no GPU; see package.json).
import { afterAll, describe, expect, it } from 'vitest';
import { adapterFacts, releaseDevice } from '../../src/index.js';
import {
  type CaseResult, chunkCases, foldCase, fusedCases, type GpuCase, matrixCases, runCase, runNearTies, runWithParamsCase, shapeCases,
} from './suite.js';

afterAll(async () => {
  await releaseDevice();
});

function expectEqual(r: CaseResult): void {
  expect({ name: r.name, summary: r.summary, dequantizeEqual: r.dequantizeEqual, metrics: r.metricsProblem }).toEqual({
    name: r.name, summary: 'bit-identical: codes, packed words, scales and zero points all equal', dequantizeEqual: true,
    metrics: undefined,
  });
}

describe('WebGPU equals the CPU reference (Node, Dawn)', () => {
  it('runs on a real adapter and says which', async () => {
    const facts = await adapterFacts();
    expect(facts.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(typeof facts.isFallback).toBe('boolean');
  });

  const cases: GpuCase[] = [...matrixCases(), ...shapeCases(), ...chunkCases(), ...fusedCases()];
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    expectEqual(await runCase(c, 1000 + i));
  });

  it.each(['onnx', 'pytorch'] as const)('quotients within ulps of k.5 round exactly (%s)', async (profile) => {
    expectEqual(await runNearTies(profile, 77));
  });

  it('a dispatch past 65 535 workgroups folds into two dimensions', async () => {
    expectEqual(await runCase(foldCase(), 14));
  });

  it.each(matrixCases().filter((_, i) => i % 3 === 0).map((c, i) => [c.name, c, i] as const))(
    'quantizeWithParams: %s',
    async (_name, c, i) => {
      expectEqual(await runWithParamsCase(c, 2000 + i));
    },
  );
});
