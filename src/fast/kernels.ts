// The fast CPU engine's loops. Everything lives inside one self-contained factory, with no
// imports and nothing captured from the module, because the same source runs twice: called here
// for the in-thread path, and as text (`fastKernels.toString()`) inside each worker, which needs
// no separate file to load — the same in Node, in a page, in a bundle and from the sources.
//
// Every result equals the reference in src/cpu/ bit for bit: the same float32 operations
// (Math.fround after each one the reference rounds), the same tie rules, the same flat visiting
// order for the "first element wins" statistics. Only the loop structure differs: a layout is cut
// into segments — a run of elements sharing one parameter, or a run whose parameter index steps
// with the element — and each segment is one tight typed-array loop. Where the platform has
// WebAssembly SIMD, the runs' statistics and codes come from src/fast/simd.wat instead (its bytes
// are the factory's argument), four lanes at a time, by the same operations.

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

/** The exports of src/fast/simd.wat. */
interface SimdExports {
  memory: WebAssembly.Memory;
  scan(x: number, segs: number, count: number, out: number): void;
  codesDiv(x: number, o: number, segs: number, count: number, scales: number, zps: number, qmin: number, qmax: number): void;
  codesMul(x: number, o: number, segs: number, count: number, inv: number, zps: number, qmin: number, qmax: number): void;
  codesQ8(x: number, o: number, segs: number, count: number, inv: number): void;
  codesQ4(x: number, o: number, segs: number, count: number, inv: number): void;
}

export interface Kernels {
  /** Whether this platform stores typed arrays little-endian (a word's four bytes, element 0 lowest). */
  littleEndian: boolean;
  /** Whether the WebAssembly SIMD loops run here (`simd` below then picks them, per call). */
  simd: boolean;
  paramRange(L: KernelLayout, start: number, end: number): [number, number];
  scan(L: KernelLayout, x: Float32Array, start: number, simd: boolean): PartialStats;
  codes(
    L: KernelLayout, x: Float32Array, start: number, rule: CodeRule, qmin: number, qmax: number, p: PieceParams,
    out: Int8Array | Uint8Array, simd: boolean,
  ): void;
  pack(codes: Int8Array | Uint8Array, bits: 4 | 8, words: Uint32Array): void;
  dequantize(L: KernelLayout, codes: Int8Array | Uint8Array, start: number, p: PieceParams, out: Float32Array): void;
  errors(
    L: KernelLayout, M: KernelLayout, x: Float32Array, codes: Int8Array | Uint8Array, start: number, p: PieceParams,
    scratch: Float32Array,
  ): PartialErrors;
}

