// What a quantized format is, in one place: the checks it makes of a scheme, its CPU reference,
// its GPU kernels and its file encoding. src/schemes/registry.ts holds one descriptor per format;
// everything else asks the registry instead of testing profiles and dtypes itself.
import type { ParamStats } from '../cpu/reduce.js';
import type { GgufOutputType, GgufTensorType } from '../formats/gguf.js';
import type { CodeRange, Layout } from '../layout.js';
import type { Profile, QuantScheme } from '../types.js';

/** Scales and zero points of a tensor, and the code range its codes are clamped to. */
export interface QParams {
  /** What a file stores and dequantization uses. */
  scales: Float32Array;
  zeroPoints: Int32Array;
  /**
   * The scales the codes are computed from: equal to `scales`, except under `ggml`, where codes
   * come from the float32 `d` and `scales` holds `d` rounded to float16.
   */
  codeScales: Float32Array;
  range: CodeRange;
}

/** Codes of elements `start` … `start + x.length − 1` of a tensor, chunk by chunk. */
export type Quantizer = (x: Float32Array, start: number) => Int8Array | Uint8Array;

/** The format's CPU reference: what defines every result. */
export interface CpuReference {
  /** Every parameter's scale and zero point from the calibrator's statistics. */
  params(stats: ParamStats, scheme: QuantScheme): QParams;
  /** A quantizer for these parameters (per-tensor work, such as reciprocals, done once here). */
  quantizer(layout: Layout, scheme: QuantScheme, params: QParams): Quantizer;
}

/**
 * What the engine binds to a format kernel's bindings 1, 2, … (binding 0 is the uniform `P`).
 * `blocks` is a block format's output, its encoded blocks as u32 words (see {@link BlockFormat}).
 */
export type KernelBinding = 'input' | 'scales' | 'zero_points' | 'packed' | 'first_bad' | 'blocks';

/**
 * A one-pass kernel of a format's own. Its source gets the shared library prepended (the
 * specialisation constants, shaders/common.wgsl, exact.wgsl, qparams.wgsl and codes.wgsl) and
 * has an entry point `main` with `@workgroup_size(WG)` (`override WG`). The pipeline cache key is
 * the name and the specialisation, never the run's data.
 */
export interface FormatKernel {
  name: string;
  source: string;
  bindings: readonly KernelBinding[];
}

/**
 * How the GPU quantizes a format: the built-in affine kernels specialised by profile (reduce →
 * calibrate → quantize, and the one-pass row and block kernels where a layout allows them), or
 * the format's own kernel, dispatched with one invocation per block of a window of whole block
 * rows (`P.param_base` its first block, `P.chunk_start` its first element, `P.param_count` its
 * blocks). An own kernel computes each block's parameters and codes in one pass, writes
 * `scales`, `zero_points` and `packed` (words from the window's start), and lowers `first_bad`
 * to the flat index of any NaN or ±Infinity.
 */
export type GpuPlan = { kind: 'affine'; profile: Profile } | { kind: 'blocks'; kernel: FormatKernel };

/** A format's block encoding in GGUF files. */
export interface GgufEncoding {
  /** ggml's type name and id (`enum ggml_type`). */
  typeName: Exclude<GgufOutputType, 'keep' | 'F32' | 'F16'>;
  typeId: number;
  /** llama.cpp's `general.file_type` for a file whose weights are all of this type. */
  fileType: number;
  /** Bytes per block of `blockSize` weights, as stored. */
  blockBytes: number;
  /** The scheme that writes this type. */
  scheme: QuantScheme;
  /** The blocks of one chunk of codes (elements `start` … of the tensor) with the tensor's scales. */
  encodeChunk(codes: Int8Array | Uint8Array, start: number, scales: Float32Array): Uint8Array;
}

/** What every format says of itself, whatever its results hold. */
interface FormatBase {
  /** The registry key, as `scheme.format` names it. */
  readonly name: string;
  /** One line for lists: the CLI's help, the page. */
  readonly summary: string;
  /** The profile whose formulas the format follows; a scheme naming the format names it too. */
  readonly profile: Profile;
  /** Whether a scheme that names no format is this one (the built-in formats, by profile and dtype). */
  selects?(scheme: Pick<QuantScheme, 'profile' | 'dtype'>): boolean;
  /** The block length of a group scheme that gives none. */
  readonly defaultBlockSize?: number;
  /**
   * What the format can hold, beyond the checks every scheme gets: throws a QuantizationError
   * naming the field. `scheme` has its axis and block size filled in.
   */
  check?(shape: readonly number[], scheme: QuantScheme): void;
}

/**
 * A format whose results are codes with a scale and a zero point per tensor, channel or block:
 * the affine schemes of a profile are one format, ggml's Q8_0 and Q4_0 one each.
 */
export interface AffineFormat extends FormatBase {
  /** The range codes are clamped to when the parameters come from the data. */
  codeRange(scheme: QuantScheme): CodeRange;
  /** The parameter tensors a result holds: a scale and a zero point per tensor, channel or block. */
  readonly params: 'affine';
  readonly cpu: CpuReference;
  readonly gpu: GpuPlan;
  readonly gguf?: GgufEncoding;
  readonly blocks?: undefined;
}

/**
 * A block format's CPU reference: whole blocks of `blockElements` weights along the last axis,
 * each encoded as `blockBytes` bytes that hold their own scales (ggml's K-quants: super-blocks
 * of 256 whose scales and mins come from a search).
 */
export interface BlockCodec {
  readonly blockElements: number;
  readonly blockBytes: number;
  /** ggml's type of these blocks in a GGUF file, and its id (`enum ggml_type`). */
  readonly gguf: { typeName: Exclude<GgufTensorType, 'keep' | 'F32' | 'F16'>; typeId: number };
  /** The scheme that names this format (with its block size). */
  readonly scheme: QuantScheme;
  /**
   * The blocks of `x` (whole blocks; x[0] is the tensor's flat index `start`); a NaN or ±Infinity
   * is an error naming its flat index.
   */
  encode(x: Float32Array, start: number): Uint8Array;
  /** The weights of whole blocks. */
  decode(bytes: Uint8Array): Float32Array;
}

/**
 * A format whose results are its own encoded blocks, not scales and codes (the K-quants): its CPU
 * reference is `blocks`. Its kernel (`gpu`) runs one invocation per block of a window of whole
 * blocks, as an affine format's own kernel does, and writes block t of the window at word
 * t · ceil(blockBytes / 4) of the `blocks` binding (the host packs them end to end).
 */
export interface BlockFormat extends FormatBase {
  readonly params: 'blocks';
  readonly blocks: BlockCodec;
  readonly gpu?: { kind: 'blocks'; kernel: FormatKernel };
  readonly cpu?: undefined;
  readonly gguf?: undefined;
}

/**
 * One quantized format, by the parameters its results hold (`params`): scales and zero points
 * ({@link AffineFormat}) or blocks of its own encoding ({@link BlockFormat}). A program may
 * register more (see `registerFormat`).
 */
export type QuantFormat = AffineFormat | BlockFormat;
