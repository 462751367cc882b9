// The built-in formats: the affine schemes of the onnx and pytorch profiles, and ggml's Q8_0 and
// Q4_0. Their CPU reference lives in src/cpu/affine.ts and src/cpu/ggml.ts, their kernels in shaders/.
import { codeRange, onnxReference, pytorchReference } from '../cpu/affine.js';
import { q4_0Reference, q8_0Reference } from '../cpu/ggml.js';
import { QuantizationError } from '../errors.js';
import { encodeQ4_0Chunk, encodeQ8_0Chunk, GGML_TYPE, ggmlTypeInfo, LLAMA_FTYPE } from '../formats/ggml-blocks.js';
import { GGML_BLOCK } from '../layout.js';
import type { Granularity, Profile, QuantDType } from '../types.js';
import type { CpuReference, QuantFormat } from './format.js';

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

export const BUILTIN_FORMATS: readonly QuantFormat[] = [
  affine('onnx', 'ONNX QuantizeLinear: any dtype, symmetric or not, per tensor, channel or block', onnxReference),
  affine('pytorch', 'PyTorch observers and FBGEMM: any dtype, symmetric or not, per tensor, channel or block', pytorchReference),
  ggml('Q8_0', 'int8', q8_0Reference, LLAMA_FTYPE.MOSTLY_Q8_0, encodeQ8_0Chunk),
  ggml('Q4_0', 'int4', q4_0Reference, LLAMA_FTYPE.MOSTLY_Q4_0, encodeQ4_0Chunk),
];
