// A tensor written as a GGUF block type, whole rows a chunk at a time: a block format of the
// registry (the K-quants) through `quantize`, on WebGPU when the run's backend is WebGPU and on the
// CPU reference otherwise; Q5_0 / Q5_1 (llama.cpp's fallbacks) from their own quantizers; Q8_0 and
// Q4_0 through the ggml profile. Each chunk is also decoded, for the report's error figures.
import { dequantize, quantize } from '../api.js';
import { dequantizeQ5, type Q5Type, quantizeQ5 } from '../cpu/q5.js';
import { QuantizationError } from '../errors.js';
import { encodeQ4_0Chunk, encodeQ8_0Chunk } from '../formats/ggml-blocks.js';
import type { GgufTensorType } from '../formats/gguf.js';
import { blockFormatOfGgufType } from '../schemes/registry.js';
import type { AdapterFacts, Backend } from '../types.js';

/** One chunk of whole rows encoded, and what a loader decodes from it. */
export type BlockEncoder = (
  x: Float32Array, start: number, rowLength: number,
) => Promise<{ bytes: Uint8Array; decoded: Float32Array; adapter?: AdapterFacts }>;

/** Where a block format's chunks are made: the run's backend and device, and whether to check them against the reference. */
export interface BlockRun {
  backend?: Backend;
  device?: GPUDevice;
  verify?: boolean;
}

/** The encoder for a block type, or undefined for F32 / F16 / keep. */
export function blockEncoder(type: GgufTensorType, run: BlockRun = {}): BlockEncoder | undefined {
  const format = blockFormatOfGgufType(type);
  if (format) {
    const { scheme } = format.blocks;
    const gpu = run.backend === 'webgpu';
    return async (x, start, rowLength) => {
      const shape = [x.length / rowLength, rowLength];
      const options = gpu ? { backend: 'webgpu' as const, ...(run.device ? { device: run.device } : {}) } : { backend: 'reference' as const };
      const q = await quantize(x, shape, scheme, options);
      const bytes = q.blocks as Uint8Array;
      if (gpu && run.verify) {
        const cpu = format.blocks.encode(x, start);
        const at = cpu.findIndex((b, i) => b !== bytes[i]);
        if (at >= 0) {
          const block = Math.floor(at / format.blocks.blockBytes);
          throw new QuantizationError(
            `${type} on WebGPU differs from the CPU reference in the super-block of elements ${start + block * format.blocks.blockElements}…` +
              `${start + (block + 1) * format.blocks.blockElements - 1} (byte ${at % format.blocks.blockBytes})`,
            { field: 'verify', index: start + block * format.blocks.blockElements },
          );
        }
      }
      return { bytes, decoded: format.blocks.decode(bytes), ...(q.adapter ? { adapter: q.adapter } : {}) };
    };
  }
  if (type === 'Q5_0' || type === 'Q5_1') {
    const t: Q5Type = type;
    return async (x, start) => {
      const bytes = quantizeQ5(t, x, start);
      return { bytes, decoded: dequantizeQ5(t, bytes) };
    };
  }
  if (type === 'Q8_0' || type === 'Q4_0') {
    const dtype = type === 'Q8_0' ? 'int8' : 'int4';
    const encode = type === 'Q8_0' ? encodeQ8_0Chunk : encodeQ4_0Chunk;
    return async (x, _start, rowLength) => {
      const q = await quantize(x, [x.length / rowLength, rowLength], {
        dtype, symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml',
      }, { backend: 'reference' });
      return { bytes: encode(q.codes, 0, q.scales), decoded: await dequantize(q, { backend: 'reference' }) };
    };
  }
  return undefined;
}
