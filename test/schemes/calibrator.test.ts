// The calibrator interface as a program outside the library uses it: min/max is the calibrator a
// scheme gets by default, and a registered method that looks at the data again (here: clip each
// channel at three times its mean magnitude) runs through the same CPU paths, whole and streamed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Calibrator, listCalibrators, quantize, quantizeStream, type QuantScheme, reference, registerCalibrator, releaseDevice,
} from '../../src/index.js';
import { randomNormal } from '../../src/synthetic.js';

const minmax = listCalibrators()[0] as Calibrator;

/** Clips every parameter's range at 3·mean|x|, the mean taken in a second pass over the data. */
const meanClip: Calibrator = {
  ...minmax,
  name: 'mean3',
  summary: 'a test method: ±3·mean|x| when that is inside the range',
  gpu: false,
  refine(format, scheme, layout, first) {
    const n = first.scales.length;
    const sum = new Float64Array(n);
    const count = new Float64Array(n);
    const peakAbs = new Float32Array(n);
    return {
      add(x, start) {
        reference.forEachElementIn(layout, start, start + x.length, (i, p) => {
          const a = Math.abs(x[i - start] as number);
          sum[p] = (sum[p] as number) + a;
          count[p] = (count[p] as number) + 1;
          peakAbs[p] = Math.max(peakAbs[p] as number, a);
        });
      },
      finish() {
        const r = Float32Array.from(sum, (s, p) => Math.min(peakAbs[p] as number, (3 * s) / (count[p] as number)));
        return format.cpu.params({ min: r.map((v) => -v), max: r, peak: r, peakAbs: r }, scheme);
      },
    };
  },
};

const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch', calibration: 'mean3' };
const [rows, cols] = [6, 200];
const x = randomNormal(rows * cols, 9);
x[5] = 40;

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The scales and codes by independent arithmetic: PyTorch's symmetric int8 formulas on the clipped range. */
function expected(): { scales: number[]; codes: number[] } {
  const scales: number[] = [];
  const codes: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
    const clip = Math.fround(Math.min(Math.max(...row.map(Math.abs)), (3 * row.reduce((s, v) => s + Math.abs(v), 0)) / cols));
    const scale = Math.max(Math.fround(clip / 127.5), 2 ** -23);
    const inv = Math.fround(1 / scale);
    scales.push(scale);
    // `| 0` folds a rounded −0 into the 0 an Int8Array holds.
    for (const v of row) codes.push(Math.min(127, Math.max(-128, roundHalfEven(Math.fround(v * inv)))) | 0);
  }
  return { scales, codes };
}

beforeAll(() => registerCalibrator(meanClip));
afterAll(async () => {
  await releaseDevice();
});

describe('calibrators', () => {
  it('min/max is the default, and naming it changes no bit', async () => {
    expect(listCalibrators().map((c) => c.name)).toEqual(['minmax', 'mse', 'percentile', 'mean3']);
    const plain: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
    const a = await quantize(x, [rows, cols], plain);
    const b = await quantize(x, [rows, cols], { ...plain, calibration: 'minmax' });
    expect(Array.from(b.scales)).toEqual(Array.from(a.scales));
    expect(Array.from(b.codes)).toEqual(Array.from(a.codes));
  });

  it('a refining method sees the data again: its parameters and codes follow from its range', async () => {
    const q = await quantize(x, [rows, cols], scheme);
    const want = expected();
    expect(q.scheme.calibration).toBe('mean3');
    expect(Array.from(q.scales)).toEqual(want.scales);
    expect(Array.from(q.codes)).toEqual(want.codes);
  });

  it('gives the same bits streamed in chunks that cut the channels', async () => {
    const codes = new Int8Array(x.length);
    let scales: Float32Array = new Float32Array(0);
    await quantizeStream({ read: async (start, n) => x.slice(start, start + n) }, [rows, cols], scheme, {
      chunkElements: 328,
      onParams: (p) => { scales = p.scales; },
      onChunk: (c) => codes.set(c.codes, c.start),
    });
    const want = expected();
    expect(Array.from(scales)).toEqual(want.scales);
    expect(Array.from(codes)).toEqual(want.codes);
  });

  it('refuses WebGPU for a method the kernels do not implement, naming it', async () => {
    await expect(quantize(x, [rows, cols], scheme, { backend: 'webgpu' })).rejects.toThrow(
      /calibration mean3 runs on the CPU backend only/,
    );
  });

  it('rejects an unknown method, listing the registered ones, and a second registration', async () => {
    await expect(quantize(x, [rows, cols], { ...scheme, calibration: 'kl' })).rejects.toThrow(
      /scheme.calibration must be one of minmax, mse, percentile, mean3; got kl/,
    );
    expect(() => registerCalibrator(meanClip)).toThrow(/a calibrator named mean3 is registered already/);
  });
});
