// The 'mse' calibrator on WebGPU in Node (Dawn; SwiftShader where there is no GPU): bit for bit the
// CPU reference's scales, zero points and codes on the suite of test/gpu/mse-suite.ts and on every
// weight of the bundled safetensors models.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseDevice, type QuantScheme } from '../../src/index.js';
import { parseSafetensors } from './model-weights.js';
import { mseCases, type MseResult, runMseCase } from './mse-suite.js';

afterAll(releaseDevice);

function expectEqual(r: MseResult): void {
  expect({ name: r.name, equal: r.equal, summary: r.summary }).toEqual({ name: r.name, equal: true, summary: r.summary });
}

describe('mse calibration on WebGPU equals the CPU reference (Node)', () => {
  const cases = mseCases();
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expectEqual(await runMseCase(c));
  });

  it('the suite tests choices: most cases clip some parameter', async () => {
    const results = await Promise.all(cases.filter((c) => !c.maxChunkBytes && !c.streamElements).map((c) => runMseCase(c)));
    expect(results.filter((r) => r.clipped).length).toBeGreaterThan(results.length / 2);
  });

  const models = ['mnist.safetensors', 'silero_vad_16k.safetensors'];
  const schemes: QuantScheme[] = [
    { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'pytorch', calibration: 'mse' },
    { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 128, profile: 'onnx', calibration: 'mse' },
    { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch', calibration: 'mse' },
    { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx', calibration: 'mse' },
  ];
  it.each(models)('every weight of %s, whole and chunked', async (file) => {
    const tensors = parseSafetensors(readFileSync(new URL(`../../models/${file}`, import.meta.url)));
    expect(tensors.length).toBeGreaterThan(0);
    for (const t of tensors) {
      for (const scheme of schemes) {
        if (scheme.granularity === 'group' && (t.shape.at(-1) as number) < 2) continue;
        for (const maxChunkBytes of [undefined, 4096]) {
          const c = { name: `${file} ${t.name} ${scheme.profile} ${scheme.dtype} ${scheme.granularity} ${maxChunkBytes ?? 'whole'}`, shape: t.shape, scheme };
          expectEqual(await runMseCase(maxChunkBytes ? { ...c, maxChunkBytes } : c, t.data));
        }
      }
    }
  }, 600_000);
});
