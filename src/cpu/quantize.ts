import type { CodeRange, Layout } from '../layout.js';
import type { Profile, QuantDType } from '../types.js';
import { fround, roundHalfAway, roundHalfEven } from './float.js';
import { forEachElementIn } from './reduce.js';

/** How one element becomes a code, given its parameter's scale and zero point. */
type CodeRule = (x: number, scale: number, inv: number, zp: number, range: CodeRange) => number;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

// ONNX QuantizeLinear: a correctly rounded float32 quotient, rounded half to even.
const onnxRule: CodeRule = (x, scale, _inv, zp, r) => clamp(roundHalfEven(fround(x / scale)) + zp, r.qmin, r.qmax);

// FBGEMM (PyTorch): multiply by the float32 reciprocal, so x·inv may land on a tie x / scale misses.
const pytorchRule: CodeRule = (x, _scale, inv, zp, r) => clamp(zp + roundHalfEven(fround(x * inv)), r.qmin, r.qmax);

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

/** The float32 reciprocal of every scale, as the profile's quantizer takes it. */
export function reciprocals(profile: Profile, scales: Float32Array): Float32Array {
  // ggml: id = d ? 1.0f/d : 0.0f.
  return scales.map((s) => (profile === 'ggml' && s === 0 ? 0 : fround(1 / s)));
}

/**
 * Quantizes `x` with per-parameter `scales` and `zeroPoints`, clamping to `range`, by the rounding
 * rule of `profile`. Writes into `dst` when given. `x` holds the elements from flat index `start`
 * on (a chunk of a larger tensor) when `start` is given.
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
  inv = reciprocals(profile, scales),
): Int8Array | Uint8Array {
  const codes = dst ?? (range.qmin < 0 ? new Int8Array(x.length) : new Uint8Array(x.length));
  const rule =
    profile === 'onnx' ? onnxRule : profile === 'pytorch' ? pytorchRule : dtype === 'int8' ? q8Rule : q4Rule;
  forEachElementIn(layout, start, start + x.length, (i, p) => {
    const j = i - start;
    codes[j] = rule(x[j] as number, scales[p] as number, inv[p] as number, zeroPoints[p] as number, range);
  });
  return codes;
}
