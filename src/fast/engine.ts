// The fast CPU engine: the reference's results, bit for bit, from tight loops (src/fast/kernels.ts)
// spread over every core. A tensor or chunk is cut into pieces of whole words; the pieces go to
// the workers (or run in this thread with one worker) and their partial results are merged in
// piece order, so "first element wins" statistics and the metrics' sums are the same whatever
// the number of workers. The formats' own formulas (scales and zero points from statistics) are
// the registry's; only the built-in formats' code rules are known here, and a format or a
// calibrator the engine does not know goes to the reference instead.
import { f16ToF32BitsTable, f32ToF16Bits, fround } from '../cpu/float.js';
import type { ErrorSums } from '../cpu/metrics.js';
import { emptyStats, type ParamStats } from '../cpu/reduce.js';
import { QuantizationError } from '../errors.js';
import { bitsOf, fullRange, isSigned, type Layout } from '../layout.js';
import { BUILTIN_FORMATS } from '../schemes/builtin.js';
import type { QParams } from '../schemes/format.js';
import { minmax } from '../schemes/minmax.js';
import { calibratorOf, formatOf } from '../schemes/registry.js';
import type { QuantScheme } from '../types.js';
import type { CodeRule, KernelLayout, PartialErrors, PartialStats, PieceParams } from './kernels.js';
import { coreCount, inThread, sharedPool, type WorkerPool } from './pool.js';

/** The most elements a piece holds (a multiple of 8, so packed words never straddle pieces). */
export const PIECE_ELEMENTS = 1 << 19;
/** The fewest elements worth a message to a worker. */
const MIN_PIECE = 8192;

/** Piece length for `n` elements on `workers`: about four pieces per worker, so that all stay busy. */
function pieceSize(n: number, workers: number): number {
  if (workers === 1) return PIECE_ELEMENTS;
  const even = Math.ceil(n / (workers * 4) / 8) * 8;
  return Math.min(PIECE_ELEMENTS, Math.max(MIN_PIECE, even));
}

/**
 * Where the work runs: `workers` (default: every logical core; 1 runs in this thread), whether the
 * WebAssembly SIMD loops may run (default: where the platform has them), and a signal.
 */
