// --verify without holding a tensor: the result and the CPU reference are both streamed, compared
// chunk by chunk as they are made, and reported as compareQuantized reports a whole tensor.
import { codeMismatch, type CodeMismatch, compareParams, type ComparisonReport, describeComparison, type ParamMismatch } from '../compare.js';
import { bitsOf, type Layout, makeLayout } from '../layout.js';
import { resolveScheme } from '../schemes/resolve.js';
import { type QuantizedChunk, quantizeStream, type StreamOptions, type TensorSource } from '../stream.js';
import type { QuantScheme } from '../types.js';
import { type Params, pullStream, type PulledStream } from './pull.js';

/**
 * Compares a result, chunk by chunk, with a `reference` stream of the same tensor and scheme whose
 * chunks may be cut elsewhere (every chunk of both starts at a multiple of 8 elements, so packed
 * words never straddle a cut): every code, packed word, scale (by bit pattern) and zero point.
 */
export class StreamComparison {
  private readonly layout: Layout;
  private readonly perWord: number;
  private paramDiffers = new Uint8Array(0);
  private a: Params | undefined;
  private b: Params | undefined;
  private current: QuantizedChunk | undefined;
  private readonly counts = { mismatchCount: 0, paramMismatchCount: 0, packedMismatchCount: 0 };
  private readonly mismatches: CodeMismatch[] = [];
  private readonly paramMismatches: ParamMismatch[] = [];

  /** `scheme` resolved, as a result holds it. */
  constructor(
    private readonly shape: readonly number[], scheme: QuantScheme, private readonly reference: PulledStream,
    private readonly limit = 10,
  ) {
    const { granularity, axis = 0, blockSize = 1 } = scheme;
    this.layout = makeLayout(shape, granularity, axis, blockSize);
    this.perWord = 32 / bitsOf(scheme.dtype);
  }

  /** Compares the scales and zero points, before any chunk. */
  async params(a: Params): Promise<void> {
    const b = await this.reference.params;
    this.a = a;
    this.b = b;
    const params = compareParams(a, b, this.layout.paramShape, this.limit, this.paramMismatches);
    this.paramDiffers = params.differs;
    this.counts.paramMismatchCount = params.count;
  }

  /** Compares one chunk of the result with the reference's elements at the same place. */
  async chunk(chunk: QuantizedChunk): Promise<void> {
    const end = chunk.start + chunk.codes.length;
    for (let at = chunk.start; at < end;) {
      let ref = this.current;
      if (!ref || at >= ref.start + ref.codes.length) {
        ref = await this.reference.next();
        if (!ref) throw new Error(`the CPU reference ended before element ${at}`);
        this.current = ref;
      }
      const to = Math.min(end, ref.start + ref.codes.length);
      this.codes(at, chunk.codes.subarray(at - chunk.start, to - chunk.start), ref.codes.subarray(at - ref.start, to - ref.start),
        chunk.values.subarray(at - chunk.start, to - chunk.start));
      const words = (c: QuantizedChunk) => c.packed.subarray((at - c.start) / this.perWord, Math.ceil((to - c.start) / this.perWord));
      const wa = words(chunk);
      const wb = words(ref);
      for (let w = 0; w < wa.length; w++) if (wa[w] !== wb[w]) this.counts.packedMismatchCount++;
      at = to;
    }
  }

  /** The comparison, as compareQuantized reports it, once every chunk has been compared. */
  async report(): Promise<ComparisonReport> {
    this.current = undefined;
    if (await this.reference.next()) throw new Error('the CPU reference has elements past the end of the tensor');
    const equal = this.counts.mismatchCount === 0 && this.counts.paramMismatchCount === 0 && this.counts.packedMismatchCount === 0;
    const report = { equal, problems: [], ...this.counts, mismatches: this.mismatches, paramMismatches: this.paramMismatches };
    return { ...report, summary: describeComparison(report) };
  }

  private codes(start: number, a: Int8Array | Uint8Array, b: Int8Array | Uint8Array, input: Float32Array): void {
    const pa = this.a as Params;
    const pb = this.b as Params;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      this.counts.mismatchCount++;
      if (this.mismatches.length >= this.limit) continue;
      this.mismatches.push(codeMismatch(start + i, this.shape, this.layout, input[i], a[i] as number, b[i] as number, pa, pb, this.paramDiffers));
    }
  }
}

/**
 * Quantizes the tensor `source` reads on WebGPU and on the CPU reference, both streamed, and
 * compares the two as compareQuantized does, holding a chunk of each at a time.
 *
 * @example
 * const report = await compareBackendsStreamed(source, [rows, cols], scheme, { limit: 20, alignElements: cols });
 */
export async function compareBackendsStreamed(
  source: TensorSource, shape: readonly number[], scheme: QuantScheme,
  options: Pick<StreamOptions, 'chunkElements' | 'alignElements' | 'device' | 'signal'> & { limit?: number } = {},
): Promise<ComparisonReport> {
  const { limit, device, ...rest } = options;
  const stream = (backend: 'cpu' | 'webgpu') => pullStream((hooks) => quantizeStream(source, shape, scheme, {
    ...rest, ...(backend === 'webgpu' && device ? { device } : {}), backend, ...hooks,
  }), options.signal);
  const gpu = stream('webgpu');
  const cpu = stream('cpu');
  try {
    const comparison = new StreamComparison(shape, resolveScheme(shape, scheme).scheme, cpu, limit);
    await comparison.params(await gpu.params);
    for (let chunk = await gpu.next(); chunk; chunk = await gpu.next()) await comparison.chunk(chunk);
    return await comparison.report();
  } finally {
    await Promise.all([gpu.close(), cpu.close()]);
  }
}
