// Real trained weights (models/README.md), quantized on the GPU and on the CPU under every
// profile. The safetensors header is read here with a few lines of independent code.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, quantize, releaseDevice } from '../../src/index.js';
import type { QuantScheme } from '../../src/index.js';

afterAll(releaseDevice);

function readSafetensors(path: URL): { name: string; shape: number[]; data: Float32Array }[] {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  return Object.entries(header)
    .filter(([name, t]) => name !== '__metadata__' && t.dtype === 'F32')
    .map(([name, t]) => {
      const [begin, end] = t.data_offsets;
      const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
      return { name, shape: t.shape, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
    });
}

const tensors = readSafetensors(new URL('../../models/silero_vad_16k.safetensors', import.meta.url));

const SCHEMES: QuantScheme[] = [
  { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx' },
  { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' },
  { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 32, profile: 'onnx' },
  { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' },
  { dtype: 'uint8', symmetric: false, granularity: 'channel', axis: -1, profile: 'pytorch' },
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' },
  { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
];

describe('real weights: silero_vad_16k.safetensors', () => {
  it('has the F32 tensors the fixture README lists', () => {
    expect(tensors.length).toBe(15);
  });

  for (const scheme of SCHEMES) {
    const label = `${scheme.profile} ${scheme.dtype} ${scheme.granularity}${scheme.blockSize ? ` ${scheme.blockSize}` : ''}`;
    it(`${label}: every applicable tensor bit-identical`, async () => {
      let checked = 0;
      for (const t of tensors) {
        const lastDim = t.shape.at(-1) ?? 1;
        if (scheme.profile === 'ggml' && lastDim % 32 !== 0) continue;
        const gpu = await quantize(t.data, t.shape, scheme, { backend: 'webgpu' });
        const cpu = await quantize(t.data, t.shape, scheme, { backend: 'cpu' });
        const report = compareQuantized(gpu, cpu, { input: t.data });
        expect(`${t.name}: ${report.summary}`).toBe(`${t.name}: bit-identical: codes, packed words, scales and zero points all equal`);
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(scheme.profile === 'ggml' ? 3 : 15);
    });
  }
});
