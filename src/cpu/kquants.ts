// ggml's K-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): llama.cpp's reference quantizers
// `quantize_row_qN_K_ref` (no importance matrix) and the dequantizers `dequantize_row_qN_K`, in
// super-blocks of 256 weights, reproduced bit for bit. Every float operation is one float32
// operation (Math.fround after each), in the C source's order, with no fused multiply-add: the
// x86-64 build of ggml these are checked against has none in its quantizers. Layouts are
// ggml-common.h's `block_qN_K`.
import { QuantizationError } from '../errors.js';
import { f16BitsToF32, f32Bits, f32ToF16Bits } from './float.js';

const F = Math.fround;

/** Weights per super-block (ggml's QK_K). */
export const QK_K = 256;

/** The K-quant types this library writes, by ggml's names. */
export type KQuantType = 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';

// ggml-quants.c's GROUP_MAX_EPS: a group whose largest magnitude is below it is all zero.
const GROUP_MAX_EPS = F(1e-15);

/**
 * ggml's nearest_int: the float32 sum fval + 1.5·2^23 leaves the rounded integer (half to even) in
 * the low mantissa bits. Past |fval| ≥ 2^22 ggml's assert is compiled out and the bits wrap; this
 * returns what those bits say, as the library does.
 */
export function nearestInt(fval: number): number {
  return (f32Bits(F(fval + 12582912)) & 0x007fffff) - 0x00400000;
}

const clampInt = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
/** C's conversion of an int to uint8_t / int8_t: modulo 2^8. */
const u8 = (v: number): number => v & 0xff;
const i8 = (v: number): number => (v << 24) >> 24;
const toF16 = (v: number): number => f32ToF16Bits(v);
const fromF16 = (bytes: Uint8Array, at: number): number => f16BitsToF32((bytes[at] as number) | ((bytes[at + 1] as number) << 8));
const putF16 = (out: Uint8Array, at: number, v: number): void => {
  const h = toF16(v);
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
};

/**
 * make_qkx2_quants: an asymmetric fit of n values to [0, nmax] (scale and min), searched over
 * nstep + 1 trial inverse scales with weighted least squares. Writes L[lo …] and returns
 * [scale, the_min] (the_min = −min, ≥ 0 or −0).
 */
