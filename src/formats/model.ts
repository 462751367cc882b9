// One view of a model file, whichever format it is in.
import { FormatError } from '../errors.js';
import { type GgufFile, type GgufTensor, readGguf, readGgufTensorF32, readGgufTensorF32Range } from './gguf.js';
import type { ByteSource } from './io.js';
import {
  readSafetensors, readSafetensorsF32, readSafetensorsF32Range, type SafetensorsFile, type SafetensorsTensor,
} from './safetensors.js';

export type ModelFile = SafetensorsFile | GgufFile;

/** A tensor of either format (GGUF's typeName becomes its dtype): the fields safetensors has. */
export type ModelTensor = SafetensorsTensor;

/**
 * Reads the header of a GGUF or safetensors file, validating it; tensor data stays in the source
 * until asked for. The name's extension decides the format, else GGUF's magic does.
 *
 * @example
 * const model = await openModel(blobSource(file));
 */
export async function openModel(source: ByteSource): Promise<ModelFile> {
  if (/\.gguf$/i.test(source.name)) return readGguf(source);
  if (/\.safetensors$/i.test(source.name)) return readSafetensors(source);
  if (source.size < 8) throw new FormatError(`is ${source.size} bytes long, too short for safetensors or GGUF`, { file: source.name });
  const magic = await source.read(0, 4);
  const isGguf = magic[0] === 0x47 && magic[1] === 0x47 && magic[2] === 0x55 && magic[3] === 0x46;
  return isGguf ? readGguf(source) : readSafetensors(source);
}

export function modelTensors(model: ModelFile): ModelTensor[] {
  if (model.format === 'safetensors') return model.tensors;
  return model.tensors.map((t) => ({ ...t, dtype: t.typeName }));
}

/** A quantizable tensor's values as float32 (F16 and BF16 widened exactly). */
export async function readTensorF32(model: ModelFile, name: string): Promise<Float32Array> {
  const index = tensorIndex(model, name);
  return model.format === 'safetensors'
    ? readSafetensorsF32(model, model.tensors[index] as SafetensorsTensor)
    : readGgufTensorF32(model, model.tensors[index] as GgufTensor);
}

/**
 * Elements `start` … `start + length − 1` (row-major) of a quantizable tensor as float32, widened
 * as {@link readTensorF32} does; only their bytes are read, so a tensor larger than memory can be
 * taken in pieces.
 *
 * @example
 * const row = await readTensorF32Range(model, 'lm_head.weight', 7 * cols, cols);
 */
export async function readTensorF32Range(model: ModelFile, name: string, start: number, length: number): Promise<Float32Array> {
  const index = tensorIndex(model, name);
  return model.format === 'safetensors'
    ? readSafetensorsF32Range(model, model.tensors[index] as SafetensorsTensor, start, length)
    : readGgufTensorF32Range(model, model.tensors[index] as GgufTensor, start, length);
}

function tensorIndex(model: ModelFile, name: string): number {
  const index = model.tensors.findIndex((t) => t.name === name);
  if (index < 0) throw new FormatError('no such tensor', { file: model.source.name, tensor: name });
  return index;
}
