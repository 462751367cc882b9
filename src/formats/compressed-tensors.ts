// The compressed-tensors checkpoint layout (vllm-project/compressed-tensors, written by
// llm-compressor, loaded by vLLM's CompressedTensorsWNA16 scheme and by transformers). Weight-only
// INT8 and INT4 are both "pack-quantized" — it is the format llm-compressor infers for W8A16 and
// W4A16, and the only one vLLM loads weight-only integer weights from ("int-quantized" is for
// W8A8, whose activations are quantized too). A 2-D weight `NAME.weight` of shape [out, in] becomes:
//
//   NAME.weight_shape       I64 [2]            [out, in]
//   NAME.weight_packed      I32 [out, ⌈in/p⌉]  p = 32 / bits codes per word along each row,
//                                               element 0 in the lowest bits, each code + 2^(bits−1)
//                                               (so stored unsigned), a row's last word zero-padded
//   NAME.weight_scale       weight dtype       [1] per tensor, [out, 1] per channel, [out, in/group]
//   NAME.weight_zero_point  asymmetric only:   per channel / group: I32 [⌈out/p⌉, 1 | in/group],
//                                               packed like the codes but down the columns (dim 0);
//                                               per tensor: I8 [1], not packed
//
// Codes and zero points are signed ("type": "int" has no unsigned variant), so dequantization is
// scale · (code − zero_point) whichever way they are stored. Sources: PackedQuantizationCompressor
// and pack_to_int32 (compressors/quantized_compressors/pack_quantized.py), initialize_qparams
// (quantization/lifecycle/initialize.py), _skip_zp (compressors/quantized_compressors/base.py),
// QuantizationArgs (quantization/quant_args.py), and vLLM's compressed_tensors_wNa16.py.
import { MSE_DEFAULTS } from '../schemes/mse.js';
import { PERCENTILE_DEFAULT } from '../schemes/percentile.js';
import { QuantizationError } from '../errors.js';
import { bitsOf, fullRange, isSigned } from '../layout.js';
import { resolveScheme } from '../schemes/resolve.js';
import { f16BitsToF32, f32Bits, f32ToF16Bits } from '../cpu/float.js';
import type { QuantScheme, QuantizedTensor } from '../types.js';
import type { OutputTensor } from './safetensors.js';

/** The dtypes compressed-tensors stores scales in: the weight's own. */
export type ScaleDtype = 'F32' | 'F16' | 'BF16';

const SCALE_BYTES: Record<ScaleDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const ELEMENT_BYTES: Record<string, number> = { I64: 8, I32: 4, F32: 4, F16: 2, BF16: 2, I8: 1 };

/**
 * float32 → bfloat16 bits, rounding to nearest even (what `torch.Tensor.to(torch.bfloat16)`
 * does); overflow gives ±Inf and a NaN stays a (quiet) NaN.
 *
 * @example
 * f32ToBf16Bits(1 + 2 ** -8); // 0x3f80: a tie, rounded to the even neighbour 1.0
 */
