// The fast CPU engine equals the reference bit for bit on the GPU-vs-CPU suite's cases, whole and
// streamed, in this thread (1 worker) and on several workers, with its WebAssembly SIMD loops and
// with its JavaScript loops only; with given parameters too.
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, cpuFacts, dequantize, quantize, quantizeStream, quantizeWithParams, releaseWorkers } from '../../src/index.js';
import type { ErrorMetrics, ErrorStats, QuantizedTensor, QuantOptions } from '../../src/index.js';
import { RUNS } from './runs.js';
import { chunkCases, foldCase, fusedCases, type GpuCase, makeData, matrixCases, shapeCases } from '../gpu/suite.js';

afterAll(async () => {
  await releaseWorkers();
});

/** Metrics are float64 sums taken in another order: equal to summation rounding. */
function expectNear(a: ErrorMetrics | undefined, b: ErrorMetrics | undefined): void {
  expect(a && b).toBeTruthy();
  if (!a || !b) return;
  const close = (u: number, v: number) => u === v || Math.abs(u - v) <= 1e-9 * Math.max(Math.abs(u), Math.abs(v));
  expect(a.perChannel.length).toBe(b.perChannel.length);
  const pairs: [ErrorStats, ErrorStats][] = [[a, b], ...a.perChannel.map((c, i): [ErrorStats, ErrorStats] => [c, b.perChannel[i] as ErrorStats])];
  for (const [u, v] of pairs) {
    expect(close(u.mse, v.mse), `mse ${u.mse} vs ${v.mse}`).toBe(true);
    expect(u.maxAbsError).toBe(v.maxAbsError);
    expect(close(u.sqnrDb, v.sqnrDb) || (u.sqnrDb === Infinity && v.sqnrDb === Infinity)).toBe(true);
  }
}

it('has WebAssembly SIMD on this platform, so that the SIMD runs below test it', async () => {
  expect((await cpuFacts()).simd).toBe(true);
});

const CASES: GpuCase[] = [...matrixCases(), ...shapeCases(), ...chunkCases(), ...fusedCases().filter((c) => c.rowKernel !== 'workgroup' && c.rowKernel !== 'invocation'), foldCase()];

async function streamed(x: Float32Array, c: GpuCase, options: QuantOptions): Promise<QuantizedTensor> {
  const numel = x.length;
  const codes = new (c.scheme.dtype === 'int8' || c.scheme.dtype === 'int4' ? Int8Array : Uint8Array)(numel);
  const packedParts: Uint32Array[] = [];
  const r = await quantizeStream({ read: async (start, length) => x.slice(start, start + length) }, c.shape, c.scheme, {
    ...options, chunkElements: Math.max(8, Math.ceil(numel / 5)), metrics: true,
    onChunk: ({ start, codes: part, packed }) => {
      codes.set(part, start);
      packedParts.push(packed.slice());
    },
  });
  const packed = new Uint32Array(packedParts.reduce((t, p) => t + p.length, 0));
  let at = 0;
  for (const p of packedParts) {
    packed.set(p, at);
    at += p.length;
  }
  return { ...r, codes, packed };
}

