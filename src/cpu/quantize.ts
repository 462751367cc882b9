// Quantizing with parameters already known, by the rules of the format a profile and dtype select.
import type { CodeRange, Layout } from '../layout.js';
import { formatOf } from '../schemes/registry.js';
import type { Profile, QuantDType, QuantScheme } from '../types.js';

export { type CodeRule, quantizeWith } from './codes.js';

/**
 * Quantizes `x` with per-parameter `scales` and `zeroPoints`, clamping to `range`, by the rounding
 * rule of `profile`'s format for `dtype`. Writes into `dst` when given. `x` holds the elements
 * from flat index `start` on (a chunk of a larger tensor) when `start` is given.
 */
export function quantizeCodes(
  x: Float32Array,
  layout: Layout,
  profile: Profile,
  dtype: QuantDType,
  scales: Float32Array,
  zeroPoints: Int32Array,
  range: CodeRange,
  dst?: Int8Array | Uint8Array,
  start = 0,
): Int8Array | Uint8Array {
  const scheme: QuantScheme = { profile, dtype, symmetric: true, granularity: layout.granularity };
  const params = { scales, zeroPoints, codeScales: scales, range };
  const codes = formatOf(scheme).cpu.quantizer(layout, scheme, params)(x, start);
  if (!dst) return codes;
  dst.set(codes);
  return dst;
}