export interface FastRun {
  workers?: number | undefined;
  simd?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** The built-in formats whose rounding rules the engine has (k-quants and others go to the reference). */
const FAST_FORMATS = ['onnx', 'pytorch', 'q8_0', 'q4_0'];

/** What the engine needs of a scheme it serves. */
export interface FastPlan {
  L: KernelLayout;
  rule: CodeRule;
  bits: 4 | 8;
  signed: boolean;
}

export function kernelLayout(layout: Layout): KernelLayout {
  const kind = layout.granularity === 'tensor' ? 0 : layout.granularity === 'channel' ? 1 : 2;
  const { outer, axisLen, inner, blockSize, numBlocks } = layout;
  return { kind, outer, axisLen, inner, blockSize, numBlocks };
}

/**
 * The plan for `scheme` (resolved), or undefined when the engine cannot promise the reference's
 * bits: a format registered by a program, or a calibration method other than min/max.
 */
export function fastPlan(scheme: QuantScheme, layout: Layout): FastPlan | undefined {
  const format = formatOf(scheme);
  const known = BUILTIN_FORMATS.includes(format) && FAST_FORMATS.includes(format.name) && format.params === 'affine';
  if (!known || calibratorOf(scheme) !== minmax) return undefined;
  const rule: CodeRule = scheme.profile === 'onnx' ? 0 : scheme.profile === 'pytorch' ? 1 : scheme.dtype === 'int8' ? 2 : 3;
  return { L: kernelLayout(layout), rule, bits: bitsOf(scheme.dtype), signed: isSigned(scheme.dtype) };
}

/** The number of workers a run asks for, checked. */
export async function workerCount(run: FastRun): Promise<number> {
  const n = run.workers;
  if (n === undefined) return coreCount();
  if (!Number.isInteger(n) || n < 1) {
    throw new QuantizationError(`options.workers must be a positive integer; got ${String(n)}`, { field: 'options.workers' });
  }
  return n;
}

/** Buffers of pieces that came back from the workers, reused for the next pieces' copies. */
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 8;

/** A piece's input as a worker receives it: shared memory as is, anything else copied and moved. */
function handOver(x: Float32Array): { x: Float32Array; transfer: ArrayBuffer[] } {
  if (typeof SharedArrayBuffer !== 'undefined' && x.buffer instanceof SharedArrayBuffer) return { x, transfer: [] };
  let buffer = spares.pop();
  while (buffer && buffer.byteLength < x.byteLength) buffer = spares.pop();
  const copy = buffer ? new Float32Array(buffer, 0, x.length) : new Float32Array(x.length);
  copy.set(x);
  return { x: copy, transfer: [copy.buffer as ArrayBuffer] };
}

/** Keeps a returned piece's buffer for the next copy. */
function takeBack(spare: Float32Array | undefined): void {
  if (spare && spare.buffer instanceof ArrayBuffer && spares.length < MAX_SPARES) spares.push(spare.buffer);
}

/** Buffers of codes that came back from the workers, handed back for later pieces' codes. */
const outSpares: ArrayBuffer[] = [];

function takeBackOut(packed: Uint32Array): void {
  if (packed.buffer instanceof ArrayBuffer && outSpares.length < MAX_SPARES) outSpares.push(packed.buffer);
}

/**
 * Runs `count` pieces — `local(i)` in this thread with one worker, else `job(i)` on the pool — and
 * hands each result to `merge` in piece order. An abort ends the pool's workers at once.
 */
async function inPieces<R>(
  count: number, workers: number, run: FastRun, local: (i: number) => R,
  job: (i: number) => { job: Parameters<WorkerPool['run']>[0]; transfer: ArrayBuffer[] }, merge: (i: number, r: R) => void,
): Promise<void> {
  run.signal?.throwIfAborted();
  if (workers === 1 || count <= 1) {
    for (let i = 0; i < count; i++) merge(i, local(i));
    return;
  }
  const pool = await sharedPool(workers);
  const onAbort = () => pool.end(new QuantizationError('the CPU work was aborted', { field: 'options.signal' }));
  run.signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Map<number, R>();
  let next = 0;
  let dispatched = 0;
  let failed = false;
  try {
    const lane = async () => {
      while (dispatched < count && !failed) {
        const i = dispatched++;
        const { job: j, transfer } = job(i);
        try {
          done.set(i, (await pool.run(j, transfer)) as R);
        } catch (err) {
          // The other lanes stop taking pieces: the call has failed.
          failed = true;
          throw err;
        }
        for (let r = done.get(next); r !== undefined; r = done.get(next)) {
          done.delete(next);
          merge(next++, r);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, count) }, lane));
  } catch (err) {
    run.signal?.throwIfAborted();
    throw err;
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
  }
  run.signal?.throwIfAborted();
}

function piece(x: Float32Array, i: number, size: number): Float32Array {
  return x.subarray(i * size, Math.min(x.length, (i + 1) * size));
}

/** The min/max statistics as the engine gathers them, across the pieces and chunks of one tensor. */
export interface FastStats extends ParamStats {
  /** Parameters from this index on are in no piece merged yet: still at their starting values. */
  fresh: number;
}

export function fastStats(paramCount: number): FastStats {
  return { ...emptyStats(paramCount), fresh: 0 };
}

/**
 * Folds elements start … start + x.length − 1 into `stats` (chunks in flat order, as the
 * reference's accumulator takes them) and returns the flat index of the first NaN or ±Infinity
 * among them, or −1.
 */
export async function fastScan(L: KernelLayout, x: Float32Array, start: number, stats: FastStats, run: FastRun): Promise<number> {
  let bad = -1;
  const workers = await workerCount(run);
  const simd = run.simd !== false;
  const size = pieceSize(x.length, workers);
  await inPieces<PartialStats>(
    Math.ceil(x.length / size), workers, run,
    (i) => inThread.scan(L, piece(x, i, size), start + i * size, simd),
    (i) => {
      const { x: px, transfer } = handOver(piece(x, i, size));
      return { job: { op: 'scan', L, x: px, start: start + i * size, simd }, transfer };
    },
    (_i, r) => {
      takeBack(r.spare);
      if (bad >= 0) return;
      if (r.bad >= 0) bad = r.bad;
      else stats.fresh = mergeStats(stats, r, stats.fresh);
    },
  );
  return bad;
}

