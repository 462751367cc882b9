// The GPU-vs-CPU suite, written once and run twice: in Node through Dawn (test/gpu/node.test.ts)
// and inside headless Chromium (test/browser/gpu-in-browser.test.ts). Every case quantizes on
// both backends and compares with compareQuantized; the expected result is the CPU reference.
import { compareQuantized, dequantize, quantize, quantizeWithParams } from '../../src/index.js';
import type { ErrorMetrics, ErrorStats, Profile, QuantDType, QuantOptions, QuantScheme } from '../../src/index.js';
import { randomNormal, seededRandom } from '../../src/synthetic.js';

export type DataKind = 'normal' | 'outliers' | 'zero-channels' | 'ties' | 'tiny';

export interface GpuCase {
  name: string;
  shape: number[];
  scheme: QuantScheme;
  data: DataKind;
  /** Forces chunking by binding at most this many bytes at once. */
  maxChunkBytes?: number;
  /** Forces one of the two one-pass row kernels (each adapter kind has its own default). */
  rowKernel?: 'subgroup' | 'workgroup' | 'invocation';
}

export interface CaseResult {
  name: string;
  equal: boolean;
  summary: string;
  dequantizeEqual: boolean;
  /** Where the GPU's error metrics stray from the CPU's beyond float32 summation error, if anywhere. */
  metricsProblem?: string;
}

