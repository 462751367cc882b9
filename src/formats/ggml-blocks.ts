// ggml's tensor types and the block encodings this library writes (F16, Q8_0, Q4_0), laid out
// byte for byte as llama.cpp's ggml-common.h and ggml-quants.c define them.
import { f32ToF16Bits } from '../cpu/float.js';
import { QuantizationError } from '../errors.js';
import { GGML_BLOCK } from '../layout.js';
import type { QuantDType, QuantizedTensor } from '../types.js';

/**
 * ggml's tensor type ids (`enum ggml_type` in ggml.h; names as gguf-py's `GGMLQuantizationType`).
 * Ids 4, 5, 31–33 and 36–38 were removed from ggml and are unknown here too.
 *
 * @example
 * if (tensor.ggmlType === GGML_TYPE.Q8_0) console.log('already Q8_0');
 */
export const GGML_TYPE = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15,
  IQ2_XXS: 16, IQ2_XS: 17, IQ3_XXS: 18, IQ1_S: 19, IQ4_NL: 20, IQ3_S: 21, IQ2_S: 22, IQ4_XS: 23,
  I8: 24, I16: 25, I32: 26, I64: 27, F64: 28, IQ1_M: 29, BF16: 30,
  TQ1_0: 34, TQ2_0: 35, MXFP4: 39, NVFP4: 40, Q1_0: 41, Q2_0: 42,
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPE;

const QK_K = 256;

/** Elements per block and bytes per block: ggml.c's `type_traits` (`blck_size`, `type_size`). */
const BLOCK_LAYOUT: Record<GgmlTypeName, readonly [blockSize: number, typeSize: number]> = {
  F32: [1, 4], F16: [1, 2], Q4_0: [32, 2 + 16], Q4_1: [32, 2 + 2 + 16], Q5_0: [32, 2 + 4 + 16],
  Q5_1: [32, 2 + 2 + 4 + 16], Q8_0: [32, 2 + 32], Q8_1: [32, 2 + 2 + 32],
  Q2_K: [QK_K, 2 + 2 + QK_K / 16 + QK_K / 4], Q3_K: [QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  Q4_K: [QK_K, 2 + 2 + QK_K / 2 + 12], Q5_K: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
  Q6_K: [QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16], Q8_K: [QK_K, 4 + QK_K + QK_K / 8],
  IQ2_XXS: [QK_K, 2 + QK_K / 4], IQ2_XS: [QK_K, 2 + QK_K / 4 + QK_K / 32], IQ3_XXS: [QK_K, 2 + QK_K / 4 + QK_K / 8],
  IQ1_S: [QK_K, 2 + QK_K / 8 + QK_K / 16], IQ4_NL: [32, 2 + 16],
  IQ3_S: [QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4], IQ2_S: [QK_K, 2 + QK_K / 4 + QK_K / 16],
  IQ4_XS: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
  I8: [1, 1], I16: [1, 2], I32: [1, 4], I64: [1, 8], F64: [1, 8],
  IQ1_M: [QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32], BF16: [1, 2],
  TQ1_0: [QK_K, 2 + 4 * 13], TQ2_0: [QK_K, 2 + 64], MXFP4: [32, 1 + 16], NVFP4: [64, 4 + 32],
  Q1_0: [128, 2 + 16], Q2_0: [64, 2 + 16],
};

/** One ggml type: its id, name, elements per block and bytes per block. */
export interface GgmlTypeInfo {
  id: number;
  name: GgmlTypeName;
  blockSize: number;
  typeSize: number;
}

const TYPE_INFO = new Map<number, GgmlTypeInfo>(
  (Object.keys(GGML_TYPE) as GgmlTypeName[]).map((name) => {
    const [blockSize, typeSize] = BLOCK_LAYOUT[name];
    return [GGML_TYPE[name], { id: GGML_TYPE[name], name, blockSize, typeSize }];
  }),
);

/**
 * The block layout of ggml type `id`, or undefined for an id ggml does not (or no longer) define.
 *
 * @example
 * ggmlTypeInfo(GGML_TYPE.Q4_0); // { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 }
 */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return TYPE_INFO.get(id);
}

/**
 * llama.cpp's file types (`enum llama_ftype` in llama.h), stored as `general.file_type`: the type
 * most tensors have. The ones this library can write.
 *
 * @example
 * planGgufOutput(file, outputs, LLAMA_FTYPE.MOSTLY_Q8_0);
 */
export const LLAMA_FTYPE = { ALL_F32: 0, MOSTLY_F16: 1, MOSTLY_Q4_0: 2, MOSTLY_Q8_0: 7 } as const;

const QK = GGML_BLOCK;

/** Checks that `q` is a ggml-profile result of `dtype` with one scale per 32 codes. */
function ggmlBlocks(q: QuantizedTensor, dtype: QuantDType, format: string): void {
  const { scheme, shape, codes, scales } = q;
  const last = shape.length - 1;
  const axis = scheme.axis ?? last;
  const ok = scheme.profile === 'ggml' && scheme.dtype === dtype && scheme.symmetric && scheme.granularity === 'group' &&
    (scheme.blockSize ?? QK) === QK && (axis === last || axis === -1);
  if (!ok) {
    throw new QuantizationError(
      `${format} needs a result of quantize(x, shape, { dtype: '${dtype}', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' })`,
      { field: 'scheme' },
    );
  }
  // ggml's blocks run along rows that are whole multiples of 32, so block b is codes[32b, 32b + 32).
  if (codes.length % QK !== 0 || scales.length !== codes.length / QK) {
    throw new QuantizationError(
      `${format} needs one scale per 32 codes; got ${codes.length} codes and ${scales.length} scales`,
      { field: 'scales' },
    );
  }
}

