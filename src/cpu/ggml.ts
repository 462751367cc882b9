// ggml's Q8_0 and Q4_0 reference (llama.cpp's quantize_row_q8_0_ref / quantize_row_q4_0_ref):
// d from each block's largest magnitude, stored rounded to float16, codes from the float32 d.
import { fullRange } from '../layout.js';
import type { CpuReference, QParams } from '../schemes/format.js';
import type { QuantScheme } from '../types.js';
import { clamp, type CodeRule, quantizeWith } from './codes.js';
import { fround, roundHalfAway, roundToF16 } from './float.js';
import type { ParamStats } from './reduce.js';

// ggml's rule for a block whose id = 1/d is infinite (0 < |d| ≤ 2^-128, a block of magnitudes
// below about 3.7e-37 for Q8_0, 2.3e-38 for Q4_0): every code is what llama.cpp's reference
// quantizers write on x86, whose float → int conversion turns the ±Inf or NaN (0·Inf) of x·id
// into 0 — Q8_0 code 0, Q4_0 nibble 0 (code −8). The WGSL kernels apply the same rule
// (ggml_codes4 in shaders/codes.wgsl). d = 0 needs none: id is 0, and so is every x·id.
const overflowed = (inv: number): boolean => inv === Infinity || inv === -Infinity;

// quantize_row_q8_0_ref: roundf(x·id), ties away from zero.
const q8Rule: CodeRule = (x, _scale, inv, _zp, r) =>
  overflowed(inv) ? 0 : clamp(roundHalfAway(fround(x * inv)), r.qmin, r.qmax);

// quantize_row_q4_0_ref: MIN(15, (int8_t)(x·id + 8.5f)) stored with an offset of 8; the sum is a
// float32 addition and the cast truncates.
const q4Rule: CodeRule = (x, _scale, inv) =>
  overflowed(inv) ? -8 : clamp(Math.trunc(fround(fround(x * inv) + 8.5)), 0, 15) - 8;

/** A ggml format's reference: its float32 d per block from the statistics, and its rule. */
function reference(d: (stats: ParamStats, p: number) => number, rule: CodeRule): CpuReference {
  return {
    params(stats: ParamStats, scheme: QuantScheme): QParams {
      const n = stats.min.length;
      const codeScales = new Float32Array(n);
      const scales = new Float32Array(n);
      for (let p = 0; p < n; p++) {
        codeScales[p] = d(stats, p);
        scales[p] = roundToF16(codeScales[p] as number);
      }
      return { scales, zeroPoints: new Int32Array(n), codeScales, range: fullRange(scheme.dtype) };
    },
    quantizer(layout, _scheme, q) {
      // id = d ? 1.0f/d : 0.0f.
      const inv = q.codeScales.map((s) => (s === 0 ? 0 : fround(1 / s)));
      return (x, start) => quantizeWith(x, layout, rule, q.codeScales, inv, q.zeroPoints, q.range, start);
    },
  };
}

/** Q8_0: amax starts at 0; d = amax / 127. */
export const q8_0Reference = reference(
  (s, p) => fround(Math.max(0, s.max[p] as number, -(s.min[p] as number)) / 127), q8Rule,
);
/** Q4_0: d = max / -8, where max is the signed value of largest magnitude (the first on ties). */
export const q4_0Reference = reference((s, p) => fround((s.peak[p] as number) / -8), q4Rule);
