// Every bundled model, quantized by the fast CPU engine, equals the reference: each tensor whole
// of rank >= 2 (quantize) and every output file byte for byte (quantizeModel streams each tensor in chunks),
// on one worker and on several, under each output format's default scheme and a few others.
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, quantize, releaseWorkers } from '../../src/index.js';
import type { QuantScheme } from '../../src/index.js';
import { bytesSource, memorySink, modelTensors, openModel, quantizeModel, readTensorF32 } from '../../src/model/index.js';

afterAll(async () => {
  await releaseWorkers();
});

const MODELS = ['models/mnist.safetensors', 'models/silero_vad_16k.safetensors', 'models/stories260K.gguf'];
const SCHEMES: Record<'safetensors' | 'gguf', QuantScheme[]> = {
  safetensors: [
    { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' },
    { dtype: 'int4', symmetric: false, granularity: 'group', blockSize: 16, profile: 'onnx' },
  ],
  gguf: [
    { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
    { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
  ],
};

async function open(path: string) {
  return openModel(bytesSource(new Uint8Array(await readFile(path)), path));
}

describe.each([1, 3])('bundled models on the fast CPU engine, %i worker(s)', (workers) => {
  it.each(MODELS.flatMap((m) => SCHEMES[m.endsWith('.gguf') ? 'gguf' : 'safetensors'].map((s) => [m, s] as const)))(
    '%s, %o',
    async (path, scheme) => {
      const model = await open(path);
      let compared = 0;
      for (const t of modelTensors(model)) {
        if (t.shape.length < 2 || (scheme.profile === 'ggml' && (t.shape.at(-1) ?? 0) % 32 !== 0) || !['F32', 'F16', 'BF16'].includes(t.dtype)) continue;
        const x = await readTensorF32(model, t.name);
        const ref = await quantize(x, t.shape, scheme, { backend: 'reference' });
        const fast = await quantize(x, t.shape, scheme, { backend: 'cpu', workers });
        expect(compareQuantized(fast, ref, { input: x }).equal, `${t.name}`).toBe(true);
        compared++;
      }
      expect(compared).toBeGreaterThan(0);

      const files = await Promise.all(['reference', 'cpu'].map(async (backend) => {
        const sink = memorySink();
        const report = await quantizeModel(await open(path), sink, {
          scheme, backend: backend as 'cpu' | 'reference', workers, chunkElements: 1 << 13,
        });
        return { bytes: sink.bytes(), quantized: report.tensors.filter((r) => r.action === 'quantized').length };
      }));
      // (silero's weights are convolutions and LSTM matrices, which compressed-tensors output keeps.)
      expect(files[1]?.quantized).toBe(files[0]?.quantized);
      expect(Buffer.from(files[1]?.bytes ?? []).equals(Buffer.from(files[0]?.bytes ?? []))).toBe(true);
    },
  );
});
