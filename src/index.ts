export { dequantize, quantize, quantizeWithParams } from './api.js';
export { compareQuantized } from './compare.js';
export type { CodeMismatch, CompareOptions, ComparisonReport, ParamMismatch } from './compare.js';
export { errorMetrics } from './cpu/metrics.js';
export type { ErrorMetrics, ErrorStats } from './cpu/metrics.js';
export { QuantizationError } from './errors.js';
export * as reference from './cpu/index.js';
export type {
  Backend, Granularity, Profile, QuantDType, QuantOptions, QuantParams, QuantScheme, QuantizedTensor,
} from './types.js';
