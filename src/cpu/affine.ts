// The onnx and pytorch profiles' reference: their scale and zero-point formulas and their rounding
// rules, for every dtype, symmetry and granularity.
import { type CodeRange, fullRange, isSigned } from '../layout.js';
import type { CpuReference, QParams } from '../schemes/format.js';
import type { Profile, QuantScheme } from '../types.js';
import { clamp, type CodeRule, quantizeWith } from './codes.js';
import { fround, roundHalfEven } from './float.js';
import type { ParamStats } from './reduce.js';

/** float32 machine epsilon, PyTorch observers' lower bound on a scale. */
export const FLOAT32_EPS = 2 ** -23;

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

// ONNX QuantizeLinear: a correctly rounded float32 quotient, rounded half to even.
const onnxRule: CodeRule = (x, scale, _inv, zp, r) => clamp(roundHalfEven(fround(x / scale)) + zp, r.qmin, r.qmax);

// FBGEMM (PyTorch): multiply by the float32 reciprocal, so x·inv may land on a tie x / scale misses.
const pytorchRule: CodeRule = (x, _scale, inv, zp, r) => clamp(zp + roundHalfEven(fround(x * inv)), r.qmin, r.qmax);

/** A profile's parameters, every one from its minimum and maximum. */
type ParamRule = (min: number, max: number, scheme: QuantScheme, range: CodeRange) => [number, number];

function reference(params: ParamRule, rule: CodeRule): CpuReference {
  return {
    params(stats: ParamStats, scheme: QuantScheme): QParams {
      const range = codeRange(scheme);
      const n = stats.min.length;
      const scales = new Float32Array(n);
      const zeroPoints = new Int32Array(n);
      for (let p = 0; p < n; p++) {
        [scales[p], zeroPoints[p]] = params(stats.min[p] as number, stats.max[p] as number, scheme, range);
      }
      return { scales, zeroPoints, codeScales: scales, range };
    },
    quantizer(layout, _scheme, q) {
      const inv = q.codeScales.map((s) => fround(1 / s));
      return (x, start) => quantizeWith(x, layout, rule, q.codeScales, inv, q.zeroPoints, q.range, start);
    },
  };
}

/** ONNX's reference. */
export const onnxReference = reference(onnxParams, onnxRule);
/** PyTorch's reference. */
export const pytorchReference = reference(pytorchParams, pytorchRule);