export function f32ToBf16Bits(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x0040;
  // Adding 0x7fff plus the kept half's lowest bit carries exactly when the dropped half is above
  // the midpoint, or at it with an odd kept half; a carry into the exponent correctly gives Inf.
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → the value (exactly representable in float32). */
function bf16BitsToF32(h: number): number {
  return new Float32Array(Uint32Array.of(h << 16).buffer)[0] as number;
}

/**
 * `value` as a file of `dtype` stores it: float32 as it is; float16 or bfloat16 rounded to the
 * nearest, ties to even (what `torch.Tensor.to` does).
 *
 * @example
 * storedValue(0.7, 'BF16'); // 0.69921875 (0x3f33)
 */
export function storedValue(value: number, dtype: ScaleDtype): number {
  if (dtype === 'F32') return Math.fround(value);
  return dtype === 'F16' ? f16BitsToF32(f32ToF16Bits(value)) : bf16BitsToF32(f32ToBf16Bits(value));
}

/**
 * The scale to store in `dtype` for a calibrated float32 `scale`: the nearest value of `dtype` whose
 * magnitude is not below the scale's (float32 scales are kept as they are). Codes chosen with this
 * scale are the ones a loader decodes, and since the step only grows, every element the float32
 * scale covered stays within the code range — rounding to nearest could shrink the step and clip
 * the largest elements by more than half a step. A zero scale (ggml's all-zero block) stays zero.
 *
 * @example
 * storedScale(1 / 3, 'BF16'); // 0.333984375 (0x3eab): the nearest, already above 1/3
 * storedScale(0.7, 'BF16');   // 0.703125 (0x3f34), not the nearest 0.69921875 (0x3f33), below 0.7
 */
export function storedScale(scale: number, dtype: ScaleDtype): number {
  if (dtype === 'F32') return Math.fround(scale);
  const toBits = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  const toValue = dtype === 'F16' ? f16BitsToF32 : bf16BitsToF32;
  let bits = toBits(scale);
  // Sign and magnitude: one more in the low bits is the next value away from zero.
  if (Math.abs(toValue(bits)) < Math.abs(scale)) bits += 1;
  const stored = toValue(bits);
  if (!Number.isFinite(stored)) fail(`scale ${scale} is beyond the range of ${dtype}, the weight's dtype`, 'scales');
  return stored;
}

function fail(message: string, field: string): never {
  throw new QuantizationError(message, { field });
}

/** Checks what a scheme alone can tell (used where no shape is known). */
function checkSchemeFields(scheme: QuantScheme): void {
  if (!isSigned(scheme.dtype)) {
    fail(
      `compressed-tensors stores signed codes only ("type": "int"); ${scheme.dtype} has no such layout — ` +
        `use ${scheme.dtype === 'uint8' ? 'int8' : 'int4'}, which gives the same values`,
      'scheme.dtype',
    );
  }
  const axis = scheme.axis;
  if (scheme.granularity === 'channel' && axis !== undefined && axis !== 0 && axis !== -2) {
    fail(
      `compressed-tensors' channel strategy has one scale per output row (axis 0) of a 2-D weight; got axis ${axis}`,
      'scheme.axis',
    );
  }
  if (scheme.granularity === 'group' && axis !== undefined && axis !== 1 && axis !== -1) {
    fail(
      `compressed-tensors' group strategy runs groups along the input (last) axis of a 2-D weight; got axis ${axis}`,
      'scheme.axis',
    );
  }
}

/**
 * Throws a QuantizationError for a weight and scheme the compressed-tensors layout cannot express:
 * a weight that is not 2-D (the layout packs `[out, in]` rows and records a 2-entry
 * `weight_shape`); an unsigned dtype (compressed-tensors' "int" type is signed); a channel axis
 * other than 0; groups that do not run along the last axis; or a group size that does not divide
 * the row (compressed-tensors warns that it needs strict division, and vLLM sizes scales as
 * `in // group_size`, so such a file would not load). Per-tensor schemes are valid
 * compressed-tensors, but vLLM's weight-only kernels take only channel and group strategies.
 *
 * @example
 * checkCompressedTensorsScheme([4096, 4096], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' });
 */
export function checkCompressedTensorsScheme(shape: number[], scheme: QuantScheme): void {
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(
      `compressed-tensors packs 2-D [out, in] weights; got shape ${JSON.stringify(shape)} — leave this tensor unquantized`,
      'shape',
    );
  }
  checkSchemeFields(scheme);
  const { scheme: resolved, layout } = resolveScheme(shape, scheme);
  if (resolved.granularity === 'group' && layout.axisLen % layout.blockSize !== 0) {
    fail(
      `compressed-tensors needs the group size to divide the row: ${layout.axisLen} is not a multiple of ${layout.blockSize}`,
      'scheme.blockSize',
    );
  }
}

/** The compressed-tensors name of a quantized weight's part: `NAME.weight` → `NAME.weight_packed`. */
function partName(name: string, part: string): string {
  if (!name.endsWith('weight')) {
    fail(`compressed-tensors compresses tensors whose names end in 'weight'; got '${name}'`, 'name');
  }
  return `${name}_${part}`;
}

