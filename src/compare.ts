import { f32Bits } from './cpu/float.js';
import { type Layout, makeLayout, paramIndexOf, unravel } from './layout.js';
import type { QuantizedTensor } from './types.js';

/** One element whose codes differ. */
export interface CodeMismatch {
  index: number;
  coords: number[];
  /** Index of the tensor/channel/block parameter the element uses. */
  param: number;
  input: number | undefined;
  codeA: number;
  codeB: number;
  scaleA: number;
  scaleB: number;
  zeroPointA: number;
  zeroPointB: number;
  /** Why the codes can differ: the parameters differ, or the same parameters rounded differently. */
  reason: string;
}

/** One tensor/channel/block whose scale or zero point differ (scales compared bit for bit). */
export interface ParamMismatch {
  param: number;
  coords: number[];
  scaleA: number;
  scaleB: number;
  zeroPointA: number;
  zeroPointB: number;
}

export interface ComparisonReport {
  equal: boolean;
  /** Differences in shape, scheme or array lengths that make element comparison meaningless. */
  problems: string[];
  mismatchCount: number;
  paramMismatchCount: number;
  packedMismatchCount: number;
  /** The first `limit` code mismatches, in element order. */
  mismatches: CodeMismatch[];
  paramMismatches: ParamMismatch[];
  /** One paragraph a person can read. */
  summary: string;
}

export interface CompareOptions {
  /** The float input both results came from, to show beside each mismatch. */
  input?: Float32Array;
  /** How many mismatches of each kind to list (default 10). */
  limit?: number;
}

function sameScheme(a: QuantizedTensor, b: QuantizedTensor): boolean {
  const keys = ['dtype', 'symmetric', 'granularity', 'axis', 'blockSize', 'profile', 'format', 'calibration'] as const;
  return keys.every((k) => a.scheme[k] === b.scheme[k]);
}

function layoutOf(q: QuantizedTensor): Layout {
  const { granularity, axis = 0, blockSize = 1 } = q.scheme;
  return makeLayout(q.shape, granularity, axis, blockSize);
}

function fmt(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** The summary of a comparison: the counts, then the first parameter and code mismatches. */
export function describeComparison(report: Omit<ComparisonReport, 'summary'>): string {
  if (report.problems.length > 0) return `not comparable: ${report.problems.join('; ')}`;
  if (report.equal) return 'bit-identical: codes, packed words, scales and zero points all equal';
  const lines = [
    `${report.mismatchCount} code mismatches, ${report.paramMismatchCount} scale/zero-point mismatches, ` +
      `${report.packedMismatchCount} packed-word mismatches`,
  ];
  for (const m of report.paramMismatches) {
    lines.push(
      `  param ${m.param} [${m.coords.join(', ')}]: scale ${fmt(m.scaleA)} vs ${fmt(m.scaleB)}, ` +
        `zero point ${m.zeroPointA} vs ${m.zeroPointB}`,
    );
  }
  for (const m of report.mismatches) {
    lines.push(
      `  element ${m.index} [${m.coords.join(', ')}] (param ${m.param})` +
        (m.input === undefined ? '' : ` input ${fmt(m.input)}`) +
        `: code ${m.codeA} vs ${m.codeB}; ${m.reason}`,
    );
  }
  return lines.join('\n');
}

/**
 * Compares two quantizations of the same tensor exactly: every code, packed word, scale (by bit
 * pattern, so -0 and 0 differ) and zero point. Returns a report instead of throwing.
 *
 * @example
 * const report = compareQuantized(gpuResult, cpuResult, { input: x });
 * if (!report.equal) console.error(report.summary);
 */
export function compareQuantized(
  a: QuantizedTensor,
  b: QuantizedTensor,
  options: CompareOptions = {},
): ComparisonReport {
  const limit = options.limit ?? 10;
  const problems: string[] = [];
  if (a.shape.join(',') !== b.shape.join(',')) problems.push(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  if (!sameScheme(a, b)) problems.push(`schemes differ: ${JSON.stringify(a.scheme)} vs ${JSON.stringify(b.scheme)}`);
  for (const k of ['codes', 'packed', 'scales', 'zeroPoints'] as const) {
    if (a[k].length !== b[k].length) problems.push(`${k} lengths differ: ${a[k].length} vs ${b[k].length}`);
  }
  const base = {
    problems, mismatchCount: 0, paramMismatchCount: 0, packedMismatchCount: 0,
    mismatches: [] as CodeMismatch[], paramMismatches: [] as ParamMismatch[],
  };
  if (problems.length > 0) {
    const report = { ...base, equal: false };
    return { ...report, summary: describeComparison(report) };
  }

  const layout = layoutOf(a);
  const params = compareParams(a, b, layout.paramShape, limit, base.paramMismatches);
  base.paramMismatchCount = params.count;
  for (let i = 0; i < a.codes.length; i++) {
    if (a.codes[i] === b.codes[i]) continue;
    base.mismatchCount++;
    if (base.mismatches.length >= limit) continue;
    base.mismatches.push(codeMismatch(i, a.shape, layout, options.input?.[i], a.codes[i] as number, b.codes[i] as number, a, b, params.differs));
  }
  for (let w = 0; w < a.packed.length; w++) {
    if (a.packed[w] !== b.packed[w]) base.packedMismatchCount++;
  }
  const equal = base.mismatchCount === 0 && base.paramMismatchCount === 0 && base.packedMismatchCount === 0;
  const report = { ...base, equal };
  return { ...report, summary: describeComparison(report) };
}

/** Scales and zero points, of either result being compared. */
type ParamsOf = Pick<QuantizedTensor, 'scales' | 'zeroPoints'>;

/**
 * Compares scales (by bit pattern) and zero points parameter by parameter: which differ, how
 * many, and the first `limit` of them appended to `out`.
 */
export function compareParams(
  a: ParamsOf, b: ParamsOf, paramShape: readonly number[], limit: number, out: ParamMismatch[],
): { differs: Uint8Array<ArrayBuffer>; count: number } {
  const differs = new Uint8Array(a.scales.length);
  let count = 0;
  for (let p = 0; p < a.scales.length; p++) {
    const sa = a.scales[p] as number;
    const sb = b.scales[p] as number;
    if (f32Bits(sa) === f32Bits(sb) && a.zeroPoints[p] === b.zeroPoints[p]) continue;
    differs[p] = 1;
    count++;
    if (out.length < limit) {
      out.push({
        param: p, coords: unravel(p, paramShape), scaleA: sa, scaleB: sb,
        zeroPointA: a.zeroPoints[p] as number, zeroPointB: b.zeroPoints[p] as number,
      });
    }
  }
  return { differs, count };
}

/** The record of a code that differs at flat `index`, with its parameter and why it may differ. */
export function codeMismatch(
  index: number, shape: readonly number[], layout: Layout, input: number | undefined, codeA: number, codeB: number,
  a: ParamsOf, b: ParamsOf, paramDiffers: Uint8Array,
): CodeMismatch {
  const p = paramIndexOf(layout, index);
  return {
    index, coords: unravel(index, shape), param: p, input, codeA, codeB,
    scaleA: a.scales[p] as number, scaleB: b.scales[p] as number,
    zeroPointA: a.zeroPoints[p] as number, zeroPointB: b.zeroPoints[p] as number,
    reason: paramDiffers[p]
      ? 'the scale or zero point of its parameter differs'
      : 'same scale and zero point, so the division or rounding of this element differs',
  };
}
