// quantizeStream: chunked reads and chunked results equal `quantize` on the whole tensor (the
// CPU reference), on both backends, however the chunks cut through channels and blocks.
import { afterAll, describe, expect, it } from 'vitest';
import { QuantizationError, quantize, quantizeStream, releaseDevice } from '../src/index.js';
import type { Backend, QuantScheme, StreamOptions, TensorSource } from '../src/index.js';
import { randomNormal } from '../src/synthetic.js';

afterAll(async () => {
  await releaseDevice();
});

function sourceOf(x: Float32Array, reads: [number, number][] = []): TensorSource {
  return {
    read: async (start, length) => {
      reads.push([start, length]);
      // A copy, as a file reader would give: nothing may rely on views into one array.
      return x.slice(start, start + length);
    },
  };
}

function relativeGap(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined) return Infinity;
  return Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE);
}

interface Collected {
  codes: number[];
  packedWords: number;
  starts: number[];
  paramsBeforeFirstChunk: boolean;
  paramsSeen: boolean;
}

function collector(): { options: Pick<StreamOptions, 'onChunk' | 'onParams'>; got: Collected } {
  const got: Collected = { codes: [], packedWords: 0, starts: [], paramsBeforeFirstChunk: false, paramsSeen: false };
  let params = false;
  return {
    got,
    options: {
      onParams: () => {
        params = true;
        got.paramsSeen = true;
      },
      onChunk: ({ start, values, codes, packed }) => {
        if (got.starts.length === 0) got.paramsBeforeFirstChunk = params;
        expect(values.length).toBe(codes.length);
        got.starts.push(start);
        got.packedWords += packed.length;
        for (const c of codes) got.codes.push(c);
      },
    },
  };
}

