// The quality report of a model quantization: per tensor and in sum, as a table and as JSON.
import { codeRange } from '../cpu/calibrate.js';
import type { ErrorMetrics } from '../cpu/metrics.js';
import { forEachRunIn } from '../cpu/reduce.js';
import { makeLayout } from '../layout.js';
import { MSE_DEFAULTS } from '../schemes/mse.js';
import { PERCENTILE_DEFAULT } from '../schemes/percentile.js';
import type { QuantScheme, QuantizedTensor } from '../types.js';
import { type AdapterFacts, adapterName } from '../webgpu/device.js';

export interface TensorReport {
  name: string;
  shape: number[];
  dtype: string;
  /** What happened to it: quantized, or kept (and why). */
  action: 'quantized' | 'passthrough' | 'f16-fallback';
  reason?: string;
  /** The output's type: compressed-tensors entries or a ggml type. */
  output: string;
  mse?: number;
  maxAbsError?: number;
  sqnrDb?: number;
  /** Elements outside the representable range by more than half a step (saturated). */
  clipped?: number;
  /**
   * For a calibration other than min/max: the SQNR min/max calibration gives the same tensor in
   * the same run, and the gain over it (`sqnrDb − minmaxSqnrDb`, dB; negative is a loss).
   */
  minmaxSqnrDb?: number;
  gainDb?: number;
  /**
   * Scales that overflowed to ±Inf — a ggml `d` past float16's 65504, from weights above about
   * 8.3e6 (Q8_0) or 5.2e5 (Q4_0) — whose elements dequantize to ±Inf or NaN: how many, and the
   * index of the first (a block, channel or 0 for the tensor, in the order of `scales`).
   */
  scaleOverflow?: { count: number; first: number };
  /** The channels (along the metrics axis) with the lowest SQNR, worst first. */
  worstChannels?: { index: number; sqnrDb: number }[];
  ms: number;
  verify?: { equal: boolean; mismatches: number; summary: string };
}

export interface ModelReport {
  input: { path: string; format: string; bytes: number };
  output: { path: string; format: string; bytes: number };
  scheme: QuantScheme;
  /** GGUF written as a llama-quantize file type (`Q4_K_M`, …): `scheme` then chose no tensor's type. */
  ggufType?: string;
  backend: string;
  adapter?: AdapterFacts;
  compressionRatio: number;
  seconds: number;
  /** Input bytes per second, in MB/s. */
  throughputMBps: number;
  tensors: TensorReport[];
  /** compressed-tensors' quantization_config, for a safetensors output. */
  quantizationConfig?: Record<string, unknown>;
  /** What a loader will refuse or mishandle in the output, each saying which loader and why. */
  warnings?: string[];
}

/** Counts elements that saturated: further outside the representable range than half a step. */
export function clippedCount(x: Float32Array, q: QuantizedTensor): number {
  return clippedCounter(q.shape, q.scheme, q)(x, 0);
}

/**
 * {@link clippedCount} a chunk at a time: the returned function counts the saturated elements of
 * `x`, elements `start` … `start + x.length − 1` of a tensor of `shape` quantized by `scheme`
 * (resolved, as a result holds it) to `params`; the counts of a tensor's chunks add up to its count.
 *
 * @example
 * const count = clippedCounter(shape, result.scheme, params);
 * let clipped = 0;
 * for (const chunk of chunks) clipped += count(chunk.values, chunk.start);
 */
export function clippedCounter(
  shape: readonly number[], scheme: QuantScheme, params: Pick<QuantizedTensor, 'scales' | 'zeroPoints'>,
): (x: Float32Array, start: number) => number {
  const { qmin, qmax } = codeRange(scheme);
  const { granularity, axis = 0, blockSize = 1 } = scheme;
  const layout = makeLayout(shape, granularity, axis, blockSize);
  // Each parameter's interval, once: the per-element walk then only compares.
  const n = params.scales.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const s = params.scales[p] as number;
    const z = params.zeroPoints[p] as number;
    // A zero scale (ggml's d below float16's range: a block of zeros and values too tiny to
    // scale) reconstructs every element as 0: an error of the element's own size, not saturation.
    if (s === 0) {
      lo[p] = -Infinity;
      hi[p] = Infinity;
      continue;
    }
    const a = s * (qmin - z);
    const b = s * (qmax - z);
    const half = Math.abs(s) / 2;
    lo[p] = Math.min(a, b) - half;
    hi[p] = Math.max(a, b) + half;
  }
  return (x, start) => {
    let clipped = 0;
    forEachRunIn(layout, start, start + x.length, (a, b, p, step) => {
      if (step === 0) {
        const l = lo[p] as number;
        const h = hi[p] as number;
        for (let i = a - start, e = b - start; i < e; i++) {
          const v = x[i] as number;
          if (v < l || v > h) clipped++;
        }
        return;
      }
      for (let i = a - start, e = b - start, q = p; i < e; i++, q++) {
        const v = x[i] as number;
        if (v < (lo[q] as number) || v > (hi[q] as number)) clipped++;
      }
    });
    return clipped;
  };
}

/** The report's {@link TensorReport.scaleOverflow} of a tensor's scales, or undefined if none overflowed. */
export function scaleOverflow(scales: Float32Array): { count: number; first: number } | undefined {
  let count = 0;
  let first = -1;
  scales.forEach((s, p) => {
    if (s === Infinity || s === -Infinity) {
      count++;
      if (first < 0) first = p;
    }
  });
  return count > 0 ? { count, first } : undefined;
}

