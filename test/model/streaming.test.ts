// quantizeModel a chunk at a time: with chunks small enough to cut every tensor many times, the
// output file and the report equal those of a run that takes each tensor in one chunk (whose
// values the round-trip tests check against the CPU reference); reads, writes and memory stay in
// chunks; failures and aborts part way through a tensor end the run cleanly.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, reference, releaseDevice } from '../../src/index.js';
import type { Backend, QuantScheme } from '../../src/index.js';
import { encodeF16, type GgufOutputType, planGgufOutput, readGguf, readGgufTensorF32, writeGguf } from '../../src/formats/gguf.js';
import { type ByteSink, type ByteSource, bytesSource, memorySink } from '../../src/formats/io.js';
import { openModel } from '../../src/formats/model.js';
import { type OutputTensor, writeSafetensors } from '../../src/formats/safetensors.js';
import { type QuantizeModelOptions, quantizeModel } from '../../src/model/quantize-model.js';
import type { ModelReport } from '../../src/model/report.js';
import { randomNormal } from '../../src/synthetic.js';

afterAll(async () => {
  await releaseDevice();
});

const STORIES = new Uint8Array(readFileSync(new URL('../../models/stories260K.gguf', import.meta.url)));

type Dtype = 'F32' | 'F16' | 'BF16';

/** float32 values in `dtype`'s bytes: F16 rounded to nearest even, BF16 the top half. */
function floatBytes(x: Float32Array, dtype: Dtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(x.slice().buffer);
  const bits = new Uint32Array(x.slice().buffer);
  return new Uint8Array(Uint16Array.from(bits, (b, i) => (dtype === 'F16' ? reference.f32ToF16Bits(x[i] as number) : b >>> 16)).buffer);
}

/**
 * A safetensors model whose weights are `dtype`: matrices with rows of 64, 40 and 48 (one with a
 * NaN when asked), a 1-D bias, a 3-D weight (kept whole by compressed-tensors) and an I64 counter.
 */
async function safetensorsModel(dtype: Dtype, nanAt?: number): Promise<Uint8Array> {
  const specs: [string, number[], Dtype | 'I64'][] = [
    ['layer.0.weight', [37, 64], dtype], ['layer.0.bias', [37], dtype], ['layer.1.weight', [24, 40], dtype],
    ['conv.weight', [4, 3, 8], dtype], ['steps', [300], 'I64'], ['layer.2.weight', [130, 48], dtype],
  ];
  const data = specs.map(([, shape, type], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (type === 'I64') return new Uint8Array(BigInt64Array.from({ length: n }, (_, j) => BigInt(j * 1_000_003 - 7)).buffer);
    const x = randomNormal(n, 11 + i, 0.05);
    if (i === 5 && nanAt !== undefined) x[nanAt] = NaN;
    return floatBytes(x, type);
  });
  const outputs: OutputTensor[] = specs.map(([name, shape, type], i) => ({ name, dtype: type, shape, byteLength: (data[i] as Uint8Array).byteLength }));
  const sink = memorySink();
  await writeSafetensors(sink, outputs, { format: 'pt' }, async (i) => data[i] as Uint8Array);
  return sink.bytes();
}

/** stories260K with every matrix stored as F16 (so quantized tensors and the F16 fallback read F16). */
async function storiesF16(): Promise<Uint8Array> {
  const file = await readGguf(bytesSource(STORIES, 'stories260K.gguf'));
  const outputs = file.tensors.map((t): GgufOutputType => (t.shape.length >= 2 ? 'F16' : 'keep'));
  const sink = memorySink();
  await writeGguf(sink, planGgufOutput(file, outputs, 1), async (i) => {
    const t = file.tensors[i] as (typeof file.tensors)[number];
    return outputs[i] === 'F16' ? encodeF16(await readGgufTensorF32(file, t)) : file.source.read(t.offset, t.byteLength);
  });
  return sink.bytes();
}

/** The report without its timings, which differ from run to run. */
function timeless(report: ModelReport): ModelReport {
  return { ...report, seconds: 0, throughputMBps: 0, tensors: report.tensors.map((t) => ({ ...t, ms: 0 })) };
}

async function run(bytes: Uint8Array, name: string, options: QuantizeModelOptions, sink: ByteSink = memorySink()) {
  const report = await quantizeModel(await openModel(bytesSource(bytes, name)), sink, options);
  return { report, bytes: (sink as ReturnType<typeof memorySink>).bytes?.() };
}

const CHANNEL: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
const SAFETENSORS_SCHEMES: [string, QuantScheme][] = [
  ['per channel int8', CHANNEL],
  ['per tensor int8 asymmetric onnx', { dtype: 'int8', symmetric: false, granularity: 'tensor', profile: 'onnx' }],
  ['groups of 8 int4 asymmetric', { dtype: 'int4', symmetric: false, granularity: 'group', blockSize: 8, profile: 'pytorch' }],
  ['groups of 16 int8 onnx', { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 16, profile: 'onnx' }],
  ['per channel int4 onnx', { dtype: 'int4', symmetric: true, granularity: 'channel', profile: 'onnx' }],
];
const Q8: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
const Q4: QuantScheme = { ...Q8, dtype: 'int4' };

