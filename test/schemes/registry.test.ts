// The format registry as a program outside the library uses it: a toy format — symmetric int8 in
// blocks of 16 along the last axis — is a descriptor, a kernel file (int8_b16.wgsl) and one
// registerFormat call, and the GPU then equals its CPU reference bit for bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareQuantized, formatOf, listFormats, quantize, QuantizationError, quantizeStream, type QuantFormat, type QuantScheme,
  type QuantizedTensor, registerFormat, releaseDevice,
} from '../../src/index.js';
import { randomNormal } from '../../src/synthetic.js';
import kernelSource from './int8_b16.wgsl?raw';

const BLOCK = 16;

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The toy's CPU reference, from the statistics the min/max calibrator gathers. */
const toy: QuantFormat = {
  name: 'int8_b16',
  summary: 'a test format: symmetric int8 in blocks of 16 along the last axis',
  profile: 'onnx',
  defaultBlockSize: BLOCK,
  check(shape, scheme) {
    const last = shape.length - 1;
    const ok = scheme.dtype === 'int8' && scheme.symmetric && scheme.granularity === 'group' && scheme.blockSize === BLOCK &&
      scheme.axis === last && (shape[last] ?? 0) % BLOCK === 0;
    if (!ok) throw new QuantizationError('int8_b16 holds symmetric int8 in blocks of 16 along a last axis of whole blocks', { field: 'scheme' });
  },
  codeRange: () => ({ qmin: -127, qmax: 127 }),
  params: 'affine',
  cpu: {
    params(stats) {
      const n = stats.min.length;
      const scales = new Float32Array(n);
      for (let p = 0; p < n; p++) {
        // float64 division rounded once to float32 is the correctly rounded float32 quotient.
        const scale = Math.fround(Math.max(-(stats.min[p] as number), stats.max[p] as number, 0) / 127);
        scales[p] = scale === 0 ? 1 : scale;
      }
      return { scales, zeroPoints: new Int32Array(n), codeScales: scales, range: { qmin: -127, qmax: 127 } };
    },
    quantizer: (_layout, _scheme, p) => (x, start) => {
      const codes = new Int8Array(x.length);
      for (let j = 0; j < x.length; j++) {
        const s = p.scales[Math.floor((start + j) / BLOCK)] as number;
        codes[j] = Math.min(127, Math.max(-127, roundHalfEven(Math.fround((x[j] as number) / s))));
      }
      return codes;
    },
  },
  gpu: { kind: 'blocks', kernel: { name: 'int8_b16', source: kernelSource, bindings: ['input', 'scales', 'zero_points', 'packed', 'first_bad'] } },
};

const scheme: QuantScheme = { format: 'int8_b16', profile: 'onnx', dtype: 'int8', symmetric: true, granularity: 'group' };

/** Rows whose blocks include an all-zero one, exact ties of x / scale, and a ±127 peak. */
function data(rows: number, cols: number, seed: number): Float32Array {
  const x = randomNormal(rows * cols, seed);
  x.fill(0, 0, BLOCK);
  for (let j = 0; j < BLOCK; j++) x[BLOCK + j] = j === 0 ? 127 : j - 7.5;
  return x;
}

function expectSame(gpu: QuantizedTensor, cpu: QuantizedTensor): void {
  expect(compareQuantized(gpu, cpu).summary).toBe('bit-identical: codes, packed words, scales and zero points all equal');
}

beforeAll(() => registerFormat(toy));
afterAll(async () => {
  await releaseDevice();
});