const schemes: [string, readonly number[], QuantScheme][] = [
  ['per-tensor onnx uint8 asym', [37, 24], { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' }],
  ['per-channel axis 0 pytorch int8', [37, 24], { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' }],
  ['per-channel axis 1 onnx int4', [37, 24], { dtype: 'int4', symmetric: false, granularity: 'channel', axis: 1, profile: 'onnx' }],
  ['group 8 along rows pytorch uint4', [37, 24], { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 8, profile: 'pytorch' }],
  ['group 5 along axis 0 onnx int8', [37, 24], { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 5, axis: 0, profile: 'onnx' }],
  ['ggml Q8_0', [9, 64], { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ['ggml Q4_0', [9, 64], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ['3-D per-channel axis 1', [3, 7, 16], { dtype: 'int8', symmetric: false, granularity: 'channel', axis: 1, profile: 'pytorch' }],
];

const backends: Backend[] = ['cpu', 'webgpu'];

describe.each(backends)('quantizeStream on %s equals quantize on the whole tensor', (backend) => {
  it.each(schemes.flatMap(([name, shape, scheme]) => [16, 40, 4096].map((chunk) => [name, chunk, shape, scheme] as const)))(
    '%s, chunks of %i',
    async (_name, chunk, shape, scheme) => {
      const numel = shape.reduce((a, b) => a * b, 1);
      const x = randomNormal(numel, chunk + numel);
      const whole = await quantize(x, shape, scheme, { backend: 'cpu', metrics: true });
      const reads: [number, number][] = [];
      const { options, got } = collector();
      const r = await quantizeStream(sourceOf(x, reads), shape, scheme, { backend, chunkElements: chunk, metrics: true, ...options });
      expect(got.paramsBeforeFirstChunk).toBe(true);
      expect(got.starts[0]).toBe(0);
      let mismatches = 0;
      for (let i = 0; i < numel; i++) if (got.codes[i] !== whole.codes[i]) mismatches++;
      expect({ mismatches, count: got.codes.length }).toEqual({ mismatches: 0, count: numel });
      expect(Array.from(r.scales)).toEqual(Array.from(whole.scales));
      expect(Array.from(r.zeroPoints)).toEqual(Array.from(whole.zeroPoints));
      expect(r.backend).toBe(backend);
      // The GPU sums each slice in float32 before float64: equal to a relative 1e-5, not bit for bit.
      expect(relativeGap(r.metrics?.mse, whole.metrics?.mse)).toBeLessThan(backend === 'cpu' ? 1e-12 : 1e-5);
      expect(r.metrics?.maxAbsError).toBe(whole.metrics?.maxAbsError);
      expect(r.metrics?.perChannel.length).toBe(whole.metrics?.perChannel.length);
      // Never more than a chunk per read; the whole tensor twice at most (once when it fits one chunk).
      // On WebGPU a per-group chunk holds at least one block row, rounded up to a multiple of 8.
      const axis = scheme.axis ?? shape.length - 1;
      const blockRow = backend === 'webgpu' && scheme.granularity === 'group'
        ? 8 * Math.ceil(((scheme.blockSize ?? 1) * shape.slice(axis + 1).reduce((a, b) => a * b, 1)) / 8) : 0;
      const size = Math.max(chunk, blockRow);
      expect(Math.max(...reads.map(([, n]) => n))).toBeLessThanOrEqual(size);
      expect(reads.reduce((t, [, n]) => t + n, 0)).toBe(numel <= size ? numel : 2 * numel);
    },
  );

  it('chunks are whole multiples of alignElements (rows for an encoder)', async () => {
    const x = randomNormal(30 * 24, 5);
    const { options, got } = collector();
    await quantizeStream(sourceOf(x), [30, 24], schemes[1]?.[2] as QuantScheme, {
      backend, chunkElements: 100, alignElements: 24, ...options,
    });
    // lcm(8, 24) = 24 elements, so 100 rounds down to 96: four rows per chunk.
    expect(got.starts).toEqual([0, 96, 192, 288, 384, 480, 576, 672]);
  });

  it('names the first non-finite element, in a later chunk, before handing out anything', async () => {
    const x = randomNormal(64 * 8, 3);
    x[300] = Number.NaN;
    const { options, got } = collector();
    const err = await quantizeStream(sourceOf(x), [64, 8], schemes[1]?.[2] as QuantScheme, {
      backend, chunkElements: 128, ...options,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizationError);
    expect((err as QuantizationError).message).toContain('flat index 300 (coordinates [37, 4])');
    expect((err as QuantizationError).index).toBe(300);
    // Calibration reads every chunk first, so neither parameters nor codes have gone out.
    expect({ starts: got.starts, params: got.paramsSeen }).toEqual({ starts: [], params: false });
  });

  it('rejects a source that gives the wrong number of elements', async () => {
    const bad: TensorSource = { read: async (_start, length) => new Float32Array(length - 1) };
    await expect(quantizeStream(bad, [4, 8], schemes[1]?.[2] as QuantScheme, { backend, onChunk: () => {} }))
      .rejects.toThrow(/the source gave 31 elements from 0; 32 were asked for/);
  });

  it('stops when its signal is aborted', async () => {
    const ac = new AbortController();
    const x = randomNormal(64 * 8, 4);
    await expect(quantizeStream(sourceOf(x), [64, 8], schemes[0]?.[2] as QuantScheme, {
      backend, chunkElements: 64, signal: ac.signal,
      onChunk: () => ac.abort(new Error('stop here')),
    })).rejects.toThrow('stop here');
  });
});

describe('quantizeStream argument errors', () => {
  const scheme = schemes[1]?.[2] as QuantScheme;
  const src = sourceOf(new Float32Array(8));
  it.each([
    ['no onChunk', src, { } as StreamOptions, 'options.onChunk must be a function'],
    ['a source without read', {} as TensorSource, { onChunk: () => {} }, 'source must have a read(start, length) method'],
    ['a zero chunk', src, { onChunk: () => {}, chunkElements: 0 }, 'options.chunkElements must be a positive integer; got 0'],
    ['a fractional alignment', src, { onChunk: () => {}, alignElements: 2.5 }, 'options.alignElements must be a positive integer; got 2.5'],
    ['an unknown backend', src, { onChunk: () => {}, backend: 'tpu' as Backend }, "options.backend must be 'cpu', 'reference' or 'webgpu'; got tpu"],
  ] as const)('%s', async (_name, source, options, message) => {
    await expect(quantizeStream(source, [2, 4], scheme, options)).rejects.toThrow(message);
  });

  it('a shape that is not a list of dimensions is named, not a TypeError', async () => {
    await expect(quantizeStream(src, 8 as unknown as number[], scheme, { onChunk: () => {} }))
      .rejects.toThrow(new QuantizationError('shape must be an array of non-negative integers', { field: 'shape' }));
    await expect(quantizeStream(src, [2, -4], scheme, { onChunk: () => {} })).rejects.toThrow('shape[1] must be a non-negative integer; got -4');
  });
});
