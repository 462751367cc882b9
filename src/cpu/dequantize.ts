import type { Layout } from '../layout.js';
import { fround } from './float.js';
import { forEachElementIn } from './reduce.js';

/**
 * `R = S·(Q − Z)` in float32 for every element. Writes into `dst` when given. `codes` hold the
 * elements from flat index `start` on (a piece of a larger tensor) when `start` is given.
 */
export function dequantizeCodes(
  codes: Int8Array | Uint8Array,
  layout: Layout,
  scales: Float32Array,
  zeroPoints: Int32Array,
  dst?: Float32Array,
  start = 0,
): Float32Array {
  const out = dst ?? new Float32Array(codes.length);
  forEachElementIn(layout, start, start + codes.length, (i, p) => {
    out[i - start] = fround((scales[p] as number) * ((codes[i - start] as number) - (zeroPoints[p] as number)));
  });
  return out;
}
