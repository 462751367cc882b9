// A tensor written as a GGUF block type on the CPU reference, whole rows a chunk at a time: the
// K-quants and their Q5 fallbacks from their own quantizers, Q8_0 and Q4_0 through the ggml
// profile. Each chunk is also decoded, for the report's error figures.
import { dequantize, quantize } from '../api.js';
import { dequantizeK, KQUANTS, type KQuantType, quantizeK } from '../cpu/kquants.js';
import { dequantizeQ5, type Q5Type, quantizeQ5 } from '../cpu/q5.js';
import { encodeQ4_0Chunk, encodeQ8_0Chunk } from '../formats/ggml-blocks.js';
import type { GgufTensorType } from '../formats/gguf.js';

/** One chunk of whole rows encoded, and what a loader decodes from it. */
export type BlockEncoder = (x: Float32Array, start: number, rowLength: number) => Promise<{ bytes: Uint8Array; decoded: Float32Array }>;

/** The encoder for a block type, or undefined for F32 / F16 / keep. */
export function blockEncoder(type: GgufTensorType): BlockEncoder | undefined {
  if (type in KQUANTS) {
    const t = type as KQuantType;
    return async (x, start) => {
      const bytes = quantizeK(t, x, start);
      return { bytes, decoded: dequantizeK(t, bytes) };
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