/**
 * Folds a piece's statistics into the totals: a later piece replaces a value only when strictly
 * beyond it, as the reference's scan does. Parameters from `fresh` on are in no piece merged
 * before, still at their starting values, so folding them is copying them (one pass of memory
 * copies for the many small blocks of Q4_0, where a fold per block took a tenth of the run).
 * Returns the new `fresh`.
 */
function mergeStats(stats: ParamStats, r: PartialStats, fresh: number): number {
  const { min, max, peak, peakAbs } = stats;
  const end = r.lo + r.min.length;
  const from = Math.max(r.lo, fresh);
  if (from < end) {
    const q = from - r.lo;
    min.set(r.min.subarray(q), from);
    max.set(r.max.subarray(q), from);
    peak.set(r.peak.subarray(q), from);
    peakAbs.set(r.peakAbs.subarray(q), from);
  }
  for (let q = 0, p = r.lo; p < Math.min(end, fresh); q++, p++) {
    const mn = r.min[q] as number;
    const mx = r.max[q] as number;
    const pa = r.peakAbs[q] as number;
    if (mn < (min[p] as number)) min[p] = mn;
    if (mx > (max[p] as number)) max[p] = mx;
    if ((peakAbs[p] as number) < pa) {
      peakAbs[p] = pa;
      peak[p] = r.peak[q] as number;
    }
  }
  return Math.max(fresh, end);
}

/**
 * The format's parameters from the statistics. The registry's formulas, except Q8_0's and Q4_0's,
 * the same numbers as src/cpu/ggml.ts's (d = amax / 127 or max / −8, stored rounded to float16) —
 * with the float16 value read from a table of all 65 536, where the reference computes it per
 * block with a power of two (a fifth of a Q4_0 run's time at 4096², a block every 32 elements).
 */
export function fastParams(plan: FastPlan, stats: ParamStats, scheme: QuantScheme): QParams {
  if (plan.rule < 2) return formatOf(scheme).cpu.params(stats, scheme);
  const { min, max, peak } = stats;
  const n = min.length;
  const codeScales = new Float32Array(n);
  const scales = new Float32Array(n);
  const scaleBits = new Uint32Array(scales.buffer);
  const f16 = f16ToF32BitsTable();
  for (let p = 0; p < n; p++) {
    const d = plan.rule === 2
      ? fround(Math.max(0, max[p] as number, -(min[p] as number)) / 127)
      : fround((peak[p] as number) / -8);
    codeScales[p] = d;
    scaleBits[p] = f16[f32ToF16Bits(d)] as number;
  }
  return { scales, zeroPoints: new Int32Array(n), codeScales, range: fullRange(scheme.dtype) };
}

/** What the quantizer needs of the parameters: the codes' scales, their reciprocals, zero points. */
export interface CodeParams {
  scales: Float32Array;
  stored: Float32Array;
  inv: Float32Array;
  zeroPoints: Int32Array;
  qmin: number;
  qmax: number;
}

/** The reciprocals the reference's quantizer uses: float32 1/s, and 0 for ggml's d = 0. */
export function codeParams(plan: FastPlan, p: QParams): CodeParams {
  const s = p.codeScales;
  const inv = new Float32Array(s.length);
  const ggml = plan.rule >= 2;
  for (let i = 0; i < s.length; i++) {
    const v = s[i] as number;
    inv[i] = ggml && v === 0 ? 0 : 1 / v;
  }
  return { scales: s, stored: p.scales, inv, zeroPoints: p.zeroPoints, qmin: p.range.qmin, qmax: p.range.qmax };
}

function pieceParams(L: KernelLayout, c: CodeParams, start: number, end: number): PieceParams {
  const [lo, hi] = inThread.paramRange(L, start, end);
  return { lo, scales: c.scales.subarray(lo, hi), stored: c.stored.subarray(lo, hi), inv: c.inv.subarray(lo, hi), zeroPoints: c.zeroPoints.subarray(lo, hi) };
}

