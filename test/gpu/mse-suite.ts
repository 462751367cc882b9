// The 'mse' calibrator on WebGPU against the CPU reference, written once and run in Node
// (test/gpu/mse.test.ts) and inside headless Chromium (test/browser/mse-in-browser.test.ts):
// every profile, dtype, symmetry and granularity, whole, in chunks that cut channels and groups,
// and streamed. The expected result is always the reference's ('reference' backend).
import { quantize, type QuantScheme } from '../../src/index.js';
import { randomNormal } from '../../src/synthetic.js';
import { gpuVersusReference } from './gpu-versus-reference.js';

export interface MseCase {
  name: string;
  shape: number[];
  scheme: QuantScheme;
  /** Bytes bound at once on the GPU, to force chunks; none for whole. */
  maxChunkBytes?: number;
  /** Streamed through quantizeStream in chunks of this many elements. */
  streamElements?: number;
}

export interface MseResult {
  name: string;
  equal: boolean;
  summary: string;
  /** Whether any parameter chose a candidate other than min/max's: the case tests a choice. */
  clipped: boolean;
}

const GRANULARITIES: Pick<QuantScheme, 'granularity' | 'axis' | 'blockSize'>[] = [
  { granularity: 'tensor' }, { granularity: 'channel', axis: 0 }, { granularity: 'channel', axis: 1 },
  { granularity: 'group', axis: 1, blockSize: 16 }, { granularity: 'group', axis: 0, blockSize: 4 },
];

/** Every profile × dtype × symmetry × granularity on a [13, 70] tensor with outliers, whole, chunked and streamed. */
export function mseCases(): MseCase[] {
  const out: MseCase[] = [];
  for (const profile of ['onnx', 'pytorch'] as const) {
    for (const dtype of ['int8', 'uint8', 'int4', 'uint4'] as const) {
      for (const symmetric of [true, false]) {
        GRANULARITIES.forEach((g, k) => {
          const scheme: QuantScheme = { dtype, symmetric, profile, ...g, calibration: 'mse' };
          const name = `${profile} ${dtype} ${symmetric ? 'sym' : 'asym'} ${g.granularity} axis ${g.axis ?? 0}`;
          out.push({ name, shape: [13, 70], scheme });
          // Chunks of 64 or 328 elements cut rows, channels and blocks (a block row along axis 0 is 280).
          out.push({ name: `${name}, chunked`, shape: [13, 70], scheme, maxChunkBytes: k % 2 === 0 && k !== 4 ? 256 : 1312 });
          out.push({ name: `${name}, streamed`, shape: [13, 70], scheme, streamElements: k % 2 === 0 ? 328 : 64 });
        });
      }
    }
  }
  // Awkward shapes: single elements, odd lengths, a unit axis, a short last block, options.
  const extra: [number[], QuantScheme][] = [
    [[1], { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx', calibration: 'mse' }],
    [[33], { dtype: 'uint4', symmetric: false, granularity: 'tensor', profile: 'pytorch', calibration: 'mse' }],
    [[5, 1, 7], { dtype: 'int4', symmetric: false, granularity: 'channel', axis: 2, profile: 'onnx', calibration: 'mse' }],
    [[3, 1001], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch', calibration: 'mse' }],
    [[1001, 3], { dtype: 'uint8', symmetric: false, granularity: 'channel', axis: 1, profile: 'onnx', calibration: 'mse' }],
    [[7, 300], {
      dtype: 'int4', symmetric: true, granularity: 'channel', profile: 'onnx', calibration: 'mse',
      mse: { grid: 37, maxShrink: 0.9, norm: 1 },
    }],
    [[7, 300], {
      dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 32, profile: 'pytorch', calibration: 'mse',
      mse: { grid: 10, maxShrink: 0.5, norm: 3.5 },
    }],
  ];
  for (const [shape, scheme] of extra) {
    const name = `[${shape}] ${scheme.profile} ${scheme.dtype} ${scheme.granularity} ${JSON.stringify(scheme.mse ?? {})}`;
    out.push({ name, shape, scheme }, { name: `${name}, chunked`, shape, scheme, maxChunkBytes: 512 });
  }
  return out;
}

/** Normal data with every 37th element an outlier: what clipping is for. */
export function mseData(shape: number[], seed: number): Float32Array {
  const x = randomNormal(shape.reduce((a, b) => a * b, 1), seed);
  for (let i = 0; i < x.length; i += 37) x[i] = (x[i] as number) * 11;
  return x;
}

/** The same scheme calibrated by min/max. */
function minmaxOf(scheme: QuantScheme): QuantScheme {
  const plain: QuantScheme = { ...scheme, calibration: 'minmax' };
  delete plain.mse;
  return plain;
}

/** One case: the GPU's result (whole, chunked or streamed) against the reference's. */
export async function runMseCase(c: MseCase, x: Float32Array = mseData(c.shape, 7)): Promise<MseResult> {
  const cpu = await quantize(x, c.shape, c.scheme, { backend: 'reference' });
  const plain = await quantize(x, c.shape, minmaxOf(c.scheme), { backend: 'reference' });
  const clipped = cpu.scales.some((v, p) => v !== plain.scales[p]);
  return { name: c.name, clipped, ...await gpuVersusReference(x, c.shape, c.scheme, cpu, c) };
}
