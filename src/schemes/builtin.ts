// The built-in formats: the affine schemes of the onnx and pytorch profiles, ggml's Q8_0 and
// Q4_0, and ggml's K-quants as block formats. Their CPU references live in src/cpu/affine.ts,
// src/cpu/ggml.ts and src/cpu/kquants.ts, their kernels in shaders/.
import { codeRange, onnxReference, pytorchReference } from '../cpu/affine.js';
import { q4_0Reference, q8_0Reference } from '../cpu/ggml.js';
import { dequantizeK, KQUANTS, type KQuantType, QK_K, quantizeK } from '../cpu/kquants.js';
import { QuantizationError } from '../errors.js';
import { encodeQ4_0Chunk, encodeQ8_0Chunk, GGML_TYPE, ggmlTypeInfo, LLAMA_FTYPE } from '../formats/ggml-blocks.js';
import { GGML_BLOCK } from '../layout.js';
import type { Granularity, Profile, QuantDType, QuantScheme } from '../types.js';
import kquantCommon from '../../shaders/kquant_common.wgsl?raw';
import kquantQkx2 from '../../shaders/kquant_qkx2.wgsl?raw';
import kq2K from '../../shaders/kq2_k.wgsl?raw';
import kq3K from '../../shaders/kq3_k.wgsl?raw';
import kq4K from '../../shaders/kq4_k.wgsl?raw';
import kq5K from '../../shaders/kq5_k.wgsl?raw';
import kq6K from '../../shaders/kq6_k.wgsl?raw';
import type { BlockFormat, CpuReference, FormatKernel, QuantFormat } from './format.js';

function affine(profile: Profile, summary: string, cpu: CpuReference): QuantFormat {
  return {
    name: profile, summary, profile, selects: (s) => s.profile === profile, codeRange, params: 'affine', cpu,
    gpu: { kind: 'affine', profile },
  };
}

/** ggml expresses exactly Q8_0 and Q4_0: symmetric int8/int4 in blocks of 32 along the last axis. */
function checkGgml(
  shape: readonly number[],
  dtype: QuantDType,
  symmetric: boolean,
  granularity: Granularity,
  axis: number,
  blockSize: number,
): void {
  const what = 'the ggml profile supports only Q8_0 and Q4_0';
  if (dtype !== 'int8' && dtype !== 'int4') {
    throw new QuantizationError(`${what} (dtype int8 or int4); got ${dtype}`, { field: 'scheme.dtype' });
  }
  if (!symmetric) {
    throw new QuantizationError(`${what}, which are symmetric; asymmetric was asked`, { field: 'scheme.symmetric' });
  }
  if (granularity !== 'group' || blockSize !== GGML_BLOCK) {
    throw new QuantizationError(
      `${what}: granularity 'group' with blockSize ${GGML_BLOCK}; got ${granularity}` +
        (granularity === 'group' ? ` with blockSize ${blockSize}` : ''),
      { field: granularity === 'group' ? 'scheme.blockSize' : 'scheme.granularity' },
    );
  }
  if (axis !== shape.length - 1) {
    throw new QuantizationError(`${what}: blocks run along the last axis (${shape.length - 1}); got axis ${axis}`, {
      field: 'scheme.axis',
    });
  }
  const len = shape[axis] ?? 0;
  if (len % GGML_BLOCK !== 0) {
    throw new QuantizationError(
      `${what}: the blocked axis must be a multiple of ${GGML_BLOCK}; axis ${axis} has length ${len}`,
      { field: 'shape' },
    );
  }
}

function ggml(
  name: 'Q8_0' | 'Q4_0', dtype: 'int8' | 'int4', cpu: CpuReference, fileType: number, encodeChunk: typeof encodeQ8_0Chunk,
): QuantFormat {
  return {
    name: name.toLowerCase(),
    summary: `llama.cpp's ${name}: blocks of ${GGML_BLOCK} ${dtype} codes along the last axis with a float16 scale`,
    profile: 'ggml',
    selects: (s) => s.profile === 'ggml' && s.dtype === dtype,
    defaultBlockSize: GGML_BLOCK,
    check: (shape, s) => checkGgml(shape, s.dtype, s.symmetric, s.granularity, s.axis ?? 0, s.blockSize ?? 0),
    codeRange,
    params: 'affine',
    cpu,
    gpu: { kind: 'affine', profile: 'ggml' },
    gguf: {
      typeName: name, typeId: GGML_TYPE[name], fileType, blockBytes: ggmlTypeInfo(GGML_TYPE[name])?.typeSize ?? NaN, encodeChunk,
      scheme: { dtype, symmetric: true, granularity: 'group', blockSize: GGML_BLOCK, profile: 'ggml' },
    },
  };
}

