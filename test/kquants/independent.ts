// A second implementation of ggml's Q4_K, Q5_K and Q6_K reference quantizers, written apart from
// src/ from ggml-quants.c's published behaviour: each float32 result goes through a Float32Array
// store (not Math.fround), ggml's nearest_int reads the float's bits through a DataView, float16 is
// converted by ggml's own fp32_to_fp16 bit trick (Maratos'), and each block is written through a
// struct-like DataView at ggml-common.h's offsets. Only the tests use it.
const reg = new Float32Array(1);
const r = (v: number): number => {
  reg[0] = v;
  return reg[0] as number;
};
const add = (a: number, b: number) => r(a + b);
const sub = (a: number, b: number) => r(a - b);
const mul = (a: number, b: number) => r(a * b);
const div = (a: number, b: number) => r(a / b);

const bits = new DataView(new ArrayBuffer(4));
function nearestInt(f: number): number {
  bits.setFloat32(0, add(f, 12582912), true);
  return (bits.getInt32(0, true) & 0x007fffff) - 0x00400000;
}
const asF = (u: number) => {
  bits.setUint32(0, u >>> 0, true);
  return bits.getFloat32(0, true);
};
const asU = (f: number) => {
  bits.setFloat32(0, f, true);
  return bits.getUint32(0, true);
};

