// ggml's Q5_0 and Q5_1 (quantize_row_q5_0_ref / q5_1_ref and their dequantizers): the types
// llama.cpp falls back to when a Q4_K or Q5_K tensor's rows are not whole super-blocks of 256.
// Blocks of 32, float32 steps as in ggml-quants.c, float16 d (and m), a 32-bit word of fifth bits.
import { QuantizationError } from '../errors.js';
import { f16BitsToF32, f32ToF16Bits } from './float.js';

const F = Math.fround;
const QK = 32;

export type Q5Type = 'Q5_0' | 'Q5_1';

/** C's (int8_t) of a float: truncation toward zero; x86 gives 0 where the value has no int (±Inf, NaN). */
const truncI8 = (v: number): number => (Number.isFinite(v) && Math.abs(v) < 2 ** 31 ? (Math.trunc(v) << 24) >> 24 : 0);

function putF16(out: Uint8Array, at: number, v: number): void {
  const h = f32ToF16Bits(v);
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
}

/** Writes qs and qh from codes 0 … 31 (ggml stores element j and j + 16 in one byte). */
function packFive(out: Uint8Array, qhAt: number, codes: (j: number) => number): void {
  let qh = 0;
  for (let j = 0; j < QK / 2; j++) {
    const a = codes(j);
    const b = codes(j + QK / 2);
    out[qhAt + 4 + j] = (a & 0xf) | ((b & 0xf) << 4);
    qh |= ((a & 0x10) >>> 4) << j;
    qh |= ((b & 0x10) >>> 4) << (j + QK / 2);
  }
  new DataView(out.buffer, out.byteOffset).setUint32(qhAt, qh >>> 0, true);
}

function quantizeQ50(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = x[xo + j] as number;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = F(max / -16);
  const id = d !== 0 ? F(1 / d) : 0;
  putF16(out, at, d);
  packFive(out, at + 2, (j) => Math.min(31, truncI8(F(F((x[xo + j] as number) * id) + F(16.5)))));
}

function quantizeQ51(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < QK; j++) {
    const v = x[xo + j] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const d = F(F(max - min) / 31);
  const id = d !== 0 ? F(1 / d) : 0;
  putF16(out, at, d);
  putF16(out, at + 2, min);
  packFive(out, at + 4, (j) => truncI8(F(F(F((x[xo + j] as number) - min) * id) + 0.5)));
}

function dequantizeQ5Block(b: Uint8Array, at: number, y: Float32Array, yo: number, withMin: boolean): void {
  const d = f16BitsToF32((b[at] as number) | ((b[at + 1] as number) << 8));
  const m = withMin ? f16BitsToF32((b[at + 2] as number) | ((b[at + 3] as number) << 8)) : 0;
  const qhAt = at + (withMin ? 4 : 2);
  const qh = new DataView(b.buffer, b.byteOffset).getUint32(qhAt, true);
  for (let j = 0; j < QK / 2; j++) {
    const q = b[qhAt + 4 + j] as number;
    const x0 = (q & 0xf) | (((qh >>> j) << 4) & 0x10);
    const x1 = (q >> 4) | ((qh >>> (j + 12)) & 0x10);
    y[yo + j] = withMin ? F(F(x0 * d) + m) : F((x0 - 16) * d);
    y[yo + j + QK / 2] = withMin ? F(F(x1 * d) + m) : F((x1 - 16) * d);
  }
}

const CODECS = {
  Q5_0: { blockBytes: 22, quantize: quantizeQ50, dequantize: (b: Uint8Array, at: number, y: Float32Array, yo: number) => dequantizeQ5Block(b, at, y, yo, false) },
  Q5_1: { blockBytes: 24, quantize: quantizeQ51, dequantize: (b: Uint8Array, at: number, y: Float32Array, yo: number) => dequantizeQ5Block(b, at, y, yo, true) },
} as const;

/** Bytes per block of 32. */
export const Q5_BLOCK_BYTES: Readonly<Record<Q5Type, number>> = { Q5_0: 22, Q5_1: 24 };

/**
 * The blocks of `x` (a multiple of 32 finite weights) as llama.cpp's `quantize_row_q5_0_ref` /
 * `quantize_row_q5_1_ref` write them.
 *
 * @example
 * const bytes = quantizeQ5('Q5_0', row); // 22 bytes per 32 weights
 */
export function quantizeQ5(type: Q5Type, x: Float32Array, start = 0): Uint8Array {
  if (x.length % QK !== 0) throw new QuantizationError(`${type} quantizes whole blocks of ${QK}; got ${x.length} weights`, { field: 'shape' });
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i] as number)) {
      throw new QuantizationError(`element ${start + i} is ${String(x[i])}: ${type} needs finite weights`, { field: 'input', index: start + i });
    }
  }
  const c = CODECS[type];
  const out = new Uint8Array((x.length / QK) * c.blockBytes);
  for (let b = 0; b < x.length / QK; b++) c.quantize(x, b * QK, out, b * c.blockBytes);
  return out;
}

/** The weights of Q5_0 / Q5_1 blocks, as llama.cpp's `dequantize_row_q5_0` / `_q5_1` give them. */
export function dequantizeQ5(type: Q5Type, bytes: Uint8Array): Float32Array {
  const c = CODECS[type];
  if (bytes.length % c.blockBytes !== 0) {
    throw new QuantizationError(`${type} blocks are ${c.blockBytes} bytes; got ${bytes.length} bytes`, { field: 'bytes' });
  }
  const y = new Float32Array((bytes.length / c.blockBytes) * QK);
  for (let b = 0; b < bytes.length / c.blockBytes; b++) c.dequantize(bytes, b * c.blockBytes, y, b * QK);
  return y;
}
