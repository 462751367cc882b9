// The library's vocabulary: plain types that every module may import and that import nothing,
// so that dependencies flow one way (npm run lint fails on an import cycle).

/** Storage type of the quantized codes. */
export type QuantDType = 'int8' | 'uint8' | 'int4' | 'uint4';

/**
 * Whose formulas define scale, zero point and rounding:
 * `onnx` (QuantizeLinear / DynamicQuantizeLinear), `pytorch` (torch.ao observers and FBGEMM
 * quantize), `ggml` (llama.cpp's Q8_0 / Q4_0 reference quantizers).
 */
export type Profile = 'onnx' | 'pytorch' | 'ggml';

export type Granularity = 'tensor' | 'channel' | 'group';

/**
 * Where the work runs: `'cpu'` the fast CPU engine (every core), `'reference'` the plain
 * TypeScript reference it equals bit for bit, `'webgpu'` the WGSL kernels.
 */
export type Backend = 'cpu' | 'reference' | 'webgpu';

/**
 * How a tensor is quantized.
 *
 * For `'channel'`, `axis` (default 0) has one scale per index (ONNX per-axis).
 * For `'group'`, blocks of `blockSize` run along `axis` (default: the last axis); the last block
 * of a row may be short (ONNX blocked quantization).
 *
 * @example
 * const scheme: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'onnx' };
 */
export interface QuantScheme {
  dtype: QuantDType;
  symmetric: boolean;
  granularity: Granularity;
  axis?: number;
  blockSize?: number;
  profile: Profile;
  /**
   * A registered format by name (see `listFormats`, `registerFormat`); without it the profile and
   * dtype choose a built-in one (ggml: Q8_0 for int8, Q4_0 for int4). ggml's K-quants are named:
   * `{ format: 'q4_k', profile: 'ggml', dtype: 'uint4', symmetric: false, granularity: 'group' }`
   * (q2_k uint4, q3_k int4 symmetric, q5_k uint8, q6_k int8 symmetric; blocks of 256 along the
   * last axis).
   */
  format?: string;
  /**
   * A registered calibration method by name (see `listCalibrators`): `'minmax'` (the default), the
   * range of the data; `'mse'`, llm-compressor's MSE observer (the shrunk range with the least
   * Σ|x − dq|^norm); `'percentile'`, the range clipped at a percentile. Not for the ggml profile.
   */
  calibration?: string;
  /** Options of `calibration: 'mse'`: grid (100), maxShrink (0.2) and norm (2.4), llm-compressor's defaults. */
  mse?: MseOptions;
  /** The percentile, in (0, 100], that `calibration: 'percentile'` clips at (99.9 when absent). */
  percentile?: number;
}

/** The search of `calibration: 'mse'`: shrink factors 1 − i/grid for i below trunc(maxShrink·grid). */
export interface MseOptions {
  /** Steps per unit of shrink, an integer ≥ 1. */
  grid?: number;
  /** The largest shrink, in (0, 1]; maxShrink·grid must be at least 1. */
  maxShrink?: number;
  /** The error's exponent, > 0. */
  norm?: number;
}

/**
 * The result of quantization. `codes` holds one logical code per element (`Int8Array` for
 * int8/int4, `Uint8Array` for uint8/uint4); `packed` holds the same codes four (8-bit) or eight
 * (4-bit) per little-endian `u32`, element 0 in the lowest bits (for 8-bit types from the WebGPU
 * backend, `codes` is a view of `packed`'s bytes, not a copy). `scales` and `zeroPoints` have
 * one entry per tensor, channel or block, laid out row-major in the tensor's shape with the
 * quantized axis replaced by the channel or block count.
 *
 * A block format (a K-quant: its format's `params` is `'blocks'`) has no codes, scales or zero
 * points apart from its blocks: `blocks` holds them as a GGUF file stores them, and `codes`,
 * `packed`, `scales` and `zeroPoints` are empty.
 */
export interface QuantizedTensor {
  shape: number[];
  scheme: QuantScheme;
  codes: Int8Array | Uint8Array;
  packed: Uint32Array;
  scales: Float32Array;
  zeroPoints: Int32Array;
  /** A block format's encoded blocks, row after row (present exactly for block formats). */
  blocks?: Uint8Array;
  /** Which backend produced this result; a request for one is never served by the other. */
  backend: Backend;
  /** The adapter that produced a `'webgpu'` result. */
  adapter?: AdapterFacts;
  /** Reconstruction error, when `options.metrics` asked for it. */
  metrics?: ErrorMetrics;
}

