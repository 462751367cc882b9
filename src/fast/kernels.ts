// The fast CPU engine's loops. Everything lives inside one self-contained factory, with no
// imports and nothing captured from the module, because the same source runs twice: called here
// for the in-thread path, and as text (`fastKernels.toString()`) inside each worker, which needs
// no separate file to load — the same in Node, in a page, in a bundle and from the sources.
//
// Every result equals the reference in src/cpu/ bit for bit: the same float32 operations
// (Math.fround after each one the reference rounds), the same tie rules, the same flat visiting
// order for the "first element wins" statistics. Only the loop structure differs: a layout is cut
// into segments — a run of elements sharing one parameter, or a run whose parameter index steps
// with the element — and each segment is one tight typed-array loop.

/** How a tensor's elements map to parameters; `Layout` from src/layout.ts without its extras. */
export interface KernelLayout {
  /** 0 per tensor, 1 per channel, 2 per group. */
  kind: 0 | 1 | 2;
  outer: number;
  axisLen: number;
  inner: number;
  blockSize: number;
  numBlocks: number;
}

/** The rounding rule of the built-in formats: onnx, pytorch, Q8_0, Q4_0. */
export type CodeRule = 0 | 1 | 2 | 3;

/** Statistics of the parameters lo … lo + min.length − 1, as the min/max calibrator keeps them. */
export interface PartialStats {
  lo: number;
  min: Float32Array;
  max: Float32Array;
  peak: Float32Array;
  peakAbs: Float32Array;
  /** Flat index of the first NaN or ±Infinity of the piece, or −1 (the statistics are then partial). */
  bad: number;
  /** The piece's input, handed back by a worker for reuse. */
  spare?: Float32Array;
}

/** Reconstruction error sums of the channels lo … lo + sumSq.length − 1. */
export interface PartialErrors {
  lo: number;
  sumSq: Float64Array;
  signal: Float64Array;
  maxAbs: Float64Array;
  count: Float64Array;
}

/** The parameters a piece needs: those of indices lo … lo + scales.length − 1. */
export interface PieceParams {
  lo: number;
  /** The scales codes are computed from. */
  scales: Float32Array;
  /** The scales a result stores and dequantization uses (ggml's float16 d; else the same). */
  stored: Float32Array;
  inv: Float32Array;
  zeroPoints: Int32Array;
}

export interface Kernels {
  paramRange(L: KernelLayout, start: number, end: number): [number, number];
  scan(L: KernelLayout, x: Float32Array, start: number): PartialStats;
  codes(
    L: KernelLayout, x: Float32Array, start: number, rule: CodeRule, qmin: number, qmax: number, p: PieceParams,
    out: Int8Array | Uint8Array,
  ): void;
  pack(codes: Int8Array | Uint8Array, bits: 4 | 8, words: Uint32Array): void;
  dequantize(L: KernelLayout, codes: Int8Array | Uint8Array, start: number, p: PieceParams, out: Float32Array): void;
  errors(
    L: KernelLayout, M: KernelLayout, x: Float32Array, codes: Int8Array | Uint8Array, start: number, p: PieceParams,
    scratch: Float32Array,
  ): PartialErrors;
}

