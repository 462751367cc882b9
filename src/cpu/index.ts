export * from './calibrate.js';
export * from './dequantize.js';
export * from './float.js';
export * from './metrics.js';
export * from './pack.js';
export * from './quantize.js';
export * from './reduce.js';
export { onnxReference, pytorchReference } from './affine.js';
export { q4_0Reference, q8_0Reference } from './ggml.js';