interface Plan {
  outputs: OutputTensor[];
  /** Which part each output is, in output order. */
  parts: CompressedTensorsPart[];
  bits: 4 | 8;
  rows: number;
  cols: number;
  /** Scale columns: 1 per tensor or channel, the group count per group. */
  scaleCols: number;
  zeroPointPacked: boolean;
}

function makePlan(name: string, shape: number[], scheme: QuantScheme, scaleDtype: ScaleDtype): Plan {
  checkCompressedTensorsScheme(shape, scheme);
  if (!(scaleDtype in SCALE_BYTES)) fail(`scale dtype must be F32, F16 or BF16; got ${String(scaleDtype)}`, 'scaleDtype');
  const [rows, cols] = shape as [number, number];
  const { scheme: resolved, layout } = resolveScheme(shape, scheme);
  const bits = bitsOf(resolved.dtype);
  const perWord = 32 / bits;
  const granularity = resolved.granularity;
  const scaleCols = granularity === 'group' ? layout.numBlocks : 1;
  const scaleShape = granularity === 'tensor' ? [1] : [rows, scaleCols];
  const list: [Plan['parts'][number], string, number[]][] = [
    ['packed', 'I32', [rows, Math.ceil(cols / perWord)]],
    ['scale', scaleDtype, scaleShape],
  ];
  const zeroPointPacked = !resolved.symmetric && granularity !== 'tensor';
  if (!resolved.symmetric) {
    list.push(['zero_point', zeroPointPacked ? 'I32' : 'I8', zeroPointPacked ? [Math.ceil(rows / perWord), scaleCols] : [1]]);
  }
  list.push(['shape', 'I64', [2]]);
  // Largest elements first, as the reference safetensors writer orders tensors, so that each one
  // starts aligned to its element size when the layer's tensors are written in this order.
  list.sort((a, b) => (ELEMENT_BYTES[b[1]] as number) - (ELEMENT_BYTES[a[1]] as number));
  return {
    outputs: list.map(([part, dtype, s]) => ({
      name: partName(name, part),
      dtype,
      shape: s,
      byteLength: s.reduce((n, d) => n * d, ELEMENT_BYTES[dtype] as number),
    })),
    parts: list.map(([part]) => part),
    bits, rows, cols, scaleCols, zeroPointPacked,
  };
}

/**
 * The safetensors entries that replace weight `name` (which must end in `weight`), sized from the
 * shape and scheme alone so a header can be written before anything is quantized. Ordered by
 * element size, largest first. Throws as {@link checkCompressedTensorsScheme} does.
 *
 * @example
 * compressedTensorsOutputs('model.layers.0.mlp.down_proj.weight', [4096, 11008],
 *   { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' }, 'BF16');
 * // weight_shape I64 [2], weight_packed I32 [4096, 1376], weight_scale BF16 [4096, 86]
 */
export function compressedTensorsOutputs(name: string, shape: number[], scheme: QuantScheme, scaleDtype: ScaleDtype): OutputTensor[] {
  return makePlan(name, shape, scheme, scaleDtype).outputs;
}

/**
 * Codes of each row packed into little-endian int32 words, each code offset to unsigned; a row's
 * last word is padded with zero bits. Written byte by byte: a little-endian word's bytes hold its
 * codes in order, so no word is assembled (a per-element word update took a tenth of a CLI run).
 */
function packRows(codes: Int8Array | Uint8Array, rows: number, cols: number, bits: 4 | 8): Uint8Array {
  const rowBytes = Math.ceil(cols / (32 / bits)) * 4;
  const out = new Uint8Array(rows * rowBytes);
  if (bits === 8 && cols % 4 === 0 && codes.byteOffset % 4 === 0) {
    // Rows of whole words: code + 128 of four codes at once, as flipping each byte's top bit.
    const from = new Uint32Array(codes.buffer, codes.byteOffset, (rows * cols) / 4);
    const to = new Uint32Array(out.buffer);
    for (let w = 0; w < from.length; w++) to[w] = (from[w] as number) ^ 0x80808080;
    return out;
  }
  for (let r = 0, src = 0, dst = 0; r < rows; r++, src += cols, dst += rowBytes) {
    if (bits === 8) {
      for (let c = 0; c < cols; c++) out[dst + c] = ((codes[src + c] as number) + 128) & 0xff;
      continue;
    }
    let c = 0;
    for (let b = dst; c + 1 < cols; c += 2, b++) {
      out[b] = (((codes[src + c] as number) + 8) & 0xf) | ((((codes[src + c + 1] as number) + 8) & 0xf) << 4);
    }
    if (c < cols) out[dst + (c >> 1)] = ((codes[src + c] as number) + 8) & 0xf;
  }
  return out;
}

