// The 'percentile' calibrator on WebGPU against the CPU reference, written once and run in Node
// (test/gpu/percentile.test.ts) and inside headless Chromium (test/browser/percentile-in-browser.test.ts):
// every profile, dtype, symmetry and granularity, whole, in chunks that cut channels and groups,
// and streamed; data with outliers and data full of ties (±0 among them); percentile 100, which
// must be min/max; a percentile so small that the rank is 1; awkward shapes. The expected result
// is always a CPU reference's ('reference' backend): the percentile's own, or min/max's at 100.
import { quantize, type QuantScheme } from '../../src/index.js';
import { bytesSource, modelTensors, openModel, readTensorF32 } from '../../src/model/index.js';
import { randomNormal } from '../../src/synthetic.js';
import { gpuVersusReference } from './gpu-versus-reference.js';
import type { ModelWeight } from './model-weights.js';

export type PercentileData = 'outliers' | 'ties' | 'tiny';

export interface PercentileCase {
  name: string;
  shape: number[];
  scheme: QuantScheme;
  data: PercentileData;
  /** Bytes bound at once on the GPU, to force chunks; none for whole. */
  maxChunkBytes?: number;
  /** Streamed through quantizeStream in chunks of this many elements. */
  streamElements?: number;
  /** The expected result is the reference's min/max calibration (percentile 100). */
  versusMinmax?: boolean;
}

export interface PercentileResult {
  name: string;
  equal: boolean;
  summary: string;
  /** Whether any parameter's scale differs from min/max's: the case tests a clip. */
  clipped: boolean;
}

// Each with a percentile whose rank is below its parameters' member count (910, 70, 13, 16, 4), so that it clips.
const GRANULARITIES: Pick<QuantScheme, 'granularity' | 'axis' | 'blockSize' | 'percentile'>[] = [
  { granularity: 'tensor', percentile: 97 }, { granularity: 'channel', axis: 0, percentile: 97 },
  { granularity: 'channel', axis: 1, percentile: 90 }, { granularity: 'group', axis: 1, blockSize: 16, percentile: 90 },
  { granularity: 'group', axis: 0, blockSize: 4, percentile: 70 },
];

/** A percentile whose nearest rank is 1 for every parameter of the suite. */
export const RANK_ONE = 1e-7;