/** The kernels; `simdModule`, src/fast/simd.wat's bytes in base64, where SIMD may be used. */
export function fastKernels(simdModule?: string): Kernels {
  const fround = Math.fround;
  // 1.5 · 2^52: for a double |t| < 2^51, (t + RNE) − RNE is t rounded to the nearest integer, ties
  // to even, by the FPU's own rounding — the reference's roundHalfEven without Math.round's
  // data-dependent branch. A larger |t| comes back within 2 of itself, still far outside every
  // code range, so the clamp that follows gives the reference's code; NaN stays NaN.
  const RNE = 6755399441055744;
  const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

  // A piece is cut into segments, in flat order: a run of elements sharing one parameter
  // (segStep 0), or a run whose element a + j has parameter p + j (segStep 1). Each loop below
  // walks a batch of at most SEGMENTS of them, BATCH elements at most, with one tight loop per
  // segment: the table stays small whatever the layout, and its offsets (from the batch's first
  // element) and parameter indices (from the piece's first, lo) are small integers.
  const SEGMENTS = 1024;
  const BATCH = 1 << 30;
  const segStep = new Uint8Array(SEGMENTS);
  const segP = new Int32Array(SEGMENTS);
  const segA = new Int32Array(SEGMENTS);
  const segB = new Int32Array(SEGMENTS);
  let segCount = 0;

  // The SIMD module, where the platform validates it (SIMD and bulk memory), and its memory: the
  // segment table (four i32 per segment), the runs' minimum and maximum (two f32), then per call
  // the parameters, the input and the codes. Views are remade when the memory grows.
  const wasm = instantiate(simdModule);
  const TABLE = 0;
  const RUNS = SEGMENTS * 16;
  const HEAP = RUNS + SEGMENTS * 8;
  let f32 = new Float32Array(0);
  let i32 = new Int32Array(0);
  let u8 = new Uint8Array(0);

  function instantiate(base64: string | undefined): SimdExports | undefined {
    if (base64 === undefined || typeof WebAssembly === 'undefined') return undefined;
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    if (!WebAssembly.validate(bytes)) return undefined;
    return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as SimdExports;
  }

  function reserve(w: SimdExports, bytes: number): void {
    const { memory } = w;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    if (f32.buffer !== memory.buffer) {
      f32 = new Float32Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
      u8 = new Uint8Array(memory.buffer);
    }
  }

  // The table, as the SIMD loops read it.
  function writeTable(): void {
    for (let s = 0, w = TABLE >> 2; s < segCount; s++, w += 4) {
      i32[w] = segStep[s] as number;
      i32[w + 1] = segP[s] as number;
      i32[w + 2] = segA[s] as number;
      i32[w + 3] = segB[s] as number;
    }
  }

  function add(step: number, p: number, a: number, b: number): void {
    segStep[segCount] = step;
    segP[segCount] = p;
    segA[segCount] = a;
    segB[segCount] = b;
    segCount++;
  }

  // Fills the table with the segments from flat index `from` on, up to `end` or until the batch
  // is full; returns the flat index reached.
  function cut(L: KernelLayout, lo: number, from: number, end: number): number {
    const { kind, axisLen, inner, blockSize, numBlocks } = L;
    const last = Math.min(end, from + BATCH);
    segCount = 0;
    if (kind === 0) {
      if (last > from) add(0, -lo, 0, last - from);
      return last;
    }
    let i = from;
    if (inner === 1) {
      // Channels or blocks along the last axis: a line of axisLen elements per outer index.
      while (i < last && segCount < SEGMENTS) {
        const o = Math.floor(i / axisLen);
        const k = i - o * axisLen;
        const stop = Math.min(last, (o + 1) * axisLen);
        if (kind === 1) {
          add(1, k - lo, i - from, stop - from);
          i = stop;
          continue;
        }
        // The line's blocks, the first perhaps entered part way.
        const blk = Math.floor(k / blockSize);
        let to = Math.min(stop, i + (blk + 1) * blockSize - k);
        for (let p = o * numBlocks + blk - lo; i < stop && segCount < SEGMENTS; p++) {
          add(0, p, i - from, to - from);
          i = to;
          to = Math.min(stop, to + blockSize);
        }
      }
      return i;
    }
    while (i < last && segCount < SEGMENTS) {
      const row = Math.floor(i / inner);
      const n = i - row * inner;
      const stop = Math.min(last, (row + 1) * inner);
      const o = Math.floor(row / axisLen);
      const k = row - o * axisLen;
      if (kind === 1) add(0, k - lo, i - from, stop - from);
      else add(1, (o * numBlocks + Math.floor(k / blockSize)) * inner + n - lo, i - from, stop - from);
      i = stop;
    }
    return i;
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

  function scan(L: KernelLayout, x: Float32Array, start: number, simd: boolean): PartialStats {
    const end = start + x.length;
    const [lo, hi] = paramRange(L, start, end);
    const n = hi - lo;
    const min = new Float32Array(n).fill(Infinity);
    const max = new Float32Array(n).fill(-Infinity);
    const peak = new Float32Array(n);
    const peakAbs = new Float32Array(n);
    const w = simd ? wasm : undefined;
    if (w) {
      reserve(w, HEAP + 4 * x.length);
      f32.set(x, HEAP >> 2);
    }
    for (let at = start; at < end;) {
      const next = cut(L, lo, at, end);
      let runs: Float32Array | undefined;
      if (w) {
        writeTable();
        w.scan(HEAP + 4 * (at - start), TABLE, segCount, RUNS);
        runs = f32.subarray(RUNS >> 2);
      }
      const bad = scanSegments(x.subarray(at - start), min, max, peak, peakAbs, runs);
      if (bad >= 0) return { lo, min, max, peak, peakAbs, bad: at + bad };
      at = next;
    }
    return { lo, min, max, peak, peakAbs, bad: -1 };
  }

  // Folds the table's segments into the statistics; returns the offset of the first NaN or
  // ±Infinity (the statistics are then partial), or −1. Finite values only reach the statistics.
  // `runs` holds the SIMD loop's minimum and maximum of each run, when it ran.
  function scanSegments(
    x: Float32Array, min: Float32Array, max: Float32Array, peak: Float32Array, peakAbs: Float32Array,
    runs: Float32Array | undefined,
  ): number {
    for (let s = 0; s < segCount; s++) {
      const a = segA[s] as number;
      const e = segB[s] as number;
      const p = segP[s] as number;
      if (segStep[s] === 1) {
        for (let i = a, q = p; i < e; i++, q++) {
          const v = x[i] as number;
          if (v - v !== 0) return i;
          if (v < (min[q] as number)) min[q] = v;
          if (v > (max[q] as number)) max[q] = v;
          const m = v < 0 ? -v : v;
          if ((peakAbs[q] as number) < m) {
            peakAbs[q] = m;
            peak[q] = v;
          }
        }
        continue;
      }
      // A run's loop keeps only its minimum and maximum; its peak (the first element of largest
      // magnitude) follows from them, with a second look only when -min = max. The run's values
      // then fold into the totals as the reference folds each element: a later one wins only
      // when strictly beyond. The SIMD loop's pair is taken when finite and nonzero: a NaN or an
      // infinity is looked for here, and a zero's sign is the first zero's, in flat order.
      let mn = runs ? runs[2 * s] as number : 0;
      let mx = runs ? runs[2 * s + 1] as number : 0;
      if (mn - mn !== 0 || mx - mx !== 0 || mn === 0 || mx === 0) {
        mn = Infinity;
        mx = -Infinity;
        let i = a;
        for (; i < e; i++) {
          const v = x[i] as number;
          if (v !== v) break;
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        if (i < e || mn === -Infinity || mx === Infinity) {
          for (let j = a; j < e; j++) if ((x[j] as number) - (x[j] as number) !== 0) return j;
        }
      }
      if (mn < (min[p] as number)) min[p] = mn;
      if (mx > (max[p] as number)) max[p] = mx;
      const pa = -mn > mx ? -mn : mx;
      if (!((peakAbs[p] as number) < pa)) continue;
      let pk = -mn > mx ? mn : mx;
      if (-mn === mx) {
        for (let j = a; j < e; j++) {
          const v = x[j] as number;
          if (v === mn || v === mx) {
            pk = v;
            break;
          }
        }
      }
      peakAbs[p] = pa;
      peak[p] = pk;
    }
    return -1;
  }

  // ggml's blocks whose id = 1/d overflowed get Q8_0 code 0 or Q4_0 nibble 0 (code −8), as
  // llama.cpp writes them on x86.
  const overflowed = (inv: number): boolean => inv === Infinity || inv === -Infinity;

  function codes(
    L: KernelLayout, x: Float32Array, start: number, rule: CodeRule, qmin: number, qmax: number, p: PieceParams,
    out: Int8Array | Uint8Array, simd: boolean,
  ): void {
    // Codes are stored through a byte view: a signed code and its two's-complement byte are the
    // same bits, and every loop writes one array type.
    const o = out instanceof Uint8Array ? out : new Uint8Array(out.buffer, out.byteOffset, out.length);
    if (simd && wasm) {
      simdCodes(wasm, L, x, start, rule, qmin, qmax, p, o);
      return;
    }
    const end = start + x.length;
    for (let at = start; at < end;) {
      const next = cut(L, p.lo, at, end);
      segmentCodes(rule, x.subarray(at - start), o.subarray(at - start), p, qmin, qmax, false);
      at = next;
    }
  }

  function segmentCodes(
    rule: CodeRule, x: Float32Array, o: Uint8Array, p: PieceParams, qmin: number, qmax: number, runsDone: boolean,
  ): void {
    if (rule === 0) onnxSegments(x, o, p, qmin, qmax, runsDone);
    else if (rule === 1) pytorchSegments(x, o, p, qmin, qmax, runsDone);
    else if (rule === 2) q8Segments(x, o, p, runsDone);
    else q4Segments(x, o, p, runsDone);
  }

  // The runs' codes from the SIMD loops, the stepping segments' from the JavaScript ones, both
  // into the module's memory; then copied out at once.
  function simdCodes(
    w: SimdExports, L: KernelLayout, x: Float32Array, start: number, rule: CodeRule, qmin: number, qmax: number,
    p: PieceParams, o: Uint8Array,
  ): void {
    const n = p.scales.length;
    const X = HEAP + Math.ceil((8 * n) / 16) * 16;
    const O = X + 4 * x.length;
    reserve(w, O + x.length);
    f32.set(rule === 0 ? p.scales : p.inv, HEAP >> 2);
    i32.set(p.zeroPoints, (HEAP >> 2) + n);
    f32.set(x, X >> 2);
    const codeBytes = u8.subarray(O, O + x.length);
    const end = start + x.length;
    for (let at = start; at < end;) {
      const next = cut(L, p.lo, at, end);
      writeTable();
      const k = at - start;
      if (rule === 0) w.codesDiv(X + 4 * k, O + k, TABLE, segCount, HEAP, HEAP + 4 * n, qmin, qmax);
      else if (rule === 1) w.codesMul(X + 4 * k, O + k, TABLE, segCount, HEAP, HEAP + 4 * n, qmin, qmax);
      else if (rule === 2) w.codesQ8(X + 4 * k, O + k, TABLE, segCount, HEAP);
      else w.codesQ4(X + 4 * k, O + k, TABLE, segCount, HEAP);
      segmentCodes(rule, x.subarray(k), codeBytes.subarray(k), p, qmin, qmax, true);
      at = next;
    }
    o.set(codeBytes);
  }

  // ONNX QuantizeLinear: the correctly rounded float32 quotient, rounded half to even, plus the
  // zero point, clamped. One loop per rule, so that no element tests the rule or the dtype.
  function onnxSegments(x: Float32Array, o: Uint8Array, p: PieceParams, qmin: number, qmax: number, runsDone: boolean): void {
    const { scales, zeroPoints } = p;
    for (let s = 0; s < segCount; s++) {
      const a = segA[s] as number;
      const e = segB[s] as number;
      const q = segP[s] as number;
      if (segStep[s] === 0) {
        if (runsDone) continue;
        const sc = scales[q] as number;
        const zp = zeroPoints[q] as number;
        for (let i = a; i < e; i++) {
          const r = fround((x[i] as number) / sc) + RNE - RNE + zp;
          o[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      } else {
        for (let i = a, j = q; i < e; i++, j++) {
          const r = fround((x[i] as number) / (scales[j] as number)) + RNE - RNE + (zeroPoints[j] as number);
          o[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      }
    }
  }

  // PyTorch (FBGEMM): the float32 product with the reciprocal, rounded half to even.
  function pytorchSegments(x: Float32Array, o: Uint8Array, p: PieceParams, qmin: number, qmax: number, runsDone: boolean): void {
    const { inv, zeroPoints } = p;
    for (let s = 0; s < segCount; s++) {
      const a = segA[s] as number;
      const e = segB[s] as number;
      const q = segP[s] as number;
      if (segStep[s] === 0) {
        if (runsDone) continue;
        const iv = inv[q] as number;
        const zp = zeroPoints[q] as number;
        for (let i = a; i < e; i++) {
          const r = fround((x[i] as number) * iv) + RNE - RNE + zp;
          o[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      } else {
        for (let i = a, j = q; i < e; i++, j++) {
          const r = fround((x[i] as number) * (inv[j] as number)) + RNE - RNE + (zeroPoints[j] as number);
          o[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      }
    }
  }

  // Q8_0's roundf(x·id), ties away from zero: the tie-to-even rounding, moved one step away from
  // zero at the (rare, so well predicted) exact halves where it went towards zero.
  function q8Code(t: number): number {
    let r = t + RNE - RNE;
    const d = t - r;
    if (d === 0.5 ? t > 0 : d === -0.5 && t < 0) r += d + d;
    return r < -128 ? -128 : r > 127 ? 127 : r;
  }

  function q8Segments(x: Float32Array, o: Uint8Array, p: PieceParams, runsDone: boolean): void {
    const { inv } = p;
    for (let s = 0; s < segCount; s++) {
      const a = segA[s] as number;
      const e = segB[s] as number;
      const q = segP[s] as number;
      if (segStep[s] === 0) {
        if (runsDone) continue;
        const iv = inv[q] as number;
        if (overflowed(iv)) o.fill(0, a, e);
        else for (let i = a; i < e; i++) o[i] = q8Code(fround((x[i] as number) * iv));
      } else {
        for (let i = a, j = q; i < e; i++, j++) {
          const iv = inv[j] as number;
          o[i] = overflowed(iv) ? 0 : q8Code(fround((x[i] as number) * iv));
        }
      }
    }
  }

  // Q4_0's MIN(15, (int8_t)(x·id + 8.5f)) − 8: a float32 sum, truncated.
  function q4Code(t: number): number {
    const r = Math.trunc(fround(t + 8.5));
    return (r < 0 ? 0 : r > 15 ? 15 : r) - 8;
  }

  function q4Segments(x: Float32Array, o: Uint8Array, p: PieceParams, runsDone: boolean): void {
    const { inv } = p;
    for (let s = 0; s < segCount; s++) {
      const a = segA[s] as number;
      const e = segB[s] as number;
      const q = segP[s] as number;
      if (segStep[s] === 0) {
        if (runsDone) continue;
        const iv = inv[q] as number;
        if (overflowed(iv)) o.fill(0xf8, a, e);
        else for (let i = a; i < e; i++) o[i] = q4Code(fround((x[i] as number) * iv));
      } else {
        for (let i = a, j = q; i < e; i++, j++) {
          const iv = inv[j] as number;
          o[i] = overflowed(iv) ? -8 : q4Code(fround((x[i] as number) * iv));
        }
      }
    }
  }

  function pack(c: Int8Array | Uint8Array, bits: 4 | 8, words: Uint32Array): void {
    const n = c.length;
    const whole = n >> (bits === 8 ? 2 : 3);
    if (bits === 8) {
      for (let w = 0, i = 0; w < whole; w++, i += 4) {
        words[w] = ((c[i] as number) & 0xff | ((c[i + 1] as number) & 0xff) << 8 | ((c[i + 2] as number) & 0xff) << 16 |
          ((c[i + 3] as number) & 0xff) << 24) >>> 0;
      }
    } else if (littleEndian && c.byteOffset % 4 === 0) {
      // Eight codes are two little-endian words of bytes; their low nibbles, gathered, are the word.
      const u = new Uint32Array(c.buffer, c.byteOffset, whole * 2);
      for (let w = 0, i = 0; w < whole; w++, i += 2) {
        let a = (u[i] as number) & 0x0f0f0f0f;
        let b = (u[i + 1] as number) & 0x0f0f0f0f;
        a = (a | (a >>> 4)) & 0x00ff00ff;
        b = (b | (b >>> 4)) & 0x00ff00ff;
        words[w] = ((a | (a >>> 8)) & 0xffff | ((b | (b >>> 8)) & 0xffff) << 16) >>> 0;
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
    const end = start + c.length;
    for (let at = start; at < end;) {
      const next = cut(L, lo, at, end);
      const cs = c.subarray(at - start);
      const ys = out.subarray(at - start);
      for (let s = 0; s < segCount; s++) {
        const a = segA[s] as number;
        const e = segB[s] as number;
        const q = segP[s] as number;
        if (segStep[s] === 0) {
          const sc = scales[q] as number;
          const zp = zeroPoints[q] as number;
          for (let i = a; i < e; i++) ys[i] = fround(sc * ((cs[i] as number) - zp));
        } else {
          for (let i = a, j = q; i < e; i++, j++) {
            ys[i] = fround((scales[j] as number) * ((cs[i] as number) - (zeroPoints[j] as number)));
          }
        }
      }
      at = next;
    }
  }

  // M is the per-channel layout of the metrics; L the quantization's, for the reconstruction.
  function errors(
    L: KernelLayout, M: KernelLayout, x: Float32Array, c: Int8Array | Uint8Array, start: number, p: PieceParams,
    scratch: Float32Array,
  ): PartialErrors {
    const y = scratch.subarray(0, x.length);
    dequantize(L, c, start, p, y);
    const end = start + x.length;
    const [lo, hi] = paramRange(M, start, end);
    const n = hi - lo;
    const sumSq = new Float64Array(n);
    const signal = new Float64Array(n);
    const maxAbs = new Float64Array(n);
    const count = new Float64Array(n);
    for (let at = start; at < end;) {
      const next = cut(M, lo, at, end);
      const xs = x.subarray(at - start);
      const ys = y.subarray(at - start);
      for (let s = 0; s < segCount; s++) {
        const a = segA[s] as number;
        const e = segB[s] as number;
        const q0 = segP[s] as number;
        if (segStep[s] === 0) {
          let ss = 0;
          let sg = 0;
          let mx = maxAbs[q0] as number;
          for (let i = a; i < e; i++) {
            const xi = xs[i] as number;
            const d = xi - (ys[i] as number);
            ss += d * d;
            sg += xi * xi;
            const m = d < 0 ? -d : d;
            if (m > mx) mx = m;
          }
          sumSq[q0] = (sumSq[q0] as number) + ss;
          signal[q0] = (signal[q0] as number) + sg;
          maxAbs[q0] = mx;
          count[q0] = (count[q0] as number) + (e - a);
        } else {
          for (let i = a, q = q0; i < e; i++, q++) {
            const xi = xs[i] as number;
            const d = xi - (ys[i] as number);
            sumSq[q] = (sumSq[q] as number) + d * d;
            signal[q] = (signal[q] as number) + xi * xi;
            count[q] = (count[q] as number) + 1;
            const m = d < 0 ? -d : d;
            if (m > (maxAbs[q] as number)) maxAbs[q] = m;
          }
        }
      }
      at = next;
    }
    return { lo, sumSq, signal, maxAbs, count };
  }

  return { littleEndian, simd: wasm !== undefined, paramRange, scan, codes, pack, dequantize, errors };
}