/** Zero points `[rows, groups]` packed down each column (pack_to_int32's packed_dim=0). */
function packColumns(zeroPoints: Int32Array, rows: number, groups: number, bits: 4 | 8): Uint8Array {
  const perWord = 32 / bits;
  const offset = 1 << (bits - 1);
  const mask = (1 << bits) - 1;
  const packed = new Uint32Array(Math.ceil(rows / perWord) * groups);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const w = Math.floor(r / perWord) * groups + g;
      const v = (((zeroPoints[r * groups + g] as number) + offset) & mask) << ((r % perWord) * bits);
      packed[w] = ((packed[w] as number) | v) >>> 0;
    }
  }
  return wordsToBytes(packed);
}

function wordsToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w, true));
  return out;
}

function scaleBytes(scales: Float32Array, dtype: ScaleDtype): Uint8Array {
  const out = new Uint8Array(scales.length * SCALE_BYTES[dtype]);
  const view = new DataView(out.buffer);
  scales.forEach((s, i) => {
    if (dtype === 'F32') view.setFloat32(i * 4, s, true);
    else view.setUint16(i * 2, dtype === 'F16' ? f32ToF16Bits(s) : f32ToBf16Bits(s), true);
  });
  return out;
}

/** What an entry of a compressed-tensors weight holds. */
export type CompressedTensorsPart = 'packed' | 'scale' | 'zero_point' | 'shape';

/**
 * A quantized weight's compressed-tensors entries, made in pieces so that the weight need never
 * be held whole: the small entries from the scales and zero points, the `_packed` entry from
 * chunks of whole rows of codes, written in order.
 */
export interface CompressedTensorsEncoder {
  /** As {@link compressedTensorsOutputs} gives them. */
  outputs: OutputTensor[];
  /** What each output holds, in the same order. */
  parts: CompressedTensorsPart[];
  /**
   * The bytes of every entry but `packed`, from the whole weight's scales and zero points, which
   * are checked against the scheme (a zero point the layout cannot store is an error).
   */
  paramEntries(params: Pick<QuantizedTensor, 'scales' | 'zeroPoints'>): Map<CompressedTensorsPart, Uint8Array>;
  /** The `packed` entry's bytes for `codes`, whole rows from element `start` (a multiple of the row length). */
  packRows(codes: Int8Array | Uint8Array, start: number): Uint8Array;
}

/**
 * The encoder of weight `name` of `shape` quantized by `scheme`, with scales in `scaleDtype`.
 * Throws as {@link checkCompressedTensorsScheme} does.
 *
 * @example
 * const enc = compressedTensorsEncoder('fc.weight', [rows, cols], scheme, 'F32');
 * await quantizeStream(source, [rows, cols], scheme, { alignElements: cols,
 *   onParams: (p) => (entries = enc.paramEntries(p)),
 *   onChunk: ({ start, codes }) => sink.write(enc.packRows(codes, start)) });
 */
