import type { Layout } from '../layout.js';
import { fround } from './float.js';
import { forEachElement } from './reduce.js';

/** `R = S·(Q − Z)` in float32 for every element. Writes into `dst` when given. */
export function dequantizeCodes(
  codes: Int8Array | Uint8Array,
  layout: Layout,
  scales: Float32Array,
  zeroPoints: Int32Array,
  dst?: Float32Array,
): Float32Array {
  const out = dst ?? new Float32Array(codes.length);
  forEachElement(layout, (i, p) => {
    out[i] = fround((scales[p] as number) * ((codes[i] as number) - (zeroPoints[p] as number)));
  });
  return out;
}