export function fastKernels(): Kernels {
  type Run = (p: number, a: number, b: number) => void;

  // Calls `run(p, a, b)` for each run [a, b) of flat indices in [start, end) that share parameter p,
  // and `step(p, a, b)` for each run whose element a + j has parameter p + j; in flat order.
  function segments(L: KernelLayout, start: number, end: number, run: Run, step: Run): void {
    const { kind, axisLen, inner, blockSize, numBlocks } = L;
    if (kind === 0) {
      if (end > start) run(0, start, end);
      return;
    }
    if (inner === 1) {
      // Channels or blocks along the last axis: a line of axisLen elements per outer index.
      let i = start;
      while (i < end) {
        const o = Math.floor(i / axisLen);
        const k0 = i - o * axisLen;
        const stop = Math.min(end, (o + 1) * axisLen);
        if (kind === 1) {
          step(k0, i, stop);
        } else {
          let k = k0;
          while (i < stop) {
            const blk = Math.floor(k / blockSize);
            const to = Math.min(stop, i + (blk + 1) * blockSize - k);
            run(o * numBlocks + blk, i, to);
            k += to - i;
            i = to;
          }
        }
        i = stop;
      }
      return;
    }
    let i = start;
    while (i < end) {
      const row = Math.floor(i / inner);
      const n = i - row * inner;
      const stop = Math.min(end, (row + 1) * inner);
      const o = Math.floor(row / axisLen);
      const k = row - o * axisLen;
      if (kind === 1) run(k, i, stop);
      else step((o * numBlocks + Math.floor(k / blockSize)) * inner + n, i, stop);
      i = stop;
    }
  }

  // The parameter indices [lo, hi) a piece [start, end) touches (a superset for some layouts).
  function paramRange(L: KernelLayout, start: number, end: number): [number, number] {
    if (end <= start) return [0, 0];
    const { kind, axisLen, inner, blockSize, numBlocks } = L;
    if (kind === 0) return [0, 1];
    const rowA = Math.floor(start / inner);
    const rowB = Math.floor((end - 1) / inner);
    const oA = Math.floor(rowA / axisLen);
    const oB = Math.floor(rowB / axisLen);
    if (kind === 1) return oA === oB ? [rowA - oA * axisLen, rowB - oB * axisLen + 1] : [0, axisLen];
    const base = (row: number, o: number) => (o * numBlocks + Math.floor((row - o * axisLen) / blockSize)) * inner;
    return [base(rowA, oA), base(rowB, oB) + inner];
  }

  function scan(L: KernelLayout, x: Float32Array, start: number): PartialStats {
    const [lo, hi] = paramRange(L, start, start + x.length);
    const n = hi - lo;
    const min = new Float32Array(n).fill(Infinity);
    const max = new Float32Array(n).fill(-Infinity);
    const peak = new Float32Array(n);
    const peakAbs = new Float32Array(n);
    let bad = -1;
    // Finite values only reach the statistics: the first NaN or ±Infinity ends the scan.
    const firstBad = (a: number, b: number): number => {
      for (let i = a; i < b; i++) if ((x[i] as number) - (x[i] as number) !== 0) return start + i;
      return -1;
    };
    // A run's loop keeps only its minimum and maximum; its peak (the first element of largest
    // magnitude) follows from them, with a second look only when -min = max. The run's values
    // then fold into the totals as the reference folds each element: a later one wins only when
    // strictly beyond.
    const run: Run = (p, a, b) => {
      if (bad >= 0) return;
      const e = b - start;
      const i0 = a - start;
      let mn = Infinity;
      let mx = -Infinity;
      let i = i0;
      for (; i < e; i++) {
        const v = x[i] as number;
        if (v !== v) break;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      if (i < e || mn === -Infinity || mx === Infinity) {
        bad = firstBad(i0, e);
        return;
      }
      const q = p - lo;
      if (mn < (min[q] as number)) min[q] = mn;
      if (mx > (max[q] as number)) max[q] = mx;
      const pa = -mn > mx ? -mn : mx;
      if (!((peakAbs[q] as number) < pa)) return;
      let pk = -mn > mx ? mn : mx;
      if (-mn === mx) {
        for (let j = i0; j < e; j++) {
          const v = x[j] as number;
          if (v === mn || v === mx) {
            pk = v;
            break;
          }
        }
      }
      peakAbs[q] = pa;
      peak[q] = pk;
    };
    const step: Run = (p, a, b) => {
      if (bad >= 0) return;
      const off = p - lo - (a - start);
      for (let i = a - start, e = b - start; i < e; i++) {
        const v = x[i] as number;
        if (v - v !== 0) {
          bad = start + i;
          return;
        }
        const q = off + i;
        if (v < (min[q] as number)) min[q] = v;
        if (v > (max[q] as number)) max[q] = v;
        const m = v < 0 ? -v : v;
        if ((peakAbs[q] as number) < m) {
          peakAbs[q] = m;
          peak[q] = v;
        }
      }
    };
    segments(L, start, start + x.length, run, step);
    return { lo, min, max, peak, peakAbs, bad };
  }

  const fround = Math.fround;

  // One element's code under each rule, small enough to be inlined into its loop. Under onnx and
  // pytorch the rounded value is a float32, so a half (the only case that needs `& 1`) lies
  // below 2^23 and fits an int32.
  function onnxCode(v: number, s: number, zp: number, qmin: number, qmax: number): number {
    const t = fround(v / s);
    let r = Math.round(t);
    if (r - t === 0.5 && (r & 1) !== 0) r -= 1;
    r += zp;
    return r < qmin ? qmin : r > qmax ? qmax : r;
  }
  function pytorchCode(v: number, inv: number, zp: number, qmin: number, qmax: number): number {
    const t = fround(v * inv);
    let r = Math.round(t);
    if (r - t === 0.5 && (r & 1) !== 0) r -= 1;
    r += zp;
    return r < qmin ? qmin : r > qmax ? qmax : r;
  }
  // ggml's codes for an id = 1/d that did not overflow (a block whose id did gets Q8_0 code 0 or
  // Q4_0 nibble 0, code -8, as llama.cpp writes on x86).
  function q8Code(v: number, inv: number): number {
    const t = fround(v * inv);
    const r = t < 0 ? -Math.floor(-t + 0.5) : Math.floor(t + 0.5);
    return r < -128 ? -128 : r > 127 ? 127 : r;
  }
  function q4Code(v: number, inv: number): number {
    const r = Math.trunc(fround(fround(v * inv) + 8.5));
    return (r < 0 ? 0 : r > 15 ? 15 : r) - 8;
  }
  const overflowed = (inv: number): boolean => inv === Infinity || inv === -Infinity;

  function code(rule: CodeRule, v: number, s: number, inv: number, zp: number, qmin: number, qmax: number): number {
    if (rule === 0) return onnxCode(v, s, zp, qmin, qmax);
    if (rule === 1) return pytorchCode(v, inv, zp, qmin, qmax);
    if (overflowed(inv)) return rule === 2 ? 0 : -8;
    return rule === 2 ? q8Code(v, inv) : q4Code(v, inv);
  }

  function codes(
    L: KernelLayout, x: Float32Array, start: number, rule: CodeRule, qmin: number, qmax: number, p: PieceParams,
    out: Int8Array | Uint8Array,
  ): void {
    const { lo, scales, inv, zeroPoints } = p;
    // A loop per rule, so that the rule's test and the parameters leave the element loop.
    const run: Run = (pi, a, b) => {
      const q = pi - lo;
      const s = scales[q] as number;
      const iv = inv[q] as number;
      const zp = zeroPoints[q] as number;
      const e = b - start;
      let i = a - start;
      if (rule === 0) for (; i < e; i++) out[i] = onnxCode(x[i] as number, s, zp, qmin, qmax);
      else if (rule === 1) for (; i < e; i++) out[i] = pytorchCode(x[i] as number, iv, zp, qmin, qmax);
      else if (overflowed(iv)) out.fill(rule === 2 ? 0 : -8, i, e);
      else if (rule === 2) for (; i < e; i++) out[i] = q8Code(x[i] as number, iv);
      else for (; i < e; i++) out[i] = q4Code(x[i] as number, iv);
    };
    const step: Run = (pi, a, b) => {
      const off = pi - lo - (a - start);
      for (let i = a - start, e = b - start; i < e; i++) {
        const q = off + i;
        out[i] = code(rule, x[i] as number, scales[q] as number, inv[q] as number, zeroPoints[q] as number, qmin, qmax);
      }
    };
    segments(L, start, start + x.length, run, step);
  }

  function pack(c: Int8Array | Uint8Array, bits: 4 | 8, words: Uint32Array): void {
    const n = c.length;
    const whole = n >> (bits === 8 ? 2 : 3);
    if (bits === 8) {
      for (let w = 0, i = 0; w < whole; w++, i += 4) {
        words[w] = ((c[i] as number) & 0xff | ((c[i + 1] as number) & 0xff) << 8 | ((c[i + 2] as number) & 0xff) << 16 |
          ((c[i + 3] as number) & 0xff) << 24) >>> 0;
      }
    } else {
      for (let w = 0, i = 0; w < whole; w++, i += 8) {
        let word = 0;
        for (let j = 7; j >= 0; j--) word = (word << 4) | ((c[i + j] as number) & 0xf);
        words[w] = word >>> 0;
      }
    }
    const per = 32 / bits;
    if (whole * per < n) {
      let word = 0;
      for (let i = n - 1; i >= whole * per; i--) word = (word << bits) | ((c[i] as number) & ((1 << bits) - 1));
      words[whole] = word >>> 0;
    }
  }

  function dequantize(L: KernelLayout, c: Int8Array | Uint8Array, start: number, p: PieceParams, out: Float32Array): void {
    const { lo, stored: scales, zeroPoints } = p;
    const run: Run = (pi, a, b) => {
      const s = scales[pi - lo] as number;
      const zp = zeroPoints[pi - lo] as number;
      for (let i = a - start, e = b - start; i < e; i++) out[i] = fround(s * ((c[i] as number) - zp));
    };
    const step: Run = (pi, a, b) => {
      const off = pi - lo - (a - start);
      for (let i = a - start, e = b - start; i < e; i++) {
        out[i] = fround((scales[off + i] as number) * ((c[i] as number) - (zeroPoints[off + i] as number)));
      }
    };
    segments(L, start, start + c.length, run, step);
  }

  // M is the per-channel layout of the metrics; L the quantization's, for the reconstruction.
  function errors(
    L: KernelLayout, M: KernelLayout, x: Float32Array, c: Int8Array | Uint8Array, start: number, p: PieceParams,
    scratch: Float32Array,
  ): PartialErrors {
    const y = scratch.subarray(0, x.length);
    dequantize(L, c, start, p, y);
    const [lo, hi] = paramRange(M, start, start + x.length);
    const n = hi - lo;
    const sumSq = new Float64Array(n);
    const signal = new Float64Array(n);
    const maxAbs = new Float64Array(n);
    const count = new Float64Array(n);
    const run: Run = (ch, a, b) => {
      const q = ch - lo;
      let ss = 0;
      let sg = 0;
      let mx = maxAbs[q] as number;
      for (let i = a - start, e = b - start; i < e; i++) {
        const xi = x[i] as number;
        const d = xi - (y[i] as number);
        ss += d * d;
        sg += xi * xi;
        const m = d < 0 ? -d : d;
        if (m > mx) mx = m;
      }
      sumSq[q] = (sumSq[q] as number) + ss;
      signal[q] = (signal[q] as number) + sg;
      maxAbs[q] = mx;
      count[q] = (count[q] as number) + (b - a);
    };
    const step: Run = (ch, a, b) => {
      const off = ch - lo - (a - start);
      for (let i = a - start, e = b - start; i < e; i++) {
        const q = off + i;
        const xi = x[i] as number;
        const d = xi - (y[i] as number);
        sumSq[q] = (sumSq[q] as number) + d * d;
        signal[q] = (signal[q] as number) + xi * xi;
        count[q] = (count[q] as number) + 1;
        const m = d < 0 ? -d : d;
        if (m > (maxAbs[q] as number)) maxAbs[q] = m;
      }
    };
    segments(M, start, start + x.length, run, step);
    return { lo, sumSq, signal, maxAbs, count };
  }

  return { paramRange, scan, codes, pack, dequantize, errors };
}