/**
 * A quantization left on the GPU (`output: 'gpu'`): packed codes (u32 words, as `packed` of
 * {@link QuantizedTensor}), scales (f32) and zero points (i32) in buffers the caller owns and
 * destroys.
 */
export interface GpuQuantizedTensor {
  shape: number[];
  scheme: QuantScheme;
  packed: GPUBuffer;
  scales: GPUBuffer;
  zeroPoints: GPUBuffer;
  backend: 'webgpu';
  adapter: AdapterFacts;
  metrics?: ErrorMetrics;
}

/**
 * Options shared by every operation. `backend` defaults to `'cpu'`, the fast CPU engine, which
 * runs everywhere and equals `'reference'` bit for bit; `'webgpu'` runs on the caller's `device` or on one the library acquires, and fails
 * with a clear error rather than falling back to the CPU.
 */
export interface QuantOptions extends GpuOptions {
  backend?: Backend;
  /**
   * Workers of the `'cpu'` backend: by default one per logical core; 1 works in the calling
   * thread. The workers are kept for the next call (`releaseWorkers()` ends them).
   */
  workers?: number;
  /**
   * Whether the `'cpu'` backend may run its WebAssembly SIMD loops (the default, where the platform
   * has WebAssembly SIMD); `false` runs its JavaScript loops only. The bits are the same either way.
   */
  simd?: boolean;
  /**
   * Also measure the reconstruction error (MSE, max abs error, SQNR, per channel) where the codes
   * are made, without a separate dequantize. Channels run along `axis`: by default the scheme's
   * axis for per-channel schemes, else axis 0.
   */
  metrics?: boolean | { axis?: number };
  /**
   * `'gpu'` leaves the results in GPU buffers (with `backend: 'webgpu'`), so callers whose
   * weights already live on the GPU pay no transfer; pass the input as a GPUBuffer of `device`.
   */
  output?: 'arrays' | 'gpu';
}

/**
 * Scales and zero points a caller already has, for {@link quantizeWithParams}.
 * One scale and no axis is per-tensor; an axis alone is per-channel; an axis and a block size is
 * blocked. `profile` defaults to `'onnx'`.
 */
export interface QuantParams {
  dtype: QuantDType;
  scales: Float32Array | number[];
  zeroPoints?: Int32Array | number[];
  axis?: number;
  blockSize?: number;
  profile?: Profile;
  /**
   * Given scales are used as they are: a calibration method other than `'minmax'` (which searches
   * the data for its scales) is an error naming `params.calibration`.
   */
  calibration?: string;
}

/** Error of a reconstruction over one set of elements. */
export interface ErrorStats {
  mse: number;
  maxAbsError: number;
  /** 10·log10(Σx² / Σ(x − y)²); +Infinity when the reconstruction is exact. */
  sqnrDb: number;
}

export interface ErrorMetrics extends ErrorStats {
  /** The axis `perChannel` runs along. */
  channelAxis: number;
  perChannel: ErrorStats[];
}

/** What the library knows of the adapter behind a result. */
export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software or fallback adapter (SwiftShader and the like): correct, but a CPU emulation. */
  isFallback: boolean;
  /** The limits in force on the device used. */
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

/** Progress of a long operation, reported after each chunk. */
export interface Progress {
  stage: 'reduce' | 'quantize' | 'dequantize';
  /** Bytes of input processed so far in this stage, and in all. */
  doneBytes: number;
  totalBytes: number;
}

export interface GpuOptions {
  /** Run on this device instead of one the library acquires. */
  device?: GPUDevice;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /**
   * How the one-pass kernel for per-channel rows spreads a row: over a workgroup of invocations
   * that fold their partials through subgroup operations (`'subgroup'`, the default on hardware
   * GPUs whose device has the `subgroups` feature) or through workgroup memory alone
   * (`'workgroup'`, the default on other hardware GPUs) — both keep loads coalesced and the
   * device occupied, and keep a row that fits the device's workgroup memory there, so it is read
   * once — or within one invocation (`'invocation'`, the default on adapters that emulate a GPU on
   * the CPU, where a workgroup barrier is a costly switch between coroutines and workgroup memory
   * costs a zero fill per workgroup).
   * All give the same bits; the choice is for speed only.
   */
  rowKernel?: 'subgroup' | 'workgroup' | 'invocation';
  /**
   * Largest chunk of the input bound at once, in bytes. Defaults to what the device allows
   * (maxStorageBufferBindingSize and maxBufferSize); set it lower to bound GPU memory.
   */
  maxChunkBytes?: number;
}

/** A tensor's elements read on demand, in row-major order: `length` of them from flat index `start`. */
export interface TensorSource {
  read(start: number, length: number): Promise<Float32Array>;
}
