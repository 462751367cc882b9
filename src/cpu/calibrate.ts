import { type CodeRange, fullRange, isSigned, type Layout } from '../layout.js';
import type { Profile, QuantScheme } from '../types.js';
import { fround, roundHalfEven, roundToF16 } from './float.js';
import { type ParamStats, paramStats } from './reduce.js';

/** float32 machine epsilon, PyTorch observers' lower bound on a scale. */
export const FLOAT32_EPS = 2 ** -23;

/** Scales and zero points of a tensor, and the code range its codes are clamped to. */
export interface QParams {
  /** What a file stores and dequantization uses. */
  scales: Float32Array;
  zeroPoints: Int32Array;
  /**
   * The scales the codes are computed from: equal to `scales`, except under `ggml`, where codes
   * come from the float32 `d` and `scales` holds `d` rounded to float16.
   */
  codeScales: Float32Array;
  range: CodeRange;
}

/**
 * The range codes are clamped to. ONNX's symmetric scheme keeps 2^bits − 1 levels so that zero
 * sits in the middle ([−127, 127], [0, 254], [−7, 7], [0, 14]); every other case uses the full range.
 */
export function codeRange(scheme: QuantScheme): CodeRange {
  const full = fullRange(scheme.dtype);
  if (scheme.profile === 'onnx' && scheme.symmetric) {
    return isSigned(scheme.dtype) ? { qmin: full.qmin + 1, qmax: full.qmax } : { qmin: 0, qmax: full.qmax - 1 };
  }
  return full;
}

/** Zero point of a symmetric scheme: 0 for signed types, the middle of the range for unsigned ones. */
export function symmetricZeroPoint(profile: Profile, scheme: Pick<QuantScheme, 'dtype'>): number {
  if (isSigned(scheme.dtype)) return 0;
  const { qmax } = fullRange(scheme.dtype);
  // ONNX centres the restricted range [0, qmax − 1]; PyTorch uses 128 / 8.
  return profile === 'onnx' ? (qmax - 1) / 2 : (qmax + 1) / 2;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** ONNX DynamicQuantizeLinear, generalised to every type and to the restricted symmetric range. */
function onnxParams(min: number, max: number, scheme: QuantScheme, range: CodeRange): [number, number] {
  let rmin = Math.min(min, 0);
  let rmax = Math.max(max, 0);
  if (scheme.symmetric) {
    rmax = Math.max(-rmin, rmax);
    rmin = -rmax;
  }
  let scale = fround(fround(rmax - rmin) / (range.qmax - range.qmin));
  if (scale === 0) scale = 1;
  if (scheme.symmetric) return [scale, symmetricZeroPoint('onnx', scheme)];
  const zp = roundHalfEven(clamp(fround(range.qmin - fround(rmin / scale)), range.qmin, range.qmax));
  return [scale, zp];
}

/** torch.ao.quantization observers' `_calculate_qparams`. */
function pytorchParams(min: number, max: number, scheme: QuantScheme, range: CodeRange): [number, number] {
  const minNeg = Math.min(min, 0);
  const maxPos = Math.max(max, 0);
  if (scheme.symmetric) {
    const amax = Math.max(-minNeg, maxPos);
    const scale = Math.max(fround(amax / ((range.qmax - range.qmin) / 2)), FLOAT32_EPS);
    return [scale, symmetricZeroPoint('pytorch', scheme)];
  }
  const scale = Math.max(fround(fround(maxPos - minNeg) / (range.qmax - range.qmin)), FLOAT32_EPS);
  const zp = clamp(range.qmin - roundHalfEven(fround(minNeg / scale)), range.qmin, range.qmax);
  return [scale, zp];
}

/**
 * Computes the scale and zero point of every tensor, channel or block of `x` by the rules of
 * `scheme.profile`. `scheme` must come from `resolveScheme`.
 */
export function calibrate(x: Float32Array, layout: Layout, scheme: QuantScheme): QParams {
  return calibrateFromStats(paramStats(x, layout), scheme);
}

/** {@link calibrate} from statistics gathered beforehand (a tensor read in chunks). */
export function calibrateFromStats(stats: ParamStats, scheme: QuantScheme): QParams {
  const range = codeRange(scheme);
  const { min, max } = stats;
  const n = min.length;
  const scales = new Float32Array(n);
  const zeroPoints = new Int32Array(n);
  if (scheme.profile === 'ggml') {
    const codeScales = new Float32Array(n);
    for (let p = 0; p < n; p++) {
      codeScales[p] = scheme.dtype === 'int8'
        // quantize_row_q8_0_ref: amax starts at 0; d = amax / 127.
        ? fround(Math.max(0, max[p] as number, -(min[p] as number)) / 127)
        // quantize_row_q4_0_ref: d = max / -8, where max is the signed value of largest magnitude.
        : fround((stats.peak[p] as number) / -8);
      scales[p] = roundToF16(codeScales[p] as number);
    }
    return { scales, zeroPoints, codeScales, range };
  }
  const rule = scheme.profile === 'onnx' ? onnxParams : pytorchParams;
  for (let p = 0; p < n; p++) {
    const [scale, zp] = rule(min[p] as number, max[p] as number, scheme, range);
    scales[p] = scale;
    zeroPoints[p] = zp;
  }
  return { scales, zeroPoints, codeScales: scales, range };
}
