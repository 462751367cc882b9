// The pieces --verify streams with: pullStream (quantizeStream pulled from, parameters before or
// after the codes, closed part way) and StreamComparison, whose report on two streams cut in
// different places must equal compareQuantized's on the whole tensors.
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, quantize, quantizeStream, releaseDevice } from '../../src/index.js';
import type { QuantScheme, TensorSource } from '../../src/index.js';
import { resolveScheme } from '../../src/schemes/resolve.js';
import { pullStream } from '../../src/model/pull.js';
import { compareBackendsStreamed, StreamComparison } from '../../src/model/verify.js';
import { randomNormal } from '../../src/synthetic.js';

afterAll(async () => {
  await releaseDevice();
});

function sourceOf(x: Float32Array, reads: number[] = []): TensorSource {
  return {
    read: async (start, length) => {
      reads.push(start);
      return x.slice(start, start + length);
    },
  };
}

function pulled(x: Float32Array, shape: number[], scheme: QuantScheme, chunkElements: number, reads?: number[]) {
  return pullStream((hooks) => quantizeStream(sourceOf(x, reads), shape, scheme, { backend: 'cpu', chunkElements, ...hooks }));
}

describe('pullStream', () => {
  const shape = [40, 16];
  const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
  const x = randomNormal(640, 3);

  it('gives the parameters and then every chunk in order, whichever is asked for first', async () => {
    const whole = await quantize(x, shape, scheme);
    for (const paramsFirst of [true, false]) {
      const s = pulled(x, shape, scheme, 128);
      const params = paramsFirst ? await s.params : undefined;
      const codes: number[] = [];
      const starts: number[] = [];
      for (let c = await s.next(); c; c = await s.next()) {
        starts.push(c.start);
        codes.push(...c.codes);
      }
      expect(Array.from((params ?? await s.params).scales)).toEqual(Array.from(whole.scales));
      expect(starts).toEqual([0, 128, 256, 384, 512]);
      expect(codes).toEqual(Array.from(whole.codes));
      expect((await s.result).scales).toEqual(whole.scales);
      expect(await s.next()).toBeUndefined();
    }
  });

  it('makes the next chunk only when asked for it, and a closed stream stops reading and settles', async () => {
    const reads: number[] = [];
    const s = pulled(x, shape, scheme, 128, reads);
    await s.next();
    // Five reads to calibrate, then the first chunk's, and no more until the next is asked for.
    await new Promise((r) => setTimeout(r, 20));
    expect(reads).toEqual([0, 128, 256, 384, 512, 0]);
    await s.close();
    expect(reads.length).toBe(6);
    await expect(s.result).rejects.toThrow(/closed/);
  });

  it('a stream that fails rejects the parameters, the next chunk and the result with its error', async () => {
    const bad = x.slice();
    bad[300] = Infinity;
    const s = pulled(bad, shape, scheme, 128);
    await expect(s.params).rejects.toThrow(/Infinity at flat index 300/);
    await expect(s.next()).rejects.toThrow(/Infinity at flat index 300/);
    await expect(s.result).rejects.toThrow(/Infinity/);
    await s.close();
  });

  it('a stream closed before it is ever asked leaves no unhandled rejection', async () => {
    const s = pulled(x, shape, scheme, 128);
    await s.close();
    await expect(s.params).rejects.toThrow(/closed/);
  });
});

describe('StreamComparison equals compareQuantized on the whole tensors', () => {
  const cases: [string, number[], QuantScheme][] = [
    ['per tensor onnx int8 asymmetric', [37, 24], { dtype: 'int8', symmetric: false, granularity: 'tensor', profile: 'onnx' }],
    ['per channel along axis 1, int4', [37, 24], { dtype: 'int4', symmetric: false, granularity: 'channel', axis: 1, profile: 'pytorch' }],
    ['groups of 5 along axis 0', [37, 24], { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 5, axis: 0, profile: 'onnx' }],
    ['3-D per channel', [3, 7, 16], { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'pytorch' }],
  ];

  it.each(cases)('%s: equal streams, and streams of different inputs cut in different places', async (_, shape, scheme) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    const a = randomNormal(numel, numel);
    for (const perturb of [false, true]) {
      const b = a.slice();
      if (perturb) {
        // A new extreme moves a scale; small nudges change single codes under unchanged scales.
        b[17] = (b[17] as number) * 4;
        for (let i = 100; i < numel; i += 97) b[i] = (b[i] as number) + 0.02;
      }
      const expected = compareQuantized(await quantize(a, shape, scheme), await quantize(b, shape, scheme), { input: a });
      const stream = pulled(a, shape, scheme, 40);
      const comparison = new StreamComparison(shape, resolveScheme(shape, scheme).scheme, pulled(b, shape, scheme, 24));
      await comparison.params(await stream.params);
      for (let c = await stream.next(); c; c = await stream.next()) await comparison.chunk(c);
      const got = await comparison.report();
      expect(got.equal).toBe(!perturb);
      expect(got).toEqual(expected);
    }
  });
});

describe('compareBackendsStreamed', () => {
  it.each([
    ['per tensor', [37, 24], { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' }],
    ['groups of 5 along axis 0', [37, 24], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 5, axis: 0, profile: 'onnx' }],
    ['ggml Q4_0', [9, 64], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ] as [string, number[], QuantScheme][])('WebGPU against the CPU, in chunks: %s is what compareQuantized says of the whole tensors', async (_, shape, scheme) => {
    const x = randomNormal(shape.reduce((a, b) => a * b, 1), 5);
    const expected = compareQuantized(await quantize(x, shape, scheme, { backend: 'webgpu' }), await quantize(x, shape, scheme), { input: x });
    const got = await compareBackendsStreamed(sourceOf(x), shape, scheme, { chunkElements: 64 });
    expect(got).toEqual(expected);
    expect(got.equal).toBe(true);
  });
});