function near(a: number, b: number, relative: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= relative * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * GPU metrics sum float32 slices of 256 elements; the CPU sums in float64. Squared-error sums may
 * differ by summation rounding (relative 1e−4 here), the largest error by one float32 rounding.
 */
export function metricsProblem(gpu: ErrorMetrics | undefined, cpu: ErrorMetrics | undefined): string | undefined {
  if (!gpu || !cpu) return 'metrics missing';
  const rows: [string, ErrorStats, ErrorStats][] = [['tensor', gpu, cpu]];
  gpu.perChannel.forEach((g, i) => rows.push([`channel ${i}`, g, cpu.perChannel[i] as ErrorStats]));
  if (gpu.perChannel.length !== cpu.perChannel.length) return 'channel counts differ';
  for (const [where, g, c] of rows) {
    const sqnrOk = g.sqnrDb === c.sqnrDb || Math.abs(g.sqnrDb - c.sqnrDb) < 1e-3;
    if (!near(g.mse, c.mse, 1e-4) || !near(g.maxAbsError, c.maxAbsError, 2 ** -22) || !sqnrOk) {
      return `${where}: gpu ${JSON.stringify(g)} vs cpu ${JSON.stringify(c)}`;
    }
  }
  return undefined;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Deterministic input of each kind. `ties`: values (k + 0.5)/4, and each row led by 31.75 (even
 * rows) or 31.875 (odd rows), so that onnx symmetric int8 (31.75/127) and pytorch symmetric int8
 * (31.875/127.5) get a scale of exactly 0.25 and every x/scale is a tie.
 */
export function makeData(kind: DataKind, shape: number[], seed: number): Float32Array {
  const n = numel(shape);
  const x = randomNormal(n, seed);
  const rows = shape[0] ?? 1;
  const rowLen = n / Math.max(rows, 1);
  if (kind === 'outliers') {
    for (let i = 0; i < n; i++) if (Math.floor(i / rowLen) % 5 === 1) x[i] = (x[i] as number) * 40;
  } else if (kind === 'zero-channels') {
    for (let i = 0; i < n; i++) if (Math.floor(i / rowLen) % 3 === 0) x[i] = 0;
  } else if (kind === 'tiny') {
    // Normal floats whose block maxima put ggml Q8_0's d = amax / 127 among the subnormals: at
    // 2^-122 its reciprocal is large, at 2^-125 (even rows) infinite, and every x·id is ±Inf.
    for (let i = 0; i < n; i++) {
      const unit = Math.floor(i / rowLen) % 2 === 0 ? 2 ** -125 : 2 ** -122;
      x[i] = Math.sign(x[i] as number) * (1 + Math.abs(x[i] as number)) * unit;
    }
  } else if (kind === 'ties') {
    const rand = seededRandom(seed);
    for (let i = 0; i < n; i++) x[i] = (Math.floor(rand() * 254) - 127 + 0.5) / 4;
    for (let r = 0; r < rows; r++) x[r * rowLen] = r % 2 === 0 ? 31.75 : 31.875;
  }
  return x;
}

const DTYPES: QuantDType[] = ['int8', 'uint8', 'int4', 'uint4'];

/** profile × dtype × symmetry × granularity on shapes with prime, non-multiple-of-8 dimensions. */
export function matrixCases(): GpuCase[] {
  const out: GpuCase[] = [];
  const granularities: [string, Partial<QuantScheme>][] = [
    ['tensor', { granularity: 'tensor' }],
    ['channel axis 0', { granularity: 'channel', axis: 0 }],
    ['channel axis 1', { granularity: 'channel', axis: 1 }],
    ['channel last', { granularity: 'channel', axis: -1 }],
    ['group 8', { granularity: 'group', blockSize: 8 }],
    ['group 32', { granularity: 'group', blockSize: 32 }],
    ['group 128', { granularity: 'group', blockSize: 128 }],
    ['group 5 axis 1 (ragged)', { granularity: 'group', axis: 1, blockSize: 5 }],
  ];
  const data: DataKind[] = ['normal', 'outliers', 'zero-channels', 'ties'];
  let d = 0;
  for (const profile of ['onnx', 'pytorch'] as Profile[]) {
    for (const dtype of DTYPES) {
      for (const symmetric of [true, false]) {
        for (const [gname, g] of granularities) {
          const kind = data[d++ % data.length] as DataKind;
          const scheme = { dtype, symmetric, profile, ...g } as QuantScheme;
          out.push({ name: `${profile} ${dtype} ${symmetric ? 'sym' : 'asym'} ${gname} ${kind}`, shape: [7, 13, 299], scheme, data: kind });
        }
      }
    }
  }
  for (const dtype of ['int8', 'int4'] as const) {
    // Q4_0's d = max / -8 is a float multiplication, which SwiftShader flushes to 0 when subnormal.
    for (const kind of dtype === 'int8' ? [...data, 'tiny' as const] : data) {
      out.push({
        name: `ggml ${dtype === 'int8' ? 'Q8_0' : 'Q4_0'} ${kind}`, shape: [11, 3, 96],
        scheme: { dtype, symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }, data: kind,
      });
    }
  }
  return out;
}

/** Shapes that break assumptions, on a representative scheme of each kind. */
export function shapeCases(): GpuCase[] {
  const schemes: QuantScheme[] = [
    { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' },
    { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'pytorch' },
    { dtype: 'uint4', symmetric: false, granularity: 'channel', axis: -1, profile: 'onnx' },
    { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 8, profile: 'pytorch' },
  ];
  const shapes = [[1], [3], [5], [7], [31], [33], [10007], [2, 3], [3, 10007], [10007, 3], [1, 1, 1], [5, 1, 7]];
  const out: GpuCase[] = [];
  for (const shape of shapes) {
    for (const scheme of schemes) {
      out.push({ name: `[${shape}] ${scheme.profile} ${scheme.dtype} ${scheme.granularity}`, shape, scheme, data: 'normal' });
    }
  }
  return out;
}

/**
 * Layouts the one-pass kernels take — channels that are whole rows of a multiple of 8 elements
 * (held in workgroup memory, up to its edge, and too wide for it), blocks along the last axis that start on words
 * (a short last block included) — in every profile, type and symmetry, whole and in chunks of a
 * few rows or blocks.
 */
export function fusedCases(): GpuCase[] {
  const out: GpuCase[] = [];
  const data: DataKind[] = ['normal', 'outliers', 'zero-channels', 'ties'];
  let d = 0;
  for (const profile of ['onnx', 'pytorch'] as Profile[]) {
    for (const dtype of DTYPES) {
      for (const symmetric of [true, false]) {
        const tag = `${profile} ${dtype} ${symmetric ? 'sym' : 'asym'}`;
        const kind = data[d++ % data.length] as DataKind;
        for (const rowKernel of ['subgroup', 'workgroup', 'invocation'] as const) {
          const scheme: QuantScheme = { dtype, symmetric, profile, granularity: 'channel' };
          out.push({ name: `rows (per ${rowKernel}) ${tag} ${kind}`, shape: [24, 5, 48], scheme, data: kind, rowKernel });
          out.push({ name: `rows (per ${rowKernel}) in chunks ${tag}`, shape: [37, 320], maxChunkBytes: 4096, scheme, data: 'outliers', rowKernel });
        }
        // 64 KiB rows pass any device's workgroup memory up to 64 KiB: the row kernel reads them twice.
        for (const rowKernel of ['subgroup', 'workgroup'] as const) {
          out.push({
            name: `rows of 16384 (per ${rowKernel}) ${tag} ${kind}`, shape: [2, 16384], data: kind, rowKernel,
            scheme: { dtype, symmetric, profile, granularity: 'channel' },
          });
        }
        out.push({
          name: `blocks of 64 (short last) ${tag} ${kind}`, shape: [6, 200],
          scheme: { dtype, symmetric, profile, granularity: 'group', blockSize: 64 }, data: kind,
        });
        out.push({
          name: `blocks of 8 in chunks ${tag}`, shape: [9, 200], maxChunkBytes: 512,
          scheme: { dtype, symmetric, profile, granularity: 'group', blockSize: 8 }, data: 'normal',
        });
      }
    }
  }
  // 7 992 floats fill 32 KiB of workgroup memory with the row kernel's own variables. Two cases
  // only: SwiftShader takes about 5 s to compile a kernel holding 31 KiB.
  out.push({
    name: 'rows of 7992 (per subgroup) onnx int4 asym outliers', shape: [2, 7992], data: 'outliers', rowKernel: 'subgroup',
    scheme: { dtype: 'int4', symmetric: false, profile: 'onnx', granularity: 'channel' },
  });
  out.push({
    name: 'rows of 7992 (per workgroup) pytorch int8 sym normal', shape: [2, 7992], data: 'normal', rowKernel: 'workgroup',
    scheme: { dtype: 'int8', symmetric: true, profile: 'pytorch', granularity: 'channel' },
  });
  return out;
}

/** Tensors split into chunks far smaller than the binding limit: statistics must cross chunks. */
export function chunkCases(): GpuCase[] {
  const schemes: [string, QuantScheme][] = [
    ['per tensor', { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' }],
    ['per tensor affine', { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'pytorch' }],
    ['channel axis 0', { dtype: 'int8', symmetric: false, granularity: 'channel', axis: 0, profile: 'onnx' }],
    ['channel axis 1', { dtype: 'uint4', symmetric: true, granularity: 'channel', axis: 1, profile: 'pytorch' }],
    ['channel last', { dtype: 'int4', symmetric: false, granularity: 'channel', axis: 2, profile: 'onnx' }],
    ['group 3 axis 0', { dtype: 'int8', symmetric: true, granularity: 'group', axis: 0, blockSize: 3, profile: 'onnx' }],
    ['group 7 last', { dtype: 'uint8', symmetric: false, granularity: 'group', blockSize: 7, profile: 'pytorch' }],
    ['Q8_0', { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
    ['Q4_0', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ];
  return schemes.map(([name, scheme], i) => ({
    name: `chunked ${name}`, shape: [37, 5, 64], scheme, data: i % 2 === 0 ? 'outliers' : 'normal',
    maxChunkBytes: 4096 + 32 * i,
  }));
}

/** 4099 × 4111 int8 codes = 4 212 751 packed words: more than 65 535 workgroups of 64, so folded. */
export function foldCase(): GpuCase {
  return {
    name: 'dispatch past 65 535 workgroups', shape: [4099, 4111], data: 'normal',
    scheme: { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx' },
  };
}

/** Quantizes and dequantizes on both backends; the CPU result is the expected one. */
export async function runCase(c: GpuCase, seed: number, extra: QuantOptions = {}): Promise<CaseResult> {
  const x = makeData(c.data, c.shape, seed);
  const gpuOptions: QuantOptions = { ...extra, backend: 'webgpu', metrics: true };
  if (c.maxChunkBytes !== undefined) gpuOptions.maxChunkBytes = c.maxChunkBytes;
  if (c.rowKernel !== undefined) gpuOptions.rowKernel = c.rowKernel;
  const gpu = await quantize(x, c.shape, c.scheme, gpuOptions);
  const cpu = await quantize(x, c.shape, c.scheme, { backend: 'cpu', metrics: true });
  const report = compareQuantized(gpu, cpu, { input: x });
  const a = new Uint32Array((await dequantize(cpu, { ...gpuOptions, metrics: false })).buffer);
  const b = new Uint32Array((await dequantize(cpu)).buffer);
  let dequantizeEqual = a.length === b.length;
  for (let i = 0; dequantizeEqual && i < b.length; i++) dequantizeEqual = a[i] === b[i];
  // Squared errors of 'tiny' data (around 1e-74) are below float32's range, where the GPU's sums
  // can only be 0: its codes are what that data is for.
  const problem = c.data === 'tiny' ? undefined : metricsProblem(gpu.metrics, cpu.metrics);
  return {
    name: c.name, equal: report.equal, summary: report.summary, dequantizeEqual,
    ...(problem ? { metricsProblem: problem } : {}),
  };
}

/**
 * x/scale within a few float32 ulps of k.5 for a random scale per channel: where multiplying by
 * 1/scale cannot tell which way the correctly rounded quotient rounds (onnx), and where FBGEMM's
 * multiply lands on ties the division misses (pytorch). Each channel is led by its largest value
 * M, which alone sets its calibrated scale (symmetric int8: the reference's scale for M), so the
 * one-pass kernels meet the near ties too: quantized with those scales given, and calibrated.
 */
export async function runNearTies(profile: 'onnx' | 'pytorch', seed: number): Promise<CaseResult> {
  const rand = seededRandom(seed);
  const channels = 64;
  const perChannel = 512;
  const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile };
  const largest = Float32Array.from({ length: channels }, () => 0.06 + rand() * 40);
  const { scales } = await quantize(largest, [channels, 1], scheme);
  const x = new Float32Array(channels * perChannel);
  const bits = new Uint32Array(x.buffer);
  for (let c = 0; c < channels; c++) {
    x[c * perChannel] = largest[c] as number;
    for (let j = 1; j < perChannel; j++) {
      const i = c * perChannel + j;
      x[i] = (Math.floor(rand() * 250) - 125 + 0.5) * (scales[c] as number);
      bits[i] = (bits[i] as number) + Math.floor(rand() * 7) - 3;
    }
  }
  const shape = [channels, perChannel];
  const params = { dtype: 'int8' as const, scales, zeroPoints: new Int32Array(channels), axis: 0, profile };
  const given = compareQuantized(
    await quantizeWithParams(x, shape, params, { backend: 'webgpu' }),
    await quantizeWithParams(x, shape, params, { backend: 'cpu' }),
    { input: x },
  );
  const cpu = await quantize(x, shape, scheme, { backend: 'cpu' });
  const calibrated = compareQuantized(await quantize(x, shape, scheme, { backend: 'webgpu' }), cpu, { input: x });
  const scalesAsBuilt = cpu.scales.every((v, c) => v === scales[c]);
  // The same near ties per tensor: every element near a half of channel 0's scale, which its
  // largest value sets for the whole tensor; calibrated and given.
  const whole = x.map((_, i) => (i === 0 ? x[0] as number : (x[i % perChannel] as number)));
  const perTensor: QuantScheme = { ...scheme, granularity: 'tensor' };
  const tensorCalibrated = compareQuantized(
    await quantize(whole, shape, perTensor, { backend: 'webgpu' }), await quantize(whole, shape, perTensor), { input: whole },
  );
  const tensorParams = { dtype: 'int8' as const, scales: scales.subarray(0, 1), zeroPoints: new Int32Array(1), profile };
  const tensorGiven = compareQuantized(
    await quantizeWithParams(whole, shape, tensorParams, { backend: 'webgpu' }),
    await quantizeWithParams(whole, shape, tensorParams, { backend: 'cpu' }),
    { input: whole },
  );
  const failed = [
    ['scales given', given], ['calibrated', calibrated], ['per tensor', tensorCalibrated], ['per tensor, scale given', tensorGiven],
  ].find(([, r]) => !(r as typeof given).equal) as [string, typeof given] | undefined;
  return {
    name: `near ties ${profile}`,
    equal: !failed && scalesAsBuilt,
    summary: failed ? `${failed[0]}: ${failed[1].summary}` : !scalesAsBuilt ? 'calibration found other scales than each channel\'s largest value sets' : calibrated.summary,
    dequantizeEqual: true,
  };
}

/** quantizeWithParams on both backends with the CPU's calibrated parameters. */
export async function runWithParamsCase(c: GpuCase, seed: number): Promise<CaseResult> {
  const x = makeData(c.data, c.shape, seed);
  const cpu = await quantize(x, c.shape, c.scheme);
  const { dtype, profile, axis, blockSize } = cpu.scheme;
  const params = {
    dtype, scales: cpu.scales, zeroPoints: cpu.zeroPoints, profile,
    ...(axis === undefined ? {} : { axis }),
    ...(blockSize === undefined ? {} : { blockSize }),
  };
  const a = await quantizeWithParams(x, c.shape, params, { backend: 'webgpu' });
  const b = await quantizeWithParams(x, c.shape, params, { backend: 'cpu' });
  const report = compareQuantized(a, b, { input: x });
  return { name: `with params: ${c.name}`, equal: report.equal, summary: report.summary, dequantizeEqual: true };
}