/** A K-quant's scheme: the narrowest dtype that holds its codes, symmetric when it has no mins. */
const KQUANT_SCHEMES: Record<KQuantType, Pick<QuantScheme, 'dtype' | 'symmetric'>> = {
  Q2_K: { dtype: 'uint4', symmetric: false },
  Q3_K: { dtype: 'int4', symmetric: true },
  Q4_K: { dtype: 'uint4', symmetric: false },
  Q5_K: { dtype: 'uint8', symmetric: false },
  Q6_K: { dtype: 'int8', symmetric: true },
};

/** The scheme that names a K-quant: `{ format: 'q4_k', profile: 'ggml', dtype: 'uint4', symmetric: false, granularity: 'group' }`. */
export function kquantScheme(type: KQuantType): QuantScheme {
  return { format: type.toLowerCase(), profile: 'ggml', ...KQUANT_SCHEMES[type], granularity: 'group', blockSize: QK_K };
}

function checkKQuant(type: KQuantType, shape: readonly number[], s: QuantScheme): void {
  const want = kquantScheme(type);
  const what = `${type} is ${want.dtype}, ${want.symmetric ? 'symmetric' : 'asymmetric'}, granularity 'group' with blockSize ${QK_K} along the last axis`;
  const wrong = (field: string, got: string) => new QuantizationError(`${what}; got ${got}`, { field: `scheme.${field}` });
  if (s.dtype !== want.dtype) throw wrong('dtype', `dtype ${s.dtype}`);
  if (s.symmetric !== want.symmetric) throw wrong('symmetric', s.symmetric ? 'symmetric' : 'asymmetric');
  if (s.granularity !== 'group') throw wrong('granularity', `granularity ${s.granularity}`);
  if (s.blockSize !== QK_K) throw wrong('blockSize', `blockSize ${String(s.blockSize)}`);
  if (s.axis !== shape.length - 1) throw wrong('axis', `axis ${String(s.axis)} of a rank-${shape.length} tensor`);
  const len = shape.at(-1) ?? 0;
  if (len % QK_K !== 0) {
    throw new QuantizationError(`${type} quantizes rows of whole super-blocks of ${QK_K}; the last axis has length ${len}`, { field: 'shape' });
  }
}

function kquant(type: KQuantType, summary: string, source?: string): BlockFormat {
  const name = type.toLowerCase();
  const c = KQUANTS[type];
  const kernel: FormatKernel | undefined = source === undefined ? undefined
    : { name, source: `${kquantCommon}\n${source}`, bindings: ['input', 'blocks', 'first_bad'] };
  return {
    name, profile: 'ggml', defaultBlockSize: QK_K, params: 'blocks',
    summary: `llama.cpp's ${type}: ${summary}, super-blocks of ${QK_K} (${c.bitsPerWeight} bits per weight)`,
    check: (shape, s) => checkKQuant(type, shape, s),
    blocks: {
      blockElements: QK_K, blockBytes: c.blockBytes, gguf: { typeName: type, typeId: GGML_TYPE[type] }, scheme: kquantScheme(type),
      encode: (x, start) => quantizeK(type, x, start),
      decode: (bytes) => dequantizeK(type, bytes),
    },
    ...(kernel ? { gpu: { kind: 'blocks', kernel } as const } : {}),
  };
}

export const BUILTIN_FORMATS: readonly QuantFormat[] = [
  affine('onnx', 'ONNX QuantizeLinear: any dtype, symmetric or not, per tensor, channel or block', onnxReference),
  affine('pytorch', 'PyTorch observers and FBGEMM: any dtype, symmetric or not, per tensor, channel or block', pytorchReference),
  ggml('Q8_0', 'int8', q8_0Reference, LLAMA_FTYPE.MOSTLY_Q8_0, encodeQ8_0Chunk),
  ggml('Q4_0', 'int4', q4_0Reference, LLAMA_FTYPE.MOSTLY_Q4_0, encodeQ4_0Chunk),
  kquant('Q2_K', '2-bit codes with 4-bit scales and mins per 16', `${kquantQkx2}\n${kq2K}`),
  kquant('Q3_K', '3-bit codes with 6-bit scales per 16', kq3K),
  kquant('Q4_K', '4-bit codes with 6-bit scales and mins per 32', `${kquantQkx2}\n${kq4K}`),
  kquant('Q5_K', '5-bit codes with 6-bit scales and mins per 32', `${kquantQkx2}\n${kq5K}`),
  kquant('Q6_K', '6-bit codes with 8-bit scales per 16', kq6K),
];