/** Every profile × dtype × symmetry × granularity on [13, 70], whole, chunked and streamed, and the special cases. */
export function percentileCases(): PercentileCase[] {
  const out: PercentileCase[] = [];
  for (const profile of ['onnx', 'pytorch'] as const) {
    for (const dtype of ['int8', 'uint8', 'int4', 'uint4'] as const) {
      for (const symmetric of [true, false]) {
        GRANULARITIES.forEach((g, k) => {
          const scheme: QuantScheme = { dtype, symmetric, profile, ...g, calibration: 'percentile' };
          const name = `${profile} ${dtype} ${symmetric ? 'sym' : 'asym'} ${g.granularity} axis ${g.axis ?? 0}`;
          out.push({ name, shape: [13, 70], scheme, data: 'outliers' });
          // Chunks of 64 or 328 elements cut rows, channels and blocks (a block row along axis 0 is 280).
          out.push({
            name: `${name}, chunked`, shape: [13, 70], scheme, data: 'outliers',
            maxChunkBytes: k % 2 === 0 && k !== 4 ? 256 : 1312,
          });
          out.push({ name: `${name}, streamed`, shape: [13, 70], scheme, data: 'outliers', streamElements: k % 2 === 0 ? 328 : 64 });
          out.push({ name: `${name}, ties, percentile 60`, shape: [13, 70], scheme: { ...scheme, percentile: 60 }, data: 'ties' });
        });
      }
    }
  }
  for (const symmetric of [true, false]) {
    GRANULARITIES.forEach((g) => {
      const base = { dtype: 'int4', symmetric, profile: 'pytorch', ...g, calibration: 'percentile' } as const;
      const name = `${symmetric ? 'sym' : 'asym'} ${g.granularity} axis ${g.axis ?? 0}`;
      for (const data of ['outliers', 'ties'] as const) {
        out.push({ name: `${name}, ${data}, percentile 100 is min/max`, shape: [13, 70], scheme: { ...base, percentile: 100 }, data, versusMinmax: true });
        out.push({
          name: `${name}, ${data}, percentile 100 is min/max, chunked`, shape: [13, 70], scheme: { ...base, percentile: 100 }, data,
          versusMinmax: true, maxChunkBytes: g.granularity === 'group' && g.axis === 0 ? 1312 : 256,
        });
        out.push({ name: `${name}, ${data}, rank 1`, shape: [13, 70], scheme: { ...base, percentile: RANK_ONE }, data });
      }
      out.push({ name: `${name}, tiny values, percentile 90`, shape: [13, 70], scheme: { ...base, percentile: 90 }, data: 'tiny' });
    });
  }
  // Awkward shapes: single elements, odd lengths, a unit axis, a short last block.
  const extra: [number[], QuantScheme][] = [
    [[1], { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx', calibration: 'percentile', percentile: 50 }],
    [[33], { dtype: 'uint4', symmetric: false, granularity: 'tensor', profile: 'pytorch', calibration: 'percentile', percentile: 90 }],
    [[5, 1, 7], { dtype: 'int4', symmetric: false, granularity: 'channel', axis: 2, profile: 'onnx', calibration: 'percentile', percentile: 80 }],
    [[3, 1001], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch', calibration: 'percentile', percentile: 99 }],
    [[3, 1001], { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 128, profile: 'onnx', calibration: 'percentile', percentile: 95 }],
    [[1001, 3], { dtype: 'uint8', symmetric: false, granularity: 'channel', axis: 1, profile: 'onnx', calibration: 'percentile', percentile: 99.9 }],
    [[7, 300], { dtype: 'int4', symmetric: true, granularity: 'channel', profile: 'onnx', calibration: 'percentile' }],
    [[7, 300], { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 32, profile: 'pytorch', calibration: 'percentile', percentile: 93.75 }],
  ];
  for (const [shape, scheme] of extra) {
    const name = `[${shape}] ${scheme.profile} ${scheme.dtype} ${scheme.symmetric ? 'sym' : 'asym'} ${scheme.granularity} percentile ${scheme.percentile ?? 'default'}`;
    out.push({ name, shape, scheme, data: 'outliers' }, { name: `${name}, chunked`, shape, scheme, data: 'outliers', maxChunkBytes: 512 });
  }
  return out;
}

/** The bundled models whose weights the suite runs on: safetensors, and stories260K's GGUF. */
export const MODEL_FILES = ['mnist.safetensors', 'silero_vad_16k.safetensors'];
export const GGUF_MODEL = 'stories260K.gguf';

/** The weights of rank ≥ 2 of a GGUF file's bytes, as float32, through the library's reader. */
export async function ggufWeights(bytes: Uint8Array): Promise<ModelWeight[]> {
  const model = await openModel(bytesSource(bytes, GGUF_MODEL));
  const out: ModelWeight[] = [];
  for (const t of modelTensors(model)) {
    if (t.shape.length >= 2) out.push({ name: t.name, shape: [...t.shape], data: await readTensorF32(model, t.name) });
  }
  return out;
}

const MODEL_SCHEMES: QuantScheme[] = [
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'pytorch', calibration: 'percentile', percentile: 99 },
  { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 128, profile: 'onnx', calibration: 'percentile', percentile: 97 },
  { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch', calibration: 'percentile' },
  { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx', calibration: 'percentile', percentile: 99.99 },
];

/** Every weight of a model under each scheme, whole and in chunks of 4 KiB, with the weight's values. */
export function modelCases(file: string, weights: ModelWeight[]): { c: PercentileCase; x: Float32Array }[] {
  return weights.flatMap((t) => MODEL_SCHEMES.flatMap((scheme) => {
    if (scheme.granularity === 'group' && (t.shape.at(-1) as number) < 2) return [];
    return [undefined, 4096].map((maxChunkBytes) => {
      const name = `${file} ${t.name} ${scheme.profile} ${scheme.dtype} ${scheme.granularity} ${maxChunkBytes ?? 'whole'}`;
      const c: PercentileCase = { name, shape: t.shape, scheme, data: 'outliers', ...(maxChunkBytes ? { maxChunkBytes } : {}) };
      return { c, x: t.data };
    });
  }));
}

/**
 * The case's data: normal values with every 37th an outlier (what clipping is for); the same
 * rounded to quarters, so that most values are tied and ±0 both occur; or the outliers scaled by
 * 1e-39 into float32's subnormals, which a device's arithmetic may flush to zero (the selection
 * compares bits, never values).
 */
export function percentileData(shape: number[], data: PercentileData, seed = 7): Float32Array {
  const x = randomNormal(shape.reduce((a, b) => a * b, 1), seed);
  for (let i = 0; i < x.length; i += 37) x[i] = (x[i] as number) * 11;
  if (data === 'ties') return x.map((v) => Math.round(v * 4) / 4);
  if (data === 'tiny') return x.map((v) => v * 1e-39);
  return x;
}

/** The same scheme calibrated by min/max. */
function minmaxOf(scheme: QuantScheme): QuantScheme {
  const plain: QuantScheme = { ...scheme, calibration: 'minmax' };
  delete plain.percentile;
  return plain;
}

/** One case: the GPU's result (whole, chunked or streamed) against the reference's. */
export async function runPercentileCase(c: PercentileCase, x: Float32Array = percentileData(c.shape, c.data)): Promise<PercentileResult> {
  const plain = await quantize(x, c.shape, minmaxOf(c.scheme), { backend: 'reference' });
  const own = await quantize(x, c.shape, c.scheme, { backend: 'reference' });
  // At 100 the expected numbers are min/max's, under the percentile scheme's name.
  const cpu = c.versusMinmax ? { ...plain, scheme: own.scheme } : own;
  const clipped = cpu.scales.some((v, p) => v !== plain.scales[p]);
  return { name: c.name, clipped, ...await gpuVersusReference(x, c.shape, c.scheme, cpu, c) };
}