describe('many chunks per tensor give the bytes and report of one chunk per tensor', () => {
  describe.each(['F32', 'F16', 'BF16'] as const)('safetensors, %s weights', (dtype) => {
    it.each(SAFETENSORS_SCHEMES)('%s', async (_, scheme) => {
      const bytes = await safetensorsModel(dtype);
      const whole = await run(bytes, 'm.safetensors', { scheme, backend: 'cpu' });
      expect(whole.report.tensors.filter((t) => t.action === 'quantized').length).toBeGreaterThan(0);
      // 1: a row per chunk; 100: one or two rows (rows of 64, 40, 48); 700: many rows.
      for (const chunkElements of [1, 100, 700]) {
        const chunked = await run(bytes, 'm.safetensors', { scheme, backend: 'cpu', chunkElements });
        expect({ chunkElements, equal: chunked.bytes?.length === whole.bytes?.length }).toEqual({ chunkElements, equal: true });
        expect(Buffer.compare(Buffer.from(chunked.bytes as Uint8Array), Buffer.from(whole.bytes as Uint8Array))).toBe(0);
        expect(timeless(chunked.report)).toEqual(timeless(whole.report));
      }
    });
  });

  describe.each([['F32', async () => STORIES], ['F16', storiesF16]] as const)('GGUF stories260K, %s matrices', (_, input) => {
    it.each([['Q8_0', Q8], ['Q4_0', Q4]] as const)('%s, with the F16 fallback cut mid-row', async (_type, scheme) => {
      const bytes = await input();
      const whole = await run(bytes, 'm.gguf', { scheme, backend: 'cpu' });
      expect(whole.report.tensors.filter((t) => t.action === 'f16-fallback').length).toBe(5);
      // Rows of 64 (and of 172 for the F16 fallback, which 100-element chunks cut mid-row).
      for (const chunkElements of [1, 100]) {
        const chunked = await run(bytes, 'm.gguf', { scheme, backend: 'cpu', chunkElements });
        expect(Buffer.compare(Buffer.from(chunked.bytes as Uint8Array), Buffer.from(whole.bytes as Uint8Array))).toBe(0);
        expect(timeless(chunked.report)).toEqual(timeless(whole.report));
      }
    });
  });

  it.each([
    ['safetensors groups of 8 int4, BF16', 'm.safetensors', () => safetensorsModel('BF16'), SAFETENSORS_SCHEMES[2]?.[1] as QuantScheme],
    ['safetensors per tensor, F16', 'm.safetensors', () => safetensorsModel('F16'), SAFETENSORS_SCHEMES[1]?.[1] as QuantScheme],
    ['GGUF Q4_0, F16', 'm.gguf', storiesF16, Q4],
  ])('on WebGPU with --verify: %s', async (_, name, input, scheme) => {
    const bytes = await input();
    const cpu = await run(bytes, name, { scheme, backend: 'cpu' });
    const gpu = await run(bytes, name, { scheme, backend: 'webgpu', verify: true, chunkElements: 1000 });
    expect(Buffer.compare(Buffer.from(gpu.bytes as Uint8Array), Buffer.from(cpu.bytes as Uint8Array))).toBe(0);
    const quantized = gpu.report.tensors.filter((t) => t.action === 'quantized');
    expect(quantized.length).toBeGreaterThan(0);
    for (const t of quantized) {
      expect([t.name, t.verify]).toEqual([t.name, { equal: true, mismatches: 0, summary: 'bit-identical: codes, packed words, scales and zero points all equal' }]);
    }
    // The GPU sums its error metrics in its own order, so they agree with the CPU's to rounding only.
    const strip = (r: ModelReport) => ({
      ...timeless(r), backend: '', adapter: undefined,
      tensors: r.tensors.map((t) => ({ ...t, ms: 0, verify: undefined, mse: 0, sqnrDb: 0, worstChannels: [], maxAbsError: 0 })),
    });
    expect(strip(gpu.report)).toEqual(strip(cpu.report));
    gpu.report.tensors.forEach((t, i) => {
      const c = cpu.report.tensors[i];
      if (t.action === 'quantized') expect([t.name, typeof t.mse, typeof c?.mse]).toEqual([t.name, 'number', 'number']);
      for (const k of ['mse', 'maxAbsError', 'sqnrDb'] as const) {
        expect(Math.abs((t[k] ?? 0) - (c?.[k] ?? 0))).toBeLessThanOrEqual(Math.abs(c?.[k] ?? 0) * 1e-5);
      }
    });
  });
});

