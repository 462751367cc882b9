// A half-precision weight in compressed-tensors keeps its scales in its own dtype, and a loader
// decodes in that dtype: compressed-tensors' `dequantize` casts the codes and zero points to the
// scale's dtype and multiplies there, so a BF16 weight decodes to bf16(scale · (code − zero)).
// Codes chosen with the float32 scale would then be decoded with a different one (up to a step of
// error instead of half). Here the scales are rounded to the stored dtype first (storedScale) and
// the codes chosen with those very scales, on either backend, by quantizeWithParams; the error
// metrics are those of what the loader decodes.
import { quantizeWithParams } from '../api.js';
import { dequantizeCodes } from '../cpu/dequantize.js';
import { emptySums, metricsFromSums, metricsLayout } from '../cpu/metrics.js';
import { forEachElementIn } from '../cpu/reduce.js';
import { storedScale, storedValue } from '../formats/compressed-tensors.js';
import { resolveScheme } from '../schemes/resolve.js';
import { type QuantizedChunk, quantizeStream, type StreamedTensor } from '../stream.js';
import type { Backend, QuantParams, QuantScheme } from '../types.js';
import { type Params, type PulledStream, pullStream } from './pull.js';

export interface StoredScaleOptions {
  backend: Backend;
  workers?: number;
  device?: GPUDevice;
  /** Elements per chunk, rounded down to whole rows (at least one). */
  chunkElements: number;
  /** Error metrics per row (axis 0) of what a loader decodes, in the result. */
  metrics: boolean;
  signal?: AbortSignal;
  /** What an error becomes before it reaches the consumer (a FormatError naming the tensor). */
  mapError: (err: unknown) => unknown;
}

/**
 * Quantizes the 2-D weight `read` reads (elements `start` … `start + length − 1`, as float32) with
 * scales stored in `dtype`: calibrated on the chosen backend as quantizeStream calibrates, each
 * scale raised to the stored value (storedScale), and the codes of each chunk of whole rows
 * chosen with the stored scales and the calibrated zero points. Pulled as quantizeStream's
 * results are, so that a writer and a comparison treat both alike.
 *
 * @example
 * const run = storedScaleStream(read, [rows, cols], scheme, 'BF16', { backend: 'cpu', chunkElements: 1 << 22, metrics: true, mapError: (e) => e });
 * const { scales } = await run.params; // bfloat16 values
 * for (let c = await run.next(); c; c = await run.next()) write(c.codes);
 */
export function storedScaleStream(
  read: (start: number, length: number) => Promise<Float32Array>, shape: readonly number[], scheme: QuantScheme,
  dtype: 'F16' | 'BF16', options: StoredScaleOptions,
): PulledStream {
  const { scheme: resolved, layout } = resolveScheme(shape, scheme);
  const [rows, cols] = shape as [number, number];
  const numel = rows * cols;
  const rowsPerChunk = Math.max(1, Math.floor(options.chunkElements / Math.max(1, cols)));
  const device = { ...(options.device ? { device: options.device } : {}), ...(options.workers !== undefined ? { workers: options.workers } : {}) };
  // The calibration pass only: the stream is closed once its parameters are in.
  const calibration = pullStream((hooks) => quantizeStream({ read }, shape, scheme, {
    backend: options.backend, ...device, chunkElements: options.chunkElements, alignElements: Math.max(1, cols), ...hooks,
  }), options.signal);
  const stored: Promise<Params> = calibration.params.then(async (p) => {
    await calibration.close();
    return { scales: p.scales.map((s) => storedScale(s, dtype)), zeroPoints: p.zeroPoints };
  });
  const params = stored.catch((err: unknown) => {
    throw options.mapError(err);
  });
  params.catch(() => {});

  const metrics = options.metrics ? metricsLayout(shape, 0) : undefined;
  const sums = metrics && emptySums(metrics.paramCount);
  /** Parameters per row: one for a channel, a row's groups, or the one scale of the tensor. */
  const perRow = resolved.granularity === 'group' ? layout.numBlocks : 1;
  const given = (p: Params, row: number, count: number): QuantParams => {
    const base = { dtype: resolved.dtype, profile: resolved.profile };
    if (resolved.granularity === 'tensor') return { ...base, scales: p.scales, zeroPoints: p.zeroPoints };
    const [from, to] = [row * perRow, (row + count) * perRow];
    const slice = { scales: p.scales.subarray(from, to), zeroPoints: p.zeroPoints.subarray(from, to) };
    return resolved.granularity === 'channel'
      ? { ...base, ...slice, axis: 0 }
      : { ...base, ...slice, axis: 1, blockSize: resolved.blockSize as number };
  };

  let row = 0;
  let adapter: StreamedTensor['adapter'];
  let result: ((value: StreamedTensor) => void) | undefined;
  let failed: ((err: unknown) => void) | undefined;
  const done = new Promise<StreamedTensor>((resolve, reject) => {
    result = resolve;
    failed = reject;
  });
  done.catch(() => {});
  let inFlight: Promise<unknown> = Promise.resolve();
  let closed = false;

  const chunk = async (): Promise<QuantizedChunk | undefined> => {
    const p = await stored;
    if (row >= rows || numel === 0) {
      result?.({
        shape: [...shape], scheme: resolved, scales: p.scales, zeroPoints: p.zeroPoints, backend: options.backend,
        ...(adapter ? { adapter } : {}), ...(sums ? { metrics: metricsFromSums(sums, 0) } : {}),
      });
      return undefined;
    }
    options.signal?.throwIfAborted();
    const count = Math.min(rowsPerChunk, rows - row);
    const start = row * cols;
    const values = await read(start, count * cols);
    const q = await quantizeWithParams(values, [count, cols], given(p, row, count), {
      backend: options.backend, ...device, ...(options.signal ? { signal: options.signal } : {}),
    });
    adapter ??= q.adapter;
    if (metrics && sums) {
      const decoded = dequantizeCodes(q.codes, layout, p.scales, p.zeroPoints, undefined, start);
      forEachElementIn(metrics, start, start + values.length, (i, c) => {
        const x = values[i - start] as number;
        // Exact in float32 (at most 11 + 9 significant bits), then rounded once, as the loader's
        // multiplication in the weight's dtype rounds it.
        const e = x - storedValue(decoded[i - start] as number, dtype);
        sums.sumSq[c] = (sums.sumSq[c] as number) + e * e;
        sums.signal[c] = (sums.signal[c] as number) + x * x;
        sums.count[c] = (sums.count[c] as number) + 1;
        if (Math.abs(e) > (sums.maxAbs[c] as number)) sums.maxAbs[c] = Math.abs(e);
      });
    }
    row += count;
    return { start, values, codes: q.codes, packed: q.packed };
  };

  return {
    params,
    result: done,
    next() {
      if (closed) return Promise.resolve(undefined);
      const next = inFlight.then(chunk).catch((err: unknown) => {
        const mapped = options.mapError(err);
        failed?.(mapped);
        throw mapped;
      });
      inFlight = next.catch(() => {});
      return next;
    },
    async close() {
      closed = true;
      await Promise.all([calibration.close(), inFlight]);
    },
  };
}
