// The 'mse' calibrator on WebGPU in Node (Dawn; SwiftShader where there is no GPU): bit for bit the
// CPU reference's scales, zero points and codes on the suite of test/gpu/mse-suite.ts and on every
// weight of the bundled safetensors models.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { quantize, releaseDevice, type QuantScheme } from '../../src/index.js';
import { mseCases, type MseResult, runMseCase } from './mse-suite.js';

afterAll(releaseDevice);

function expectEqual(r: MseResult): void {
  expect({ name: r.name, equal: r.equal, summary: r.summary }).toEqual({ name: r.name, equal: true, summary: r.summary });
}

/** The F32 tensors of a safetensors file, read with a few lines of independent code. */
function readSafetensors(path: URL): { name: string; shape: number[]; data: Float32Array }[] {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string, { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  return Object.entries(header)
    .filter(([name, t]) => name !== '__metadata__' && t.dtype === 'F32' && t.shape.length >= 2)
    .map(([name, t]) => {
      const [begin, end] = t.data_offsets;
      const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
      return { name, shape: t.shape, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
    });
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
    const tensors = readSafetensors(new URL(`../../models/${file}`, import.meta.url));
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

  it('percentile still runs on the CPU backends only, and says so', async () => {
    const s: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'tensor', profile: 'onnx', calibration: 'percentile' };
    await expect(quantize(new Float32Array(8), [8], s, { backend: 'webgpu' })).rejects.toThrow(/calibration percentile runs on the CPU backend only/);
  });
});