/** A source that records the length of every read. */
function recording(bytes: Uint8Array, name: string): ByteSource & { reads: number[] } {
  const inner = bytesSource(bytes, name);
  const reads: number[] = [];
  return { name, size: inner.size, reads, read: (offset, length) => (reads.push(length), inner.read(offset, length)) };
}

describe('bounded reads and writes', () => {
  it('reads and writes no more than a chunk at a time, pass-through tensors included', async () => {
    const source = recording(await safetensorsModel('F32'), 'm.safetensors');
    const model = await openModel(source);
    source.reads.length = 0;
    const writes: number[] = [];
    const sink = memorySink();
    await quantizeModel(model, { write: (chunk) => (writes.push(chunk.byteLength), sink.write(chunk)) }, {
      scheme: CHANNEL, backend: 'cpu', chunkElements: 128,
    });
    // Chunks of at most 128 elements: two rows of 64, three of 40, two of 48.
    expect(Math.max(...source.reads)).toBeLessThanOrEqual(128 * 4);
    // The I64 counter (2 400 bytes) passes through in pieces of 512 bytes.
    expect(source.reads.filter((n) => n === 512).length).toBeGreaterThanOrEqual(4);
    // Writes: the header, then pieces of at most a chunk's encoding, except the parameter entries,
    // written whole: the largest is layer.2.weight_scale, [130, 1] F32.
    const [header, ...data] = writes;
    expect(header).toBeGreaterThan(0);
    expect(Math.max(...data)).toBe(130 * 4);
    expect(data.filter((n) => n > 512)).toEqual([130 * 4]);
  });
});

describe('progress, failures and aborts part way through a tensor', () => {
  it('reports each tensor as it starts and as it ends, in order', async () => {
    const events: string[] = [];
    await run(await safetensorsModel('F32'), 'm.safetensors', {
      scheme: CHANNEL, backend: 'cpu', chunkElements: 64,
      onProgress: (p) => events.push(`${p.phase} ${p.tensorIndex}/${p.tensorCount} ${p.tensorName} ${p.doneBytes}`),
    });
    const sizes = [37 * 64 * 4, 37 * 4, 24 * 40 * 4, 96 * 4, 300 * 8, 130 * 48 * 4];
    const names = ['layer.0.weight', 'layer.0.bias', 'layer.1.weight', 'conv.weight', 'steps', 'layer.2.weight'];
    let done = 0;
    const expected = names.flatMap((name, i) => {
      const start = `start ${i}/6 ${name} ${done}`;
      done += sizes[i] as number;
      return [start, `end ${i + 1}/6 ${name} ${done}`];
    });
    expect(events).toEqual(expected);
  });

  it.each(['cpu', 'webgpu'] as Backend[])('a NaN in a later chunk is a FormatError naming the file and tensor (%s)', async (backend) => {
    const bytes = await safetensorsModel('F32', 130 * 48 - 50);
    const err = await run(bytes, 'nan.safetensors', { scheme: CHANNEL, backend, chunkElements: 480 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect([(err as FormatError).file, (err as FormatError).tensor]).toEqual(['nan.safetensors', 'layer.2.weight']);
    expect((err as Error).message).toMatch(/NaN at flat index 6190 \(coordinates \[128, 46\]\)/);
  });

  it.each([
    ['cpu', false], ['webgpu', false], ['webgpu', true],
  ] as [Backend, boolean][])('a sink that fails part way through a tensor fails the run with its error (%s, verify %s)', async (backend, verify) => {
    const bytes = await safetensorsModel('F32');
    let writes = 0;
    const failing: ByteSink = {
      async write() {
        if (++writes === 4) throw new Error('disk full');
      },
    };
    await expect(run(bytes, 'm.safetensors', { scheme: CHANNEL, backend, verify, chunkElements: 64 }, failing)).rejects.toThrow('disk full');
    // Nothing was left running: the same run now completes.
    const again = await run(bytes, 'm.safetensors', { scheme: CHANNEL, backend, verify, chunkElements: 64 });
    expect(again.report.tensors.length).toBe(6);
  });

  it.each(['cpu', 'webgpu'] as Backend[])('an abort part way through a tensor rejects with an AbortError (%s)', async (backend) => {
    const bytes = await safetensorsModel('F32');
    const controller = new AbortController();
    let writes = 0;
    const sink: ByteSink = {
      async write() {
        if (++writes === 5) controller.abort();
      },
    };
    const err = await run(bytes, 'm.safetensors', { scheme: CHANNEL, backend, chunkElements: 64, signal: controller.signal }, sink)
      .then(() => undefined, (e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    // The abort came in the first tensor, whose last rows were never written.
    expect(writes).toBeLessThan(10);
  });

  it('refuses a chunk size that is not a positive integer', async () => {
    const bytes = await safetensorsModel('F32');
    await expect(run(bytes, 'm.safetensors', { scheme: CHANNEL, backend: 'cpu', chunkElements: 0 })).rejects.toThrow(/options.chunkElements must be a positive integer; got 0/);
  });
});