/**
 * Q8_0 blocks (`block_q8_0`: float16 `d`, then 32 int8 codes) from a ggml-profile int8 result,
 * whose `scales` already hold `d` rounded to float16.
 *
 * @example
 * const bytes = encodeQ8_0(await quantize(x, [rows, cols], { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }));
 */
export function encodeQ8_0(q: QuantizedTensor): Uint8Array {
  ggmlBlocks(q, 'int8', 'Q8_0');
  return encodeQ8_0Chunk(q.codes, 0, q.scales);
}

/**
 * The Q8_0 blocks of one chunk of a ggml-profile int8 result: `codes` are elements `start` …
 * `start + codes.length − 1` of the tensor (whole blocks: both multiples of 32) and `scales` are
 * the whole tensor's. The chunks' bytes, written in order, are {@link encodeQ8_0}'s.
 *
 * @example
 * await quantizeStream(source, [rows, cols], q8, { alignElements: cols, onParams: (p) => (params = p),
 *   onChunk: ({ start, codes }) => sink.write(encodeQ8_0Chunk(codes, start, params.scales)) });
 */
export function encodeQ8_0Chunk(codes: Int8Array | Uint8Array, start: number, scales: Float32Array): Uint8Array {
  return encodeBlocks(codes, start, scales, 'Q8_0', QK, (out, at, block) => {
    for (let j = 0; j < QK; j++) out[at + j] = (block[j] as number) & 0xff;
  });
}

/**
 * Q4_0 blocks (`block_q4_0`: float16 `d`, then 16 bytes) from a ggml-profile int4 result. Byte j
 * holds element j in its low nibble and element j + 16 in its high nibble, each stored as code + 8
 * — llama.cpp's order, not the `packed` (ONNX) order.
 *
 * @example
 * const bytes = encodeQ4_0(await quantize(x, [rows, cols], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }));
 */
export function encodeQ4_0(q: QuantizedTensor): Uint8Array {
  ggmlBlocks(q, 'int4', 'Q4_0');
  return encodeQ4_0Chunk(q.codes, 0, q.scales);
}

/**
 * The Q4_0 blocks of one chunk of a ggml-profile int4 result, as {@link encodeQ8_0Chunk} takes
 * them: whole blocks from element `start`, with the whole tensor's scales.
 *
 * @example
 * const bytes = encodeQ4_0Chunk(chunk.codes, chunk.start, params.scales);
 */
export function encodeQ4_0Chunk(codes: Int8Array | Uint8Array, start: number, scales: Float32Array): Uint8Array {
  return encodeBlocks(codes, start, scales, 'Q4_0', QK / 2, (out, at, block, b) => {
    for (let j = 0; j < QK / 2; j++) {
      const lo = (block[j] as number) + 8;
      const hi = (block[j + QK / 2] as number) + 8;
      if (lo < 0 || lo > 15 || hi < 0 || hi > 15) {
        throw new QuantizationError(`Q4_0 codes must lie in [-8, 7]; block ${b} holds ${lo - 8} or ${hi - 8}`, {
          field: 'codes', index: b * QK + j,
        });
      }
      out[at + j] = lo | (hi << 4);
    }
  });
}

/**
 * Blocks of a chunk of whole blocks: each the float16 of its scale, then `payloadBytes` that
 * `payload` writes from the block's 32 codes (`b` is the block's index in the tensor).
 */
function encodeBlocks(
  codes: Int8Array | Uint8Array, start: number, scales: Float32Array, format: string, payloadBytes: number,
  payload: (out: Uint8Array, at: number, block: Int8Array | Uint8Array, b: number) => void,
): Uint8Array {
  const first = chunkBlocks(codes, start, scales, format);
  const blocks = codes.length / QK;
  const out = new Uint8Array(blocks * (2 + payloadBytes));
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const at = b * (2 + payloadBytes);
    view.setUint16(at, f32ToF16Bits(scales[first + b] as number), true);
    payload(out, at + 2, codes.subarray(b * QK, (b + 1) * QK), first + b);
  }
  return out;
}

/** The first block of a chunk of whole blocks, after checking that `scales` has a scale for each. */
function chunkBlocks(codes: Int8Array | Uint8Array, start: number, scales: Float32Array, format: string): number {
  if (!Number.isSafeInteger(start) || start < 0 || start % QK !== 0 || codes.length % QK !== 0) {
    throw new QuantizationError(
      `${format} encodes whole blocks of ${QK}: a chunk of ${codes.length} codes from element ${start} does not hold them`,
      { field: 'start' },
    );
  }
  const first = start / QK;
  if (first + codes.length / QK > scales.length) {
    throw new QuantizationError(
      `${format} needs a scale per block: blocks ${first}..${first + codes.length / QK} but ${scales.length} scales`,
      { field: 'scales' },
    );
  }
  return first;
}

/**
 * float32 values as little-endian float16 (round to nearest even, as ggml's fp32→fp16 row copy).
 *
 * @example
 * const bytes = encodeF16(new Float32Array([1, 0.1])); // 00 3c 66 2e
 */
export function encodeF16(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) view.setUint16(i * 2, f32ToF16Bits(x[i] as number), true);
  return out;
}