/** ggml's portable fp32_to_fp16 (ggml-impl.h), which rounds to nearest even through float arithmetic. */
function fp32ToFp16(f: number): number {
  const scaleToInf = asF(0x77800000);
  const scaleToZero = asF(0x08800000);
  let base = mul(mul(Math.abs(r(f)), scaleToInf), scaleToZero);
  const w = asU(f);
  const shl1 = (w << 1) >>> 0;
  const sign = (w & 0x80000000) >>> 0;
  let bias = (shl1 & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  base = add(asF(((bias >>> 1) + 0x07800000) >>> 0), base);
  const b = asU(base);
  const expBits = (b >>> 13) & 0x00007c00;
  const mantBits = b & 0x00000fff;
  const nonsign = expBits + mantBits;
  return ((sign >>> 16) | (shl1 > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}
function fp16ToFp32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
}

function qkx2(n: number, nmax: number, x: Float32Array, w: Float32Array, L: Uint8Array, rmin: number, rdelta: number, nstep: number): { scale: number; theMin: number } {
  let mn = (x[0] as number), mx = (x[0] as number), sumW = (w[0] as number), sumX = mul((w[0] as number), (x[0] as number));
  for (let i = 1; i < n; ++i) {
    if ((x[i] as number) < mn) mn = (x[i] as number);
    if ((x[i] as number) > mx) mx = (x[i] as number);
    sumW = add(sumW, (w[i] as number));
    sumX = add(sumX, mul((w[i] as number), (x[i] as number)));
  }
  if (mn > 0) mn = 0;
  if (mx === mn) {
    L.fill(0);
    return { scale: 0, theMin: -mn };
  }
  let iscale = div(nmax, sub(mx, mn));
  let scale = div(1, iscale);
  let best = 0;
  const q = (v: number) => Math.max(0, Math.min(nmax, nearestInt(v)));
  for (let i = 0; i < n; ++i) {
    L[i] = q(mul(iscale, sub((x[i] as number), mn)));
    const d = sub(add(mul(scale, (L[i] as number)), mn), (x[i] as number));
    best = add(best, mul((w[i] as number), mul(d, d)));
  }
  const aux = new Uint8Array(n);
  for (let is = 0; is <= nstep; ++is) {
    iscale = div(add(add(rmin, mul(rdelta, is)), nmax), sub(mx, mn));
    let sl = 0, sl2 = 0, sxl = 0;
    for (let i = 0; i < n; ++i) {
      const l = q(mul(iscale, sub((x[i] as number), mn)));
      aux[i] = l;
      sl = add(sl, mul((w[i] as number), l));
      sl2 = add(sl2, mul(mul((w[i] as number), l), l));
      sxl = add(sxl, mul(mul((w[i] as number), l), (x[i] as number)));
    }
    const D = sub(mul(sumW, sl2), mul(sl, sl));
    if (!(D > 0)) continue;
    let ts = div(sub(mul(sumW, sxl), mul(sumX, sl)), D);
    let tm = div(sub(mul(sl2, sumX), mul(sl, sxl)), D);
    if (tm > 0) {
      tm = 0;
      ts = div(sxl, sl2);
    }
    let err = 0;
    for (let i = 0; i < n; ++i) {
      const d = sub(add(mul(ts, (aux[i] as number)), tm), (x[i] as number));
      err = add(err, mul((w[i] as number), mul(d, d)));
    }
    if (err < best) {
      L.set(aux);
      best = err;
      scale = ts;
      mn = tm;
    }
  }
  return { scale, theMin: -mn };
}

function q45Block(x: Float32Array, nmax: number, rmin: number, nstep: number, blk: DataView, L: Uint8Array): void {
  const scales: number[] = [], mins: number[] = [];
  let maxScale = 0, maxMin = 0;
  for (let j = 0; j < 8; ++j) {
    const xs = x.subarray(32 * j, 32 * j + 32);
    let s2 = 0;
    for (let l = 0; l < 32; ++l) s2 = add(s2, mul((xs[l] as number), (xs[l] as number)));
    const av = r(Math.sqrt(div(s2, 32)));
    const w = new Float32Array(32).map((_, l) => add(av, Math.abs((xs[l] as number))));
    const { scale, theMin } = qkx2(32, nmax, xs, w, L.subarray(32 * j, 32 * j + 32), rmin, r(0.1), nstep);
    scales.push(scale);
    mins.push(theMin);
    if (scale > maxScale) maxScale = scale;
    if (theMin > maxMin) maxMin = theMin;
  }
  const invS = maxScale > 0 ? div(63, maxScale) : 0;
  const invM = maxMin > 0 ? div(63, maxMin) : 0;
  const sc = new Uint8Array(12);
  for (let j = 0; j < 8; ++j) {
    const ls = Math.min(63, nearestInt(mul(invS, (scales[j] as number))) & 255);
    const lm = Math.min(63, nearestInt(mul(invM, (mins[j] as number))) & 255);
    if (j < 4) {
      sc[j] = ls;
      sc[j + 4] = lm;
    } else {
      sc[j + 4] = (ls & 15) | ((lm & 15) << 4);
      sc[j - 4] = (sc[j - 4] as number) | ((ls >> 4) << 6);
      sc[j] = (sc[j] as number) | ((lm >> 4) << 6);
    }
  }
  blk.setUint16(0, fp32ToFp16(div(maxScale, 63)), true);
  blk.setUint16(2, fp32ToFp16(div(maxMin, 63)), true);
  for (let k = 0; k < 12; k++) blk.setUint8(4 + k, (sc[k] as number));
  const d = fp16ToFp32(blk.getUint16(0, true));
  const dmin = fp16ToFp32(blk.getUint16(2, true));
  for (let j = 0; j < 8; ++j) {
    const s = j < 4 ? (sc[j] as number) & 63 : ((sc[j + 4] as number) & 15) | (((sc[j - 4] as number) >> 6) << 4);
    const m = j < 4 ? (sc[j + 4] as number) & 63 : ((sc[j + 4] as number) >> 4) | (((sc[j] as number) >> 6) << 4);
    const dd = mul(d, s);
    if (dd === 0) continue;
    const dm = mul(dmin, m);
    for (let i = 0; i < 32; ++i) L[32 * j + i] = Math.max(0, Math.min(nmax, nearestInt(div(add((x[32 * j + i] as number), dm), dd))));
  }
}

function q4K(x: Float32Array, blk: DataView): void {
  const L = new Uint8Array(256);
  q45Block(x, 15, -1, 20, blk, L);
  for (let j = 0; j < 256; j += 64) for (let l = 0; l < 32; ++l) blk.setUint8(16 + j / 2 + l, (L[j + l] as number) | ((L[j + l + 32] as number) << 4));
}

function q5K(x: Float32Array, blk: DataView): void {
  const L = new Uint8Array(256);
  q45Block(x, 31, r(-0.5), 15, blk, L);
  for (let n = 0, m1 = 1, m2 = 2; n < 256; n += 64, m1 <<= 2, m2 <<= 2) {
    for (let j = 0; j < 32; ++j) {
      const a = (L[n + j] as number), b = (L[n + j + 32] as number);
      blk.setUint8(16 + j, blk.getUint8(16 + j) | (a > 15 ? m1 : 0) | (b > 15 ? m2 : 0));
      blk.setUint8(48 + n / 2 + j, (a & 15) | ((b & 15) << 4));
    }
  }
}

function qx(x: Float32Array, L: Int8Array): number {
  const nmax = 32;
  let max = 0, amax = 0;
  for (let i = 0; i < 16; ++i) if (Math.abs((x[i] as number)) > amax) { amax = Math.abs((x[i] as number)); max = (x[i] as number); }
  if (amax < r(1e-15)) { L.fill(0); return 0; }
  const fit = (iscale: number) => {
    let slx = 0, sl2 = 0;
    const ls = Array.from(x, (v) => Math.max(-nmax, Math.min(nmax - 1, nearestInt(mul(iscale, v)))));
    ls.forEach((l, i) => {
      const w = mul((x[i] as number), (x[i] as number));
      slx = add(slx, mul(mul(w, (x[i] as number)), l));
      sl2 = add(sl2, mul(mul(w, l), l));
    });
    return { ls, slx, sl2 };
  };
  let f = fit(div(-nmax, max));
  f.ls.forEach((l, i) => (L[i] = l + nmax));
  let scale = f.sl2 ? div(f.slx, f.sl2) : 0;
  let best = mul(scale, f.slx);
  for (let is = -9; is <= 9; ++is) {
    if (is === 0) continue;
    f = fit(div(-add(nmax, mul(r(0.1), is)), max));
    if (f.sl2 > 0 && mul(f.slx, f.slx) > mul(best, f.sl2)) {
      f.ls.forEach((l, i) => (L[i] = l + nmax));
      scale = div(f.slx, f.sl2);
      best = mul(scale, f.slx);
    }
  }
  return scale;
}

function q6K(x: Float32Array, blk: DataView): void {
  const L = new Int8Array(256);
  const scales: number[] = [];
  let maxScale = 0, maxAbs = 0;
  for (let ib = 0; ib < 16; ++ib) {
    const s = qx(x.subarray(16 * ib, 16 * ib + 16), L.subarray(16 * ib, 16 * ib + 16));
    scales.push(s);
    if (Math.abs(s) > maxAbs) { maxAbs = Math.abs(s); maxScale = s; }
  }
  if (maxAbs < r(1e-15)) return;
  const iscale = div(-128, maxScale);
  blk.setUint16(208, fp32ToFp16(div(1, iscale)), true);
  const d = fp16ToFp32(blk.getUint16(208, true));
  for (let ib = 0; ib < 16; ++ib) blk.setInt8(192 + ib, (Math.min(127, nearestInt(mul(iscale, (scales[ib] as number)))) << 24) >> 24);
  for (let j = 0; j < 16; ++j) {
    const dd = mul(d, blk.getInt8(192 + j));
    if (dd === 0) continue;
    for (let i = 0; i < 16; ++i) L[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(div((x[16 * j + i] as number), dd)))) + 32;
  }
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; ++l) {
      const [a, b, c, e] = [(L[j + l] as number), (L[j + l + 32] as number), (L[j + l + 64] as number), (L[j + l + 96] as number)];
      blk.setUint8(j / 2 + l, (a & 15) | ((c & 15) << 4));
      blk.setUint8(j / 2 + l + 32, (b & 15) | ((e & 15) << 4));
      blk.setUint8(128 + j / 4 + l, (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
    }
  }
}

const TYPES = { Q4_K: [144, q4K], Q5_K: [176, q5K], Q6_K: [210, q6K] } as const;

/** The super-blocks of `x` (a multiple of 256 finite floats) in `type`. */
export function independentK(type: keyof typeof TYPES, x: Float32Array): Uint8Array {
  const [size, block] = TYPES[type];
  const out = new Uint8Array((x.length / 256) * size);
  for (let b = 0; b < x.length / 256; b++) block(x.subarray(256 * b, 256 * b + 256), new DataView(out.buffer, b * size, size));
  return out;
}