export function compressedTensorsEncoder(name: string, shape: number[], scheme: QuantScheme, scaleDtype: ScaleDtype): CompressedTensorsEncoder {
  const plan = makePlan(name, shape, scheme, scaleDtype);
  const { rows, cols, bits, scaleCols } = plan;
  const params = plan.outputs.find((_, i) => plan.parts[i] === 'scale')?.shape.reduce((n, d) => n * d, 1) ?? 0;
  return {
    outputs: plan.outputs,
    parts: plan.parts,
    paramEntries({ scales, zeroPoints }) {
      if (scales.length !== params) fail(`scales has ${scales.length} entries but the scheme needs ${params}`, 'scales');
      if (zeroPoints.length !== params) fail(`zeroPoints has ${zeroPoints.length} entries but the scheme needs ${params}`, 'zeroPoints');
      const { qmin, qmax } = fullRange(scheme.dtype);
      const at = zeroPoints.findIndex((z) => (scheme.symmetric ? z !== 0 : z < qmin || z > qmax));
      if (at >= 0) {
        fail(
          scheme.symmetric
            ? `zeroPoints[${at}] is ${zeroPoints[at]} in a symmetric scheme, whose zero points compressed-tensors omits`
            : `zeroPoints[${at}] is ${zeroPoints[at]}, outside the ${scheme.dtype} range [${qmin}, ${qmax}]`,
          'zeroPoints',
        );
      }
      const shapeBytes = new Uint8Array(16);
      const view = new DataView(shapeBytes.buffer);
      view.setBigInt64(0, BigInt(rows), true);
      view.setBigInt64(8, BigInt(cols), true);
      const entries = new Map<CompressedTensorsPart, Uint8Array>([['scale', scaleBytes(scales, scaleDtype)], ['shape', shapeBytes]]);
      if (plan.parts.includes('zero_point')) {
        entries.set('zero_point', plan.zeroPointPacked
          ? packColumns(zeroPoints, rows, scaleCols, bits)
          : new Uint8Array(Int8Array.from(zeroPoints).buffer));
      }
      return entries;
    },
    packRows(codes, start) {
      const whole = cols === 0
        ? codes.length === 0
        : Number.isSafeInteger(start) && start >= 0 && start % cols === 0 && codes.length % cols === 0 && start + codes.length <= rows * cols;
      if (!whole) {
        fail(`packs whole rows of ${cols} of the ${rows * cols} codes; got ${codes.length} codes from element ${start}`, 'codes');
      }
      return packRows(codes, cols === 0 ? 0 : codes.length / cols, cols, bits);
    },
  };
}

/**
 * The bytes of each entry of {@link compressedTensorsOutputs} for the quantized weight `q`, in the
 * same order. Scales are written in `scaleDtype` (F16 and BF16 rounded to nearest even); codes and
 * zero points are packed as compressed-tensors' `pack_to_int32` packs them.
 *
 * @example
 * const q = await quantize(w, [out, inp], { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' });
 * const parts = compressedTensorsData('fc.weight', q, 'F16');
 */
export function compressedTensorsData(name: string, q: QuantizedTensor, scaleDtype: ScaleDtype): Uint8Array[] {
  const encoder = compressedTensorsEncoder(name, q.shape, q.scheme, scaleDtype);
  const [rows, cols] = q.shape as [number, number];
  if (q.codes.length !== rows * cols) fail(`codes has ${q.codes.length} entries but shape [${rows}, ${cols}] needs ${rows * cols}`, 'codes');
  const entries = encoder.paramEntries(q);
  return encoder.parts.map((part) => (part === 'packed' ? encoder.packRows(q.codes, 0) : entries.get(part) as Uint8Array));
}

/**
 * The compressed-tensors `format` for weights quantized by `scheme`: `pack-quantized` for int8
 * and int4 alike, as llm-compressor infers for weight-only W8A16 / W4A16 and as vLLM requires.
 *
 * @example
 * compressedTensorsFormat({ dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' }); // 'pack-quantized'
 */
export function compressedTensorsFormat(scheme: QuantScheme): string {
  checkSchemeFields(scheme);
  return 'pack-quantized';
}

/**
 * The observer that chose the ranges, as llm-compressor names it in a config group's weights:
 * `minmax`, or `mse` with its observer_kwargs (grid, maxshrink, norm); percentile clipping, which
 * llm-compressor has no observer for, is recorded as `percentile` with its percentile.
 */