function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xo: number, weights: Float32Array, L: Uint8Array, lo: number,
  Laux: Uint8Array, rmin: number, rdelta: number, nstep: number, useMad: boolean,
): [number, number] {
  let min = x[xo] as number;
  let max = min;
  let sumW = weights[0] as number;
  let sumX = F(sumW * min);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i] as number;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i] as number;
    sumW = F(sumW + w);
    sumX = F(sumX + F(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    return [0, -min];
  }
  let iscale = F(nmax / F(max - min));
  let scale = F(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i] as number;
    const l = clampInt(nearestInt(F(iscale * F(xi - min))), 0, nmax);
    L[lo + i] = l;
    let diff = F(F(F(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : F(diff * diff);
    bestError = F(bestError + F((weights[i] as number) * diff));
  }
  for (let is = 0; is <= nstep; is++) {
    // min is the best fit so far: later trials measure from it.
    iscale = F(F(F(rmin + F(rdelta * is)) + nmax) / F(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i] as number;
      const l = clampInt(nearestInt(F(iscale * F(xi - min))), 0, nmax);
      Laux[i] = l;
      const w = weights[i] as number;
      const wl = F(w * l);
      sumL = F(sumL + wl);
      sumL2 = F(sumL2 + F(wl * l));
      sumXL = F(sumXL + F(wl * xi));
    }
    const D = F(F(sumW * sumL2) - F(sumL * sumL));
    if (D > 0) {
      let thisScale = F(F(F(sumW * sumXL) - F(sumX * sumL)) / D);
      let thisMin = F(F(F(sumL2 * sumX) - F(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = F(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = F(F(F(thisScale * (Laux[i] as number)) + thisMin) - (x[xo + i] as number));
        diff = useMad ? Math.abs(diff) : F(diff * diff);
        curError = F(curError + F((weights[i] as number) * diff));
      }
      if (curError < bestError) {
        L.set(Laux.subarray(0, n), lo);
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/** The largest magnitude's signed value (the first on ties) and the magnitude. */
function peak(n: number, x: Float32Array, xo: number): [max: number, amax: number] {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i] as number);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i] as number;
    }
  }
  return [max, amax];
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights (w = x²): a symmetric fit to
 * [−nmax, nmax − 1] searched over 19 trial scales. Writes L[lo …] = code + nmax.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const [max, amax] = peak(n, x, xo);
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = F(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i] as number;
    const l = clampInt(nearestInt(F(iscale * xi)), -nmax, nmax - 1);
    L[lo + i] = l + nmax;
    const w = F(xi * xi);
    sumlx = F(sumlx + F(F(w * xi) * l));
    suml2 = F(suml2 + F(F(w * l) * l));
  }
  let scale = suml2 !== 0 ? F(sumlx / suml2) : 0;
  let best = F(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = F(-F(nmax + F(F(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i] as number;
      const l = clampInt(nearestInt(F(iscale * xi)), -nmax, nmax - 1);
      const w = F(xi * xi);
      sumlx = F(sumlx + F(F(w * xi) * l));
      suml2 = F(suml2 + F(F(w * l) * l));
    }
    if (suml2 > 0 && F(sumlx * sumlx) > F(best * suml2)) {
      for (let i = 0; i < n; i++) {
        L[lo + i] = nmax + clampInt(nearestInt(F(iscale * (x[xo + i] as number))), -nmax, nmax - 1);
      }
      scale = F(sumlx / suml2);
      best = F(scale * sumlx);
    }
  }
  return scale;
}

/**
 * make_q3_quants with do_rmse: a symmetric fit to [−nmax, nmax − 1], then up to five passes that
 * move one code at a time while the weighted (w = x²) fit improves. Writes L[lo …] = code + nmax.
 */
function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const [max, amax] = peak(n, x, xo);
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = F(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i] as number;
    const l = clampInt(nearestInt(F(iscale * xi)), -nmax, nmax - 1);
    L[lo + i] = l;
    const w = F(xi * xi);
    sumlx = F(sumlx + F(F(w * xi) * l));
    suml2 = F(suml2 + F(F(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i] as number;
      const li = L[lo + i] as number;
      const w = F(xi * xi);
      let slx = F(sumlx - F(F(w * xi) * li));
      if (slx > 0) {
        let sl2 = F(suml2 - F(F(w * li) * li));
        const newL = clampInt(nearestInt(F(F(xi * sl2) / slx)), -nmax, nmax - 1);
        if (newL !== li) {
          slx = F(slx + F(F(w * xi) * newL));
          sl2 = F(sl2 + F(F(w * newL) * newL));
          if (sl2 > 0 && F(F(slx * slx) * suml2) > F(F(sumlx * sumlx) * sl2)) {
            L[lo + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (changed === 0) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = (L[lo + i] as number) + nmax;
  return suml2 > 0 ? F(sumlx / suml2) : 0;
}

/** get_scale_min_k4: sub-block j's 6-bit scale and min from Q4_K / Q5_K's 12 packed bytes. */
function scaleMinK4(j: number, q: Uint8Array, at: number): [sc: number, m: number] {
  const b = (k: number): number => q[at + k] as number;
  if (j < 4) return [b(j) & 63, b(j + 4) & 63];
  return [(b(j + 4) & 0xf) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4)];
}

/** Packs Q4_K / Q5_K's eight 6-bit scales and mins into 12 bytes at `at`. */
function packScalesK4(out: Uint8Array, at: number, ls: Uint8Array, lm: Uint8Array): void {
  for (let j = 0; j < 8; j++) {
    const s = ls[j] as number;
    const m = lm[j] as number;
    if (j < 4) {
      out[at + j] = s;
      out[at + j + 4] = m;
    } else {
      out[at + j + 4] = (s & 0xf) | ((m & 0xf) << 4);
      out[at + j - 4] = (out[at + j - 4] as number) | ((s >> 4) << 6);
      out[at + j] = (out[at + j] as number) | ((m >> 4) << 6);
    }
  }
}

/**
 * Q4_K and Q5_K (quantize_row_q4_K_ref / q5_K_ref): eight sub-blocks of 32, each fitted by
 * make_qkx2_quants with weights av_x + |x|; scales and mins quantized to 6 bits against the
 * largest of each; codes recomputed from the stored float16 d·scale and dmin·min. Leaves the
 * codes (0 … nmax) in L and writes d, dmin and the 12 scale bytes at `at`.
 */
function fitQ45K(x: Float32Array, xo: number, nmax: number, rmin: number, nstep: number, out: Uint8Array, at: number, L: Uint8Array): void {
  const weights = new Float32Array(32);
  const Laux = new Uint8Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const o = xo + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = F(sumX2 + F((x[o + l] as number) * (x[o + l] as number)));
    const avX = F(Math.sqrt(F(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = F(avX + Math.abs(x[o + l] as number));
    const [scale, min] = makeQkx2Quants(32, nmax, x, o, weights, L, 32 * j, Laux, rmin, F(0.1), nstep, false);
    scales[j] = scale;
    mins[j] = min;
    if (scale > maxScale) maxScale = scale;
    if (min > maxMin) maxMin = min;
  }
  const invScale = maxScale > 0 ? F(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? F(63 / maxMin) : 0;
  const ls = new Uint8Array(8);
  const lm = new Uint8Array(8);
  for (let j = 0; j < 8; j++) {
    ls[j] = Math.min(63, u8(nearestInt(F(invScale * (scales[j] as number)))));
    lm[j] = Math.min(63, u8(nearestInt(F(invMin * (mins[j] as number)))));
  }
  putF16(out, at, F(maxScale / 63));
  putF16(out, at + 2, F(maxMin / 63));
  packScalesK4(out, at + 4, ls, lm);
  const d = fromF16(out, at);
  const dmin = fromF16(out, at + 2);
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(j, out, at + 4);
    const dj = F(d * sc);
    if (dj === 0) continue;
    const dm = F(dmin * m);
    for (let ii = 0; ii < 32; ii++) {
      L[32 * j + ii] = clampInt(nearestInt(F(F((x[xo + 32 * j + ii] as number) + dm) / dj)), 0, nmax);
    }
  }
}

function quantizeQ4K(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  const L = new Uint8Array(QK_K);
  fitQ45K(x, xo, 15, -1, 20, out, at, L);
  const q = at + 16;
  for (let j = 0; j < QK_K; j += 64) {
    for (let l = 0; l < 32; l++) out[q + j / 2 + l] = (L[j + l] as number) | ((L[j + l + 32] as number) << 4);
  }
}

function quantizeQ5K(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  const L = new Uint8Array(QK_K);
  fitQ45K(x, xo, 31, F(-0.5), 15, out, at, L);
  const qh = at + 16;
  const ql = at + 48;
  let m1 = 1;
  let m2 = 2;
  for (let n = 0; n < QK_K; n += 64) {
    for (let j = 0; j < 32; j++) {
      let l1 = L[n + j] as number;
      if (l1 > 15) {
        l1 -= 16;
        out[qh + j] = (out[qh + j] as number) | m1;
      }
      let l2 = L[n + j + 32] as number;
      if (l2 > 15) {
        l2 -= 16;
        out[qh + j] = (out[qh + j] as number) | m2;
      }
      out[ql + n / 2 + j] = l1 | (l2 << 4);
    }
    m1 <<= 2;
    m2 <<= 2;
  }
}

function quantizeQ6K(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const scale = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib);
    scales[ib] = scale;
    const abs = Math.abs(scale);
    if (abs > maxAbsScale) {
      maxAbsScale = abs;
      maxScale = scale;
    }
  }
  // block_q6_K: ql[128], qh[64], int8 scales[16], float16 d.
  const ql = at;
  const qh = at + 128;
  const sc = at + 192;
  const dAt = at + 208;
  if (maxAbsScale < GROUP_MAX_EPS) return; // the block stays all zero bytes, d = 0 included
  const iscale = F(-128 / maxScale);
  putF16(out, dAt, F(1 / iscale));
  const d = fromF16(out, dAt);
  for (let ib = 0; ib < 16; ib++) out[sc + ib] = u8(Math.min(127, nearestInt(F(iscale * (scales[ib] as number)))));
  for (let j = 0; j < 16; j++) {
    const dj = F(d * i8(out[sc + j] as number));
    if (dj === 0) continue;
    for (let ii = 0; ii < 16; ii++) {
      L[16 * j + ii] = clampInt(nearestInt(F((x[xo + 16 * j + ii] as number) / dj)), -32, 31) + 32;
    }
  }
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      const a = L[j + l] as number;
      const b = L[j + l + 32] as number;
      const c = L[j + l + 64] as number;
      const e = L[j + l + 96] as number;
      out[ql + j / 2 + l] = (a & 0xf) | ((c & 0xf) << 4);
      out[ql + j / 2 + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
      out[qh + j / 4 + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}

/** Q2_K and Q3_K's 2-bit codes: four per byte, 32 bytes per 128 weights. */
function pack2Bit(out: Uint8Array, qs: number, L: Uint8Array | Int8Array): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      out[qs + j / 4 + l] = (L[j + l] as number) | ((L[j + l + 32] as number) << 2) |
        ((L[j + l + 64] as number) << 4) | ((L[j + l + 96] as number) << 6);
    }
  }
}

function quantizeQ2K(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  // block_q2_K: scales[16] (low nibble scale, high nibble min), qs[64], float16 d, dmin.
  const L = new Uint8Array(QK_K);
  const Laux = new Uint8Array(16);
  const weights = new Float32Array(16);
  const scales = new Float32Array(16);
  const mins = new Float32Array(16);
  const sc = at;
  const dAt = at + 80;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 16; j++) {
    for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l] as number);
    const [scale, min] = makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, Laux, F(-0.5), F(0.1), 15, true);
    scales[j] = scale;
    mins[j] = min;
    if (scale > maxScale) maxScale = scale;
    if (min > maxMin) maxMin = min;
  }
  if (maxScale > 0) {
    const iscale = F(15 / maxScale);
    for (let j = 0; j < 16; j++) out[sc + j] = u8(nearestInt(F(iscale * (scales[j] as number))));
    putF16(out, dAt, F(maxScale / 15));
  }
  if (maxMin > 0) {
    const iscale = F(15 / maxMin);
    for (let j = 0; j < 16; j++) out[sc + j] = u8((out[sc + j] as number) | (nearestInt(F(iscale * (mins[j] as number))) << 4));
    putF16(out, dAt + 2, F(maxMin / 15));
  }
  const d = fromF16(out, dAt);
  const dmin = fromF16(out, dAt + 2);
  for (let j = 0; j < 16; j++) {
    const s = out[sc + j] as number;
    const dj = F(d * (s & 0xf));
    if (dj === 0) continue;
    const dm = F(dmin * (s >> 4));
    for (let ii = 0; ii < 16; ii++) {
      L[16 * j + ii] = clampInt(nearestInt(F(F((x[xo + 16 * j + ii] as number) + dm) / dj)), 0, 3);
    }
  }
  pack2Bit(out, at + 16, L);
}

/** Q3_K's sub-block j scale (6 bits, stored + 32) from its 12 packed bytes, as a signed value. */
function scaleQ3K(out: Uint8Array, sc: number, j: number): number {
  const low = j < 8 ? (out[sc + j] as number) & 0xf : (out[sc + j - 8] as number) >> 4;
  return (low | ((((out[sc + 8 + (j % 4)] as number) >> (2 * Math.floor(j / 4))) & 3) << 4)) - 32;
}

function quantizeQ3K(x: Float32Array, xo: number, out: Uint8Array, at: number): void {
  // block_q3_K: hmask[32], qs[64], scales[12], float16 d.
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  const hm = at;
  const qs = at + 32;
  const sc = at + 96;
  const dAt = at + 108;
  let maxScale = 0;
  let amax = 0;
  for (let j = 0; j < 16; j++) {
    const s = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j);
    scales[j] = s;
    if (Math.abs(s) > amax) {
      amax = Math.abs(s);
      maxScale = s;
    }
  }
  if (maxScale !== 0) {
    const iscale = F(-32 / maxScale);
    for (let j = 0; j < 16; j++) {
      let l = i8(nearestInt(F(iscale * (scales[j] as number))));
      l = clampInt(l, -32, 31) + 32;
      if (j < 8) out[sc + j] = l & 0xf;
      else out[sc + j - 8] = (out[sc + j - 8] as number) | ((l & 0xf) << 4);
      l >>= 4;
      out[sc + (j % 4) + 8] = (out[sc + (j % 4) + 8] as number) | (l << (2 * Math.floor(j / 4)));
    }
    putF16(out, dAt, F(1 / iscale));
  }
  const d = fromF16(out, dAt);
  for (let j = 0; j < 16; j++) {
    const dj = F(d * scaleQ3K(out, sc, j));
    if (dj === 0) continue;
    for (let ii = 0; ii < 16; ii++) {
      L[16 * j + ii] = clampInt(nearestInt(F((x[xo + 16 * j + ii] as number) / dj)), -4, 3) + 4;
    }
  }
  // The high bit of code j goes to bit j / 32 of hmask byte j % 32.
  for (let j = 0; j < QK_K; j++) {
    if ((L[j] as number) > 3) {
      out[hm + (j % 32)] = (out[hm + (j % 32)] as number) | (1 << Math.floor(j / 32));
      L[j] = (L[j] as number) - 4;
    }
  }
  pack2Bit(out, qs, L);
}

function dequantizeQ2K(b: Uint8Array, at: number, y: Float32Array, yo: number): void {
  const d = fromF16(b, at + 80);
  const min = fromF16(b, at + 82);
  let is = 0;
  for (let n = 0; n < QK_K; n += 128) {
    const q = at + 16 + n / 4;
    for (let shift = 0; shift < 8; shift += 2) {
      for (const half of [0, 16]) {
        const sc = b[at + is++] as number;
        const dl = F(d * (sc & 0xf));
        const ml = F(min * (sc >> 4));
        for (let l = 0; l < 16; l++) y[yo++] = F(F(dl * (((b[q + l + half] as number) >> shift) & 3)) - ml);
      }
    }
  }
}

function dequantizeQ3K(b: Uint8Array, at: number, y: Float32Array, yo: number): void {
  const dAll = fromF16(b, at + 108);
  let is = 0;
  let m = 1;
  for (let n = 0; n < QK_K; n += 128) {
    const q = at + 32 + n / 4;
    for (let shift = 0; shift < 8; shift += 2) {
      for (const half of [0, 16]) {
        const dl = F(dAll * scaleQ3K(b, at + 96, is++));
        for (let l = 0; l < 16; l++) {
          const low = ((b[q + l + half] as number) >> shift) & 3;
          y[yo++] = F(dl * (low - (((b[at + l + half] as number) & m) !== 0 ? 0 : 4)));
        }
      }
      m <<= 1;
    }
  }
}

function dequantizeQ45K(b: Uint8Array, at: number, y: Float32Array, yo: number, high: boolean): void {
  const d = fromF16(b, at);
  const min = fromF16(b, at + 2);
  const ql = at + (high ? 48 : 16);
  let u1 = 1;
  let u2 = 2;
  for (let j = 0, is = 0; j < QK_K; j += 64, is += 2) {
    const [s1, m1] = scaleMinK4(is, b, at + 4);
    const [s2, m2] = scaleMinK4(is + 1, b, at + 4);
    const d1 = F(d * s1);
    const mm1 = F(min * m1);
    const d2 = F(d * s2);
    const mm2 = F(min * m2);
    const q = ql + j / 2;
    const h = (l: number, u: number): number => (high && ((b[at + 16 + l] as number) & u) !== 0 ? 16 : 0);
    for (let l = 0; l < 32; l++) y[yo++] = F(F(d1 * (((b[q + l] as number) & 0xf) + h(l, u1))) - mm1);
    for (let l = 0; l < 32; l++) y[yo++] = F(F(d2 * (((b[q + l] as number) >> 4) + h(l, u2))) - mm2);
    u1 <<= 2;
    u2 <<= 2;
  }
}

function dequantizeQ6K(b: Uint8Array, at: number, y: Float32Array, yo: number): void {
  const d = fromF16(b, at + 208);
  for (let n = 0; n < QK_K; n += 128) {
    const ql = at + n / 2;
    const qh = at + 128 + n / 4;
    const sc = at + 192 + n / 16;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = b[qh + l] as number;
      const lo = b[ql + l] as number;
      const hi = b[ql + l + 32] as number;
      const q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((hi & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
      const s = (k: number): number => i8(b[sc + is + k] as number);
      y[yo + n + l] = F(F(d * s(0)) * q1);
      y[yo + n + l + 32] = F(F(d * s(2)) * q2);
      y[yo + n + l + 64] = F(F(d * s(4)) * q3);
      y[yo + n + l + 96] = F(F(d * s(6)) * q4);
    }
  }
}

/** One K-quant type: bytes per super-block of 256 and its block quantizer and dequantizer. */
export interface KQuantCodec {
  type: KQuantType;
  /** Bits per weight as stored. */
  bitsPerWeight: number;
  blockBytes: number;
  /** Writes the super-block of x[xo … xo + 255] into out[at … at + blockBytes − 1] (zeroed). */
  quantizeBlock(x: Float32Array, xo: number, out: Uint8Array, at: number): void;
  /** Writes the 256 weights of the super-block at b[at …] into y[yo …]. */
  dequantizeBlock(b: Uint8Array, at: number, y: Float32Array, yo: number): void;
}

const codec = (
  type: KQuantType, blockBytes: number, quantizeBlock: KQuantCodec['quantizeBlock'], dequantizeBlock: KQuantCodec['dequantizeBlock'],
): KQuantCodec => ({ type, blockBytes, bitsPerWeight: (blockBytes * 8) / QK_K, quantizeBlock, dequantizeBlock });

/** The K-quant codecs by type: block sizes as ggml-common.h's `block_qN_K`. */
export const KQUANTS: Readonly<Record<KQuantType, KQuantCodec>> = {
  Q2_K: codec('Q2_K', 84, quantizeQ2K, dequantizeQ2K),
  Q3_K: codec('Q3_K', 110, quantizeQ3K, dequantizeQ3K),
  Q4_K: codec('Q4_K', 144, quantizeQ4K, (b, at, y, yo) => dequantizeQ45K(b, at, y, yo, false)),
  Q5_K: codec('Q5_K', 176, quantizeQ5K, (b, at, y, yo) => dequantizeQ45K(b, at, y, yo, true)),
  Q6_K: codec('Q6_K', 210, quantizeQ6K, dequantizeQ6K),
};

/**
 * The super-blocks of `x` (a multiple of 256 weights, any number of rows laid end to end), as
 * llama.cpp's `quantize_row_<type>_ref` writes them. NaN and ±Infinity are refused, naming the
 * first (`start` is x[0]'s flat index in the tensor, for the message).
 *
 * @example
 * const bytes = quantizeK('Q4_K', row); // 144 bytes per 256 weights
 */
export function quantizeK(type: KQuantType, x: Float32Array, start = 0): Uint8Array {
  const c = KQUANTS[type];
  if (x.length % QK_K !== 0) {
    throw new QuantizationError(`${type} quantizes whole super-blocks of ${QK_K} weights; got ${x.length}`, { field: 'shape' });
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i] as number)) {
      throw new QuantizationError(`element ${start + i} is ${String(x[i])}: ${type} needs finite weights`, {
        field: 'input', index: start + i,
      });
    }
  }
  const blocks = x.length / QK_K;
  const out = new Uint8Array(blocks * c.blockBytes);
  for (let b = 0; b < blocks; b++) c.quantizeBlock(x, b * QK_K, out, b * c.blockBytes);
  return out;
}

/**
 * The weights of K-quant super-blocks, as llama.cpp's `dequantize_row_<type>` gives them.
 *
 * @example
 * const approx = dequantizeK('Q4_K', quantizeK('Q4_K', row));
 */
export function dequantizeK(type: KQuantType, bytes: Uint8Array): Float32Array {
  const c = KQUANTS[type];
  if (bytes.length % c.blockBytes !== 0) {
    throw new QuantizationError(`${type} super-blocks are ${c.blockBytes} bytes; got ${bytes.length} bytes`, { field: 'bytes' });
  }
  const blocks = bytes.length / c.blockBytes;
  const y = new Float32Array(blocks * QK_K);
  for (let b = 0; b < blocks; b++) c.dequantizeBlock(bytes, b * c.blockBytes, y, b * QK_K);
  return y;
}
