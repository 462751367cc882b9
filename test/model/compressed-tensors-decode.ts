// compressed-tensors weights read from a safetensors file's bytes alone, as a loader reads them:
// the header parsed here, int32 words unpacked by compressed-tensors' published rules
// (pack_to_int32: element i of a word in bits [i·b, (i+1)·b), each code stored + 2^(b−1); zero
// points packed the same way down the rows) and dequantized as compressed-tensors' `dequantize`
// does, in the scale's dtype: (code − zero) cast to it, times the scale, rounded there. Nothing
// here comes from the library, so the tests that use it check the library's encoder.
import { expect } from 'vitest';

export type Dtype = 'F32' | 'F16' | 'BF16';

// ---- numbers, written out here rather than taken from the library ----

/** `v` (exact in float64) rounded to nearest, ties to even, with `p` significant bits and no exponent below `emin`. */
export function roundTo(v: number, p: number, emin: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  let e = Math.floor(Math.log2(Math.abs(v)));
  if (2 ** e > Math.abs(v)) e--;
  if (2 ** (e + 1) <= Math.abs(v)) e++;
  const ulp = 2 ** (Math.max(e, emin) - (p - 1));
  const q = v / ulp;
  const f = Math.floor(q);
  const r = q - f > 0.5 || (q - f === 0.5 && f % 2 !== 0) ? f + 1 : f;
  return r * ulp;
}

/** A value rounded to `dtype` as a cast does (float32: 24 bits; float16: 11, exponents from −14; bfloat16: 8, from −126). */
export function toDtype(v: number, dtype: Dtype): number {
  return dtype === 'F32' ? Math.fround(v) : dtype === 'F16' ? roundTo(v, 11, -14) : roundTo(v, 8, -126);
}

export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 31;
  const mant = h & 1023;
  return exp === 0 ? sign * mant * 2 ** -24 : sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16Value(h: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, h << 16);
  return view.getFloat32(0);
}

export function f16Bits(v: number): number {
  // `v` is exactly a float16 value here (rounded by toDtype first).
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

// ---- reading the output from its bytes ----

export interface Entry { dtype: string; shape: number[]; view: DataView; bytes: Uint8Array }

export function parseSafetensors(file: Uint8Array): { entries: Map<string, Entry>; metadata: Record<string, string> } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  const entries = new Map<string, Entry>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [a, b] } = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const bytes = file.subarray(8 + headerLength + a, 8 + headerLength + b);
    entries.set(name, { dtype, shape, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
  }
  return { entries, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}

export function scaleAt(e: Entry, i: number): number {
  if (e.dtype === 'F32') return e.view.getFloat32(i * 4, true);
  const h = e.view.getUint16(i * 2, true);
  if (e.dtype === 'F16') return f16Value(h);
  if (e.dtype === 'BF16') return bf16Value(h);
  throw new Error(`scale dtype ${e.dtype}`);
}

export interface WeightArgs { num_bits: number; type: string; symmetric: boolean; strategy: string; group_size: number | null }
export interface Config {
  quant_method: string;
  format: string;
  config_groups: Record<string, { targets: string[]; weights: WeightArgs }>;
  ignore: string[];
}

/** A quantized weight decoded from its entries: the stored scale of each element and the loader's value. */
export function decode(entries: Map<string, Entry>, module: string, w: WeightArgs, dtype: Dtype) {
  const get = (part: string) => entries.get(`${module}.weight_${part}`);
  const shapeEntry = get('shape') as Entry;
  const [rows, cols] = [Number(shapeEntry.view.getBigInt64(0, true)), Number(shapeEntry.view.getBigInt64(8, true))];
  const packed = get('packed') as Entry;
  const scale = get('scale') as Entry;
  const zp = get('zero_point');
  const bits = w.num_bits;
  const per = 32 / bits;
  const mask = (1 << bits) - 1;
  const offset = 1 << (bits - 1);
  const words = Math.ceil(cols / per);
  expect([packed.dtype, packed.shape, scale.dtype]).toEqual(['I32', [rows, words], dtype]);
  const groups = w.strategy === 'group' ? cols / (w.group_size as number) : 1;
  const paramOf = (r: number, c: number) =>
    w.strategy === 'tensor' ? 0 : w.strategy === 'channel' ? r : r * groups + Math.floor(c / (w.group_size as number));
  const zeroOf = (p: number, r: number): number => {
    if (!zp) return 0;
    if (w.strategy === 'tensor') return zp.view.getInt8(0);
    const g = p % groups;
    return ((zp.view.getUint32((Math.floor(r / per) * groups + g) * 4, true) >>> ((r % per) * bits)) & mask) - offset;
  };
  const step = new Float64Array(rows * cols);
  const exact = new Float64Array(rows * cols);
  const loaded = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const code = ((packed.view.getUint32((r * words + Math.floor(c / per)) * 4, true) >>> ((c % per) * bits)) & mask) - offset;
      const p = paramOf(r, c);
      const s = scaleAt(scale, p);
      const i = r * cols + c;
      step[i] = Math.abs(s);
      exact[i] = s * (code - zeroOf(p, r));
      loaded[i] = toDtype(exact[i] as number, dtype);
    }
  }
  return { rows, cols, step, exact, loaded };
}