function observerOf(scheme: QuantScheme): { observer: string; observer_kwargs: Record<string, number> } {
  switch (scheme.calibration ?? 'minmax') {
    case 'mse': {
      const o = { ...MSE_DEFAULTS, ...scheme.mse };
      return { observer: 'mse', observer_kwargs: { grid: o.grid, maxshrink: o.maxShrink, norm: o.norm } };
    }
    case 'percentile':
      return { observer: 'percentile', observer_kwargs: { percentile: scheme.percentile ?? PERCENTILE_DEFAULT } };
    default:
      return { observer: 'minmax', observer_kwargs: {} };
  }
}

/**
 * The `quantization_config` object for config.json: one config group with `scheme`'s weights and
 * unquantized activations, whose `targets` (module class names such as `Linear`, module names, or
 * `re:` patterns) cover every quantized module, and `ignore` naming the modules left in float
 * (module names without `.weight`, e.g. `lm_head`). Only `QuantizationArgs` fields that every
 * compressed-tensors release knows are written, since it rejects unknown ones.
 *
 * @example
 * quantizationConfig({ dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' }, ['lm_head']);
 * quantizationConfig(scheme, [], ['Linear', 'model.embed_tokens']); // an embedding quantized too
 */
export function quantizationConfig(scheme: QuantScheme, ignore: string[], targets: string[] = ['Linear']): Record<string, unknown> {
  const format = compressedTensorsFormat(scheme);
  const group = scheme.granularity === 'group';
  if (group && !(Number.isInteger(scheme.blockSize) && (scheme.blockSize as number) >= 1)) {
    fail(`scheme.blockSize must be an integer >= 1 for group granularity; got ${String(scheme.blockSize)}`, 'scheme.blockSize');
  }
  return {
    quant_method: 'compressed-tensors',
    format,
    quantization_status: 'compressed',
    config_groups: {
      group_0: {
        targets: [...targets],
        weights: {
          num_bits: bitsOf(scheme.dtype),
          type: 'int',
          symmetric: scheme.symmetric,
          strategy: scheme.granularity,
          group_size: group ? scheme.blockSize : null,
          block_structure: null,
          dynamic: false,
          actorder: null,
          ...observerOf(scheme),
        },
        input_activations: null,
        output_activations: null,
      },
    },
    kv_cache_scheme: null,
    ignore: [...ignore],
  };
}

/** vLLM's kernels for weight-only int (Marlin, and the kernels chosen beside it) take these group sizes. */
const VLLM_GROUP_SIZES = [32, 64, 128];

/**
 * Why vLLM will not load weights quantized by `scheme` in this layout, one sentence each (empty
 * when it will). The file is valid compressed-tensors either way, and transformers loads it.
 *
 * vLLM picks CompressedTensorsWNA16 for a weight-only int config group only when the strategy is
 * channel or group (`_is_wNa16_group_channel` in
 * vllm/model_executor/layers/quantization/compressed_tensors/compressed_tensors.py); any other
 * weight-only group ends in "No compressed-tensors compatible scheme was found". The scheme runs
 * on Marlin, whose `MARLIN_SUPPORTED_GROUP_SIZES` are [-1, 32, 64, 128], -1 being per channel
 * (vllm/model_executor/layers/quantization/utils/marlin_utils.py, checked by
 * `verify_marlin_supported` in compressed_tensors_wNa16.py).
 *
 * @example
 * compressedTensorsWarnings({ dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'pytorch' });
 * // ['per-tensor scales: vLLM's weight-only int scheme (CompressedTensorsWNA16) takes …']
 */
export function compressedTensorsWarnings(scheme: QuantScheme): string[] {
  if (scheme.granularity === 'tensor') {
    return [
      "per-tensor scales: vLLM's weight-only int scheme (CompressedTensorsWNA16) takes channel or group " +
        'strategies only, so vLLM will not load this file; use --granularity channel or group for vLLM',
    ];
  }
  if (scheme.granularity === 'group' && !VLLM_GROUP_SIZES.includes(scheme.blockSize as number)) {
    return [
      `groups of ${String(scheme.blockSize)}: vLLM's weight-only int kernels (Marlin) serve groups of ` +
        `${VLLM_GROUP_SIZES.join(', ')} or one scale per channel, so vLLM will not load this file`,
    ];
  }
  return [];
}
