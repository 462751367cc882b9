// The loop every affine format's reference quantizer shares: a rule per element, with its
// parameter's scale, reciprocal and zero point.
import type { CodeRange, Layout } from '../layout.js';
import { forEachElementIn } from './reduce.js';

/** How one element becomes a code, given its parameter's scale and zero point. */
export type CodeRule = (x: number, scale: number, inv: number, zp: number, range: CodeRange) => number;


/** `v` clamped to [lo, hi]. */
export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * The codes of `x`, elements `start` … of a tensor laid out by `layout`, by `rule` with each
 * parameter's scale, reciprocal and zero point, clamped to `range` by the rule.
 */
export function quantizeWith(
  x: Float32Array, layout: Layout, rule: CodeRule, scales: Float32Array, inv: Float32Array, zeroPoints: Int32Array,
  range: CodeRange, start = 0,
): Int8Array | Uint8Array {
  const codes = range.qmin < 0 ? new Int8Array(x.length) : new Uint8Array(x.length);
  forEachElementIn(layout, start, start + x.length, (i, p) => {
    const j = i - start;
    codes[j] = rule(x[j] as number, scales[p] as number, inv[p] as number, zeroPoints[p] as number, range);
  });
  return codes;
}