describe.each(RUNS)('fast CPU engine, %s, equals the reference', (_run, engine) => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const x = makeData(c.data, c.shape, 3000 + i);
    const ref = await quantize(x, c.shape, c.scheme, { backend: 'reference', metrics: true });
    const fast = await quantize(x, c.shape, c.scheme, { backend: 'cpu', ...engine, metrics: true });
    expect(fast.backend).toBe('cpu');
    expect(compareQuantized(fast, ref, { input: x }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
    expectNear(fast.metrics, ref.metrics);
    const s = await streamed(x, c, { backend: 'cpu', ...engine });
    expect(compareQuantized(s, ref, { input: x }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
    expectNear(s.metrics, ref.metrics);
    const back = await dequantize(fast, { backend: 'cpu' });
    expect(Buffer.from(back.buffer).equals(Buffer.from((await dequantize(ref, { backend: 'reference' })).buffer))).toBe(true);
    if (i % 3 === 0) {
      const params = {
        dtype: c.scheme.dtype, profile: c.scheme.profile, scales: ref.scales, zeroPoints: ref.zeroPoints,
        ...(ref.scheme.granularity === 'tensor' ? {} : { axis: ref.scheme.axis as number }),
        ...(ref.scheme.granularity === 'group' ? { blockSize: ref.scheme.blockSize as number } : {}),
      };
      const a = await quantizeWithParams(x, c.shape, params, { backend: 'cpu', ...engine });
      const b = await quantizeWithParams(x, c.shape, params, { backend: 'reference' });
      expect(compareQuantized(a, b, { input: x }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
    }
  });
});

describe.each(RUNS)('fast CPU engine, %s, reports NaN and ±Infinity as the reference does', (_run, engine) => {
  const schemes = [matrixCases()[9], matrixCases()[40], chunkCases()[5], chunkCases()[7]] as GpuCase[];
  const where = (n: number) => [['first', 0], ['middle', Math.floor(n / 2) + 3], ['last', n - 1]] as const;
  it.each(schemes.flatMap((c) => where(c.shape.reduce((a, b) => a * b, 1)).map(([w, at]) => [c.name, w, c, at] as const)))(
    '%s, %s element',
    async (_name, _w, c, at) => {
      const x = makeData('normal', c.shape, 7);
      x[at] = at % 2 === 0 ? NaN : -Infinity;
      // A later one too, which must not be the one named.
      if (at < x.length - 1) x[x.length - 1] = NaN;
      const message = async (run: Promise<unknown>) => run.then(() => 'no error', (e: Error) => `${e.name}: ${e.message}`);
      const ref = await message(quantize(x, c.shape, c.scheme, { backend: 'reference' }));
      expect(ref).toMatch(new RegExp(`^QuantizationError: x holds (NaN|-Infinity) at flat index ${at} `));
      expect(await message(quantize(x, c.shape, c.scheme, { backend: 'cpu', ...engine }))).toBe(ref);
      expect(await message(streamed(x, c, { backend: 'cpu', ...engine }))).toBe(ref);
    },
  );
});

describe('fast CPU engine: the first element of largest magnitude, and signed zeros', () => {
  // Q4_0's d takes the sign of the first element of largest magnitude: blocks hold -m before m, m
  // before -m, only zeros of either sign, and both at once; the fast scan finds the peak from the
  // block's minimum and maximum, so each order must still pick the first.
  const block = (i: number): number[] => {
    const b = Array.from({ length: 32 }, (_, j) => ((j * 7 + i) % 11) / 4 - 1.25);
    const m = 3 + (i % 3);
    const [p, q] = [(i * 5) % 32, (i * 5 + 9) % 32];
    const first = i % 2 === 0 ? -m : m;
    b[Math.min(p, q)] = first;
    b[Math.max(p, q)] = -first;
    if (i % 4 === 3) b.fill(i % 8 === 3 ? -0 : 0);
    if (i % 8 === 7) b[5] = -0;
    return b;
  };
  const x = Float32Array.from(Array.from({ length: 64 }, (_, i) => block(i)).flat());
  it.each(RUNS)('Q4_0 and per-tensor onnx, %s', async (_run, engine) => {
    for (const scheme of [
      { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
      { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' },
      { dtype: 'int8', symmetric: false, granularity: 'channel', axis: 0, profile: 'pytorch' },
    ] as const) {
      const shape = [8, 256];
      const ref = await quantize(x, shape, scheme, { backend: 'reference' });
      const fast = await quantize(x, shape, scheme, { backend: 'cpu', ...engine });
      expect(compareQuantized(fast, ref, { input: x }).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
      expect(Array.from(new Uint32Array(fast.scales.buffer))).toEqual(Array.from(new Uint32Array(ref.scales.buffer)));
    }
  });
});
