// What one tensor's plots show, computed in the worker: the tensor is quantized again with the
// run's scheme and backend (the results are deterministic, so these are the run's own codes) and
// reduced to histograms and per-channel SQNR, so that only a few kilobytes reach the page.
import { dequantize, quantize, type Backend, type QuantScheme } from '../src/index.js';
import { type ModelFile, modelTensors, readTensorF32 } from '../src/model/index.js';
import type { Histogram, TensorDetail } from './protocol.js';

const BINS = 80;

function histogram(lo: number, hi: number, length: number, value: (i: number) => number): Histogram {
  const counts = new Uint32Array(BINS);
  // A constant tensor still gets a bin of non-zero width to fall into.
  const width = hi > lo ? (hi - lo) / BINS : 1;
  for (let i = 0; i < length; i++) {
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor((value(i) - lo) / width)));
    counts[bin] = (counts[bin] as number) + 1;
  }
  return { lo, hi: hi > lo ? hi : lo + width * BINS, counts };
}

function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return values.length === 0 ? [0, 0] : [lo, hi];
}

export async function tensorDetail(model: ModelFile, name: string, scheme: QuantScheme, backend: Backend): Promise<TensorDetail> {
  const tensor = modelTensors(model).find((t) => t.name === name);
  if (!tensor) throw new Error(`the model has no tensor ${name}`);
  const x = await readTensorF32(model, name);
  const q = await quantize(x, tensor.shape, scheme, { backend, metrics: true });
  const y = await dequantize(q);
  const [xlo, xhi] = range(x);
  const [ylo, yhi] = range(y);
  const lo = Math.min(xlo, ylo);
  const hi = Math.max(xhi, yhi);
  const maxError = q.metrics?.maxAbsError ?? 0;
  return {
    name,
    shape: tensor.shape,
    original: histogram(lo, hi, x.length, (i) => x[i] as number),
    dequantized: histogram(lo, hi, y.length, (i) => y[i] as number),
    error: histogram(-maxError, maxError, x.length, (i) => (x[i] as number) - (y[i] as number)),
    channelAxis: q.metrics?.channelAxis ?? 0,
    channelSqnrDb: Float64Array.from(q.metrics?.perChannel ?? [], (c) => c.sqnrDb),
  };
}