/** A line per tensor whose scales overflowed, naming the tensor and its first such block or channel. */
export function scaleWarnings(report: ModelReport): string[] {
  const what = { tensor: 'tensor', channel: 'channel', group: 'block' }[report.scheme.granularity];
  const limit = report.scheme.profile === 'ggml' ? 'float16 (|d| > 65504)' : 'float32';
  return report.tensors.flatMap((t) => {
    const o = t.scaleOverflow;
    if (!o) return [];
    return [`warning: ${t.name}: the scale of ${what} ${o.first} overflows ${limit}` +
      `${o.count > 1 ? `, and ${o.count - 1} more` : ''}; its elements dequantize to ±Inf or NaN`];
  });
}

/** The `count` channels with the lowest SQNR. */
export function worstChannels(metrics: ErrorMetrics, count = 3): { index: number; sqnrDb: number }[] {
  return metrics.perChannel
    .map((c, index) => ({ index, sqnrDb: c.sqnrDb }))
    .sort((a, b) => a.sqnrDb - b.sqnrDb)
    .slice(0, count);
}

function fixed(v: number | undefined, digits: number): string {
  if (v === undefined) return '';
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? 'inf' : '-inf';
}

function exp(v: number | undefined): string {
  return v === undefined ? '' : v.toExponential(2);
}

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length))) ?? [];
  return cells.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** A byte count for people: 1.5 MiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** The calibration of a scheme in words: `minmax`, `mse (grid 100, max shrink 0.2, norm 2.4)`, `percentile 99.9`. */
export function describeCalibration(scheme: QuantScheme): string {
  const c = scheme.calibration ?? 'minmax';
  if (c === 'mse') {
    const o = { ...MSE_DEFAULTS, ...scheme.mse };
    return `mse (grid ${o.grid}, max shrink ${o.maxShrink}, norm ${o.norm})`;
  }
  return c === 'percentile' ? `percentile ${scheme.percentile ?? PERCENTILE_DEFAULT}` : c;
}

/**
 * What chose the output types, in words: a llama-quantize file type (each tensor's type is in its
 * row), or the scheme, e.g. `ggml int8 symmetric group 32`.
 */
function describeScheme(report: ModelReport, gain: boolean): string {
  if (report.ggufType !== undefined) return `${report.ggufType}: each tensor's type by llama.cpp's rules`;
  const s = report.scheme;
  return `${s.profile} ${s.dtype} ${s.symmetric ? 'symmetric' : 'asymmetric'} ${s.granularity}` +
    `${s.blockSize ? ` ${s.blockSize}` : ''}${gain ? `, ${describeCalibration(s)}` : ''}`;
}

/** The report as a table a person can read on a terminal. */
export function formatReport(report: ModelReport): string {
  const calibration = report.scheme.calibration ?? 'minmax';
  const gain = calibration !== 'minmax';
  const rows = [['tensor', 'shape', 'action', 'output', 'MSE', 'max|err|', 'SQNR dB', ...(gain ? ['vs minmax dB'] : []),
    'clipped', 'worst channels', 'ms']];
  for (const t of report.tensors) {
    rows.push([
      t.name, `[${t.shape.join(', ')}]`, t.action === 'quantized' ? 'quantized' : `${t.action}${t.reason ? ` (${t.reason})` : ''}`,
      t.output, exp(t.mse), exp(t.maxAbsError), fixed(t.sqnrDb, 2),
      ...(gain ? [t.gainDb === undefined ? '' : `${t.gainDb >= 0 ? '+' : ''}${fixed(t.gainDb, 2)}`] : []),
      t.clipped === undefined ? '' : String(t.clipped),
      (t.worstChannels ?? []).map((w) => `${w.index}:${fixed(w.sqnrDb, 1)}`).join(' '), String(Math.round(t.ms)),
    ]);
  }
  const quantized = report.tensors.filter((t) => t.action === 'quantized').length;
  const verified = report.tensors.filter((t) => t.verify);
  const adapter = report.adapter
    ? ` on ${adapterName(report.adapter)}` +
      (report.adapter.isFallback ? ' (software fallback: a CPU emulation)' : '')
    : '';
  const lines = [
    pad(rows),
    '',
    `${quantized} of ${report.tensors.length} tensors quantized (${describeScheme(report, gain)}), backend ${report.backend}${adapter}`,
    `${formatBytes(report.input.bytes)} in (${report.input.format}) → ${formatBytes(report.output.bytes)} out (${report.output.format}), ` +
      `ratio ${report.compressionRatio.toFixed(2)}×, ${report.seconds.toFixed(2)} s, ${report.throughputMBps.toFixed(1)} MB/s`,
  ];
  lines.push(...scaleWarnings(report));
  if (verified.length > 0) {
    const bad = verified.filter((t) => !t.verify?.equal);
    lines.push(bad.length === 0
      ? `verify: all ${verified.length} quantized tensors bit-identical to the CPU reference`
      : `verify: ${bad.length} of ${verified.length} tensors differ from the CPU reference:\n` +
        bad.map((t) => `  ${t.name}: ${t.verify?.summary}`).join('\n'));
  }
  return lines.join('\n');
}