/** Metrics to gather while quantizing: the per-channel layout and the sums to add to. */
export interface FastMetrics {
  M: KernelLayout;
  sums: ErrorSums;
}

/**
 * The codes of elements start … start + x.length − 1 (start a multiple of 8), packed too, and
 * their reconstruction errors added to `metrics` when given.
 */
export async function fastCodes(
  plan: FastPlan, x: Float32Array, start: number, c: CodeParams, metrics: FastMetrics | undefined, run: FastRun,
): Promise<{ codes: Int8Array | Uint8Array; packed: Uint32Array }> {
  const { L, rule, bits, signed } = plan;
  const n = x.length;
  const perWord = 32 / bits;
  const packed = new Uint32Array(Math.ceil(n / perWord));
  // 8-bit codes on a little-endian platform are the packed words' own bytes: no pack pass.
  const direct = bits === 8 && inThread.littleEndian;
  const bytes = direct ? packed.buffer : new ArrayBuffer(n);
  const codes = signed ? new Int8Array(bytes, 0, n) : new Uint8Array(bytes, 0, n);
  const workers = await workerCount(run);
  const simd = run.simd !== false;
  const size = pieceSize(n, workers);
  const wordsPerPiece = size / perWord;
  let scratch: Float32Array | undefined;
  type Out = { packed: Uint32Array; codes?: Int8Array | Uint8Array; errors?: PartialErrors; spare?: Float32Array };
  await inPieces<Out>(
    Math.ceil(n / size), workers, run,
    (i) => {
      const px = piece(x, i, size);
      const at = start + i * size;
      const p = pieceParams(L, c, at, at + px.length);
      const out = codes.subarray(i * size, i * size + px.length);
      inThread.codes(L, px, at, rule, c.qmin, c.qmax, p, out, simd);
      if (!direct) inThread.pack(out, bits, packed.subarray(i * wordsPerPiece));
      if (!metrics) return { packed };
      scratch ??= new Float32Array(Math.min(n, size));
      return { packed, errors: inThread.errors(L, metrics.M, px, out, at, p, scratch) };
    },
    (i) => {
      const { x: px, transfer } = handOver(piece(x, i, size));
      const at = start + i * size;
      // Copies of the piece's own parameters: a message clones a view's whole buffer.
      const view = pieceParams(L, c, at, at + px.length);
      const p: PieceParams = {
        lo: view.lo, scales: view.scales.slice(), stored: view.stored.slice(), inv: view.inv.slice(), zeroPoints: view.zeroPoints.slice(),
      };
      const out = outSpares.pop();
      return {
        job: { op: 'codes', L, x: px, start: at, simd, rule, qmin: c.qmin, qmax: c.qmax, params: p, bits, signed, M: metrics?.M, out },
        transfer: out ? [...transfer, out] : transfer,
      };
    },
    (i, r) => {
      takeBack(r.spare);
      if (r.packed !== packed) {
        packed.set(r.packed, i * wordsPerPiece);
        if (r.codes) codes.set(r.codes, i * size);
        takeBackOut(r.packed);
      }
      if (metrics && r.errors) addErrors(metrics.sums, r.errors);
    },
  );
  return { codes, packed };
}

function addErrors(sums: ErrorSums, e: PartialErrors): void {
  for (let q = 0, p = e.lo; q < e.sumSq.length; q++, p++) {
    sums.sumSq[p] = (sums.sumSq[p] as number) + (e.sumSq[q] as number);
    sums.signal[p] = (sums.signal[p] as number) + (e.signal[q] as number);
    sums.count[p] = (sums.count[p] as number) + (e.count[q] as number);
    if ((e.maxAbs[q] as number) > (sums.maxAbs[p] as number)) sums.maxAbs[p] = e.maxAbs[q] as number;
  }
}

/** `S·(Q − Z)` in float32, as the reference's dequantizer, in this thread. */
export function fastDequantize(layout: Layout, codes: Int8Array | Uint8Array, scales: Float32Array, zeroPoints: Int32Array): Float32Array {
  const out = new Float32Array(codes.length);
  inThread.dequantize(kernelLayout(layout), codes, 0, { lo: 0, scales, stored: scales, inv: scales, zeroPoints }, out);
  return out;
}