describe('a format registered from outside the library', () => {
  it('is listed after the built-in formats and found by name', () => {
    expect(listFormats().map((f) => f.name)).toEqual(['onnx', 'pytorch', 'q8_0', 'q4_0', 'q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k', 'int8_b16']);
    expect(formatOf(scheme)).toBe(toy);
    expect(formatOf({ profile: 'ggml', dtype: 'int4' }).gguf?.typeName).toBe('Q4_0');
  });

  it('equals, on the CPU, the onnx profile\'s symmetric int8 blocks of 16 it restates', async () => {
    const x = data(8, 64, 3);
    const own = await quantize(x, [8, 64], scheme);
    const onnx = await quantize(x, [8, 64], { profile: 'onnx', dtype: 'int8', symmetric: true, granularity: 'group', blockSize: BLOCK });
    expect(own.scheme.format).toBe('int8_b16');
    expect(Array.from(own.scales)).toEqual(Array.from(onnx.scales));
    expect(Array.from(own.codes)).toEqual(Array.from(onnx.codes));
  });

  it.each([
    ['one window', [16, 256], undefined],
    ['windows of 40 blocks', [37, 96], 40 * BLOCK * 4],
    ['a 3-d tensor', [3, 5, 48], undefined],
  ] as const)('runs its own kernel on WebGPU, equal to its CPU reference: %s', async (_name, shape, maxChunkBytes) => {
    const x = data(shape.slice(0, -1).reduce((a, b) => a * b, 1), shape.at(-1) as number, 11);
    const options = { metrics: true, ...(maxChunkBytes ? { maxChunkBytes } : {}) };
    const gpu = await quantize(x, [...shape], scheme, { backend: 'webgpu', ...options });
    const cpu = await quantize(x, [...shape], scheme, { backend: 'cpu', metrics: true });
    expectSame(gpu, cpu);
    expect(gpu.metrics?.sqnrDb).toBeCloseTo(cpu.metrics?.sqnrDb as number, 3);
  });

  it('streams on WebGPU: parameters first, then chunks, equal to the CPU stream', async () => {
    const shape = [24, 80];
    const x = data(24, 80, 5);
    const source = { read: async (start: number, n: number) => x.slice(start, start + n) };
    const run = async (backend: 'cpu' | 'webgpu') => {
      const codes = new Int8Array(x.length);
      let scales: Float32Array = new Float32Array(0);
      await quantizeStream(source, shape, scheme, {
        backend, chunkElements: 5 * 80, alignElements: 80,
        onParams: (p) => { scales = p.scales; },
        onChunk: (c) => codes.set(c.codes, c.start),
      });
      return { codes, scales };
    };
    const [gpu, cpu] = [await run('webgpu'), await run('cpu')];
    expect(Array.from(gpu.scales)).toEqual(Array.from(cpu.scales));
    expect(Array.from(gpu.codes)).toEqual(Array.from(cpu.codes));
  });

  it('names the first NaN on WebGPU as on the CPU', async () => {
    const x = data(4, 32, 2);
    x[77] = NaN;
    for (const backend of ['cpu', 'webgpu'] as const) {
      await expect(quantize(x, [4, 32], scheme, { backend })).rejects.toThrow(/NaN at flat index 77 \(coordinates \[2, 13\]\)/);
    }
  });

  it.each([
    ['its own checks', { ...scheme, blockSize: 32 }, [2, 64], /int8_b16 holds symmetric int8/],
    ['a profile it does not follow', { ...scheme, profile: 'pytorch' }, [2, 64], /format int8_b16 follows the onnx profile/],
    ['an unknown name', { ...scheme, format: 'int3' }, [2, 64], /scheme.format must be one of onnx, pytorch, q8_0, q4_0, q2_k, q3_k, q4_k, q5_k, q6_k, int8_b16; got int3/],
  ] as const)('rejects a scheme by %s', async (_what, bad, shape, message) => {
    await expect(quantize(new Float32Array(128), [...shape], bad as QuantScheme)).rejects.toThrow(message);
  });

  it('cannot be registered twice, nor without a name', () => {
    expect(() => registerFormat(toy)).toThrow(/a format named int8_b16 is registered already/);
    expect(() => registerFormat({ ...toy, name: '' })).toThrow(/a format needs a name/);
  });
});
