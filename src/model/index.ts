/// <reference types="@webgpu/types" preserve="true" />
// The model-file API (`webgpu-quantizer/model`): readers and writers that stream, and whole-model
// quantization with its quality report. Browser-safe: files come in as ByteSources (a Blob).
export {
  compressedTensorsData, compressedTensorsEncoder, compressedTensorsFormat, compressedTensorsOutputs, quantizationConfig,
} from '../formats/compressed-tensors.js';
export type { CompressedTensorsEncoder, CompressedTensorsPart } from '../formats/compressed-tensors.js';
export {
  encodeF16, encodeQ4_0, encodeQ4_0Chunk, encodeQ8_0, encodeQ8_0Chunk, GGML_TYPE, LLAMA_FTYPE, planGgufOutput, readGguf,
  readGgufTensorF32, readGgufTensorF32Range, writeGguf,
} from '../formats/gguf.js';
export type { GgufFile, GgufLayout, GgufOutputType, GgufTensor, GgufValue } from '../formats/gguf.js';
export { blobSource, bytesSource, memorySink } from '../formats/io.js';
export type { ByteSink, ByteSource, TensorBytes } from '../formats/io.js';
export { modelTensors, openModel, readTensorF32, readTensorF32Range } from '../formats/model.js';
export type { ModelFile, ModelTensor } from '../formats/model.js';
export {
  readSafetensors, readSafetensorsF32, readSafetensorsF32Range, safetensorsHeader, writeSafetensors,
} from '../formats/safetensors.js';
export type { OutputTensor, SafetensorsFile, SafetensorsTensor } from '../formats/safetensors.js';
export { parseSafetensorsIndex, safetensorsIndexJson, shardFileName } from '../formats/index-json.js';
export type { SafetensorsIndex } from '../formats/index-json.js';
export { DEFAULT_MAX_SHARD_BYTES, mergeQuantizationConfig, openModelFolder, quantizeFolder } from './folder.js';
export type { FolderFile, FolderSink, ModelFolder, OutputFile, QuantizeFolderOptions } from './folder.js';
export { passThroughReason } from './policy.js';
export type { TensorPolicy } from './policy.js';
export { quantizeModel } from './quantize-model.js';
export type { ModelProgress, OutputFormat, QuantizeModelOptions, ShardedSink, ShardPlan } from './quantize-model.js';
export { clippedCount, clippedCounter, formatBytes, formatReport } from './report.js';
export type { ModelReport, TensorReport } from './report.js';
