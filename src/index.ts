/// <reference types="@webgpu/types" preserve="true" />
export { dequantize, quantize, quantizeWithParams } from './api.js';
export { compareQuantized } from './compare.js';
export { quantizeStream } from './stream.js';
export type { QuantizedChunk, StreamedTensor, StreamOptions, TensorSource } from './stream.js';
export type { CodeMismatch, CompareOptions, ComparisonReport, ParamMismatch } from './compare.js';
export { errorMetrics } from './cpu/metrics.js';
export type { ErrorMetrics, ErrorStats } from './types.js';
export { FormatError, QuantizationError } from './errors.js';
export { adapterFacts, adapterName, releaseDevice } from './webgpu/device.js';
export { cpuFacts, releaseWorkers } from './fast/pool.js';
export type { CpuFacts } from './fast/pool.js';
export * as reference from './cpu/index.js';
export {
  blockFormatOf, calibratorOf, formatOf, ggufFormatOf, listCalibrators, listFormats, lookupFormat, registerCalibrator, registerFormat,
} from './schemes/registry.js';
export type { Calibrator, Refinement, StatField } from './schemes/calibrator.js';
export type {
  AffineFormat, BlockCodec, BlockFormat, CpuReference, FormatKernel, GgufEncoding, GpuPlan, KernelBinding, QParams, QuantFormat, Quantizer,
} from './schemes/format.js';
export type {
  AdapterFacts, Backend, GpuOptions, GpuQuantizedTensor, Granularity, Profile, Progress, QuantDType, QuantOptions, QuantParams,
  QuantScheme, QuantizedTensor,
} from './types.js';
