// The WebGPU path of a block format (the K-quants): the format's own kernel searches each block's
// scales and writes its encoded bytes, one invocation per block over windows of whole blocks; the
// host packs the blocks end to end. The bytes equal the format's CPU reference (`blocks.encode`).
import { QuantizationError } from '../errors.js';
import { fullRange, type Layout, lcm, nonFiniteError } from '../layout.js';
import type { BlockFormat, KernelBinding } from '../schemes/format.js';
import { NO_INDEX } from '../schemes/minmax.js';
import type { AdapterFacts, GpuOptions, QuantScheme, TensorSource } from '../types.js';
import { gpuContext } from './device.js';
import { guarded, type Scratch } from './gpu.js';
import { blockWindows, chunkElements, makePlan } from './plan.js';
import { type GpuInput, isSource, stager } from './stage.js';

/** Receives each window's input and blocks in order, once they are known to come from finite input. */
export type BlockSink = (start: number, values: Float32Array | undefined, blocks: Uint8Array) => void | Promise<void>;

/**
 * Encodes `x` (whole blocks along the last axis) with `format`'s kernel. Without a sink the
 * blocks come back as one array; with one, window by window (`alignElements`: windows start on
 * multiples of it).
 */
export async function quantizeBlocksOnGpu(
  x: GpuInput | TensorSource, shape: readonly number[], layout: Layout, scheme: QuantScheme, format: BlockFormat,
  options: GpuOptions, sink?: { alignElements: number; chunk: BlockSink },
): Promise<{ blocks?: Uint8Array; adapter: AdapterFacts }> {
  const kernel = format.gpu?.kernel;
  if (!kernel) {
    throw new QuantizationError(`format ${format.name} has no WebGPU kernel yet; use backend 'cpu' or 'reference'`, {
      field: 'options.backend',
    });
  }
  const ctx = await gpuContext(options.device);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (!ArrayBuffer.isView(x) && !isSource(x) && x.size < numel * 4) {
    throw new QuantizationError(`the input buffer holds ${x.size} bytes; shape [${shape.join(', ')}] needs ${numel * 4}`, {
      field: 'x',
    });
  }
  const { blockElements, blockBytes } = format.blocks;
  const stride = Math.ceil(blockBytes / 4);
  const maxElements = chunkElements(ctx, options, sink ? lcm(sink.alignElements, blockElements) : blockElements);
  const plan = makePlan(ctx, layout, scheme, fullRange(scheme.dtype), numel);
  return guarded(ctx, `quantizing a [${shape.join(', ')}] tensor as ${format.name}`, async (s) => {
    const wins = blockWindows(layout, numel, maxElements);
    const largest = Math.max(0, ...wins.map((w) => w.len));
    const input = stager(s, x, numel, maxElements, largest);
    const out = s.storage(`${format.name} blocks`, (largest / blockElements) * stride * 4);
    const firstBad = s.storage('first non-finite index', 4);
    ctx.device.queue.writeBuffer(firstBad, 0, Uint32Array.of(NO_INDEX));
    const bound: Partial<Record<KernelBinding, GPUBuffer>> = { input: input.buffer, blocks: out, first_bad: firstBad };
    const bindings = kernel.bindings.map((b) => {
      const buffer = bound[b];
      if (!buffer) throw new QuantizationError(`format ${format.name}'s kernel binds ${b}, which a block format does not have`, { field: 'scheme.format' });
      return buffer;
    });
    const all = sink ? undefined : new Uint8Array((numel / blockElements) * blockBytes);
    const reads: Promise<void>[] = [];
    for (const w of wins) {
      options.signal?.throwIfAborted();
      await input.stage(w);
      const encoder = ctx.device.createCommandEncoder({ label: format.name });
      s.dispatch(encoder, kernel, w.paramCount, {
        ...plan.base, chunk_start: w.start, chunk_len: w.len, slices: 1, param_count: w.paramCount, param_base: w.paramBase, given: 0,
      }, bindings);
      // The window's values on the CPU, for the blocks the kernel may not encode exactly; a
      // caller's GPU buffer is read back for that.
      const values = input.values ?? new Float32Array(await s.read(input.buffer, 0, w.len * 4));
      const read = s.read(out, 0, w.paramCount * stride * 4, encoder).then((words) => {
        const packed = packBlocks(new Uint8Array(words), w.paramCount, blockBytes, stride);
        encodeSubnormalBlocks(format, values, w.start, packed);
        all?.set(packed, w.paramBase * blockBytes);
        return packed;
      });
      if (sink) {
        const packed = await read;
        await checkFinite(s, firstBad, x, shape);
        await sink.chunk(w.start, input.values, packed);
      } else {
        read.catch(() => {});
        reads.push(read.then(() => {}));
      }
      options.onProgress?.({ stage: 'quantize', doneBytes: (w.start + w.len) * 4, totalBytes: numel * 4 });
    }
    await Promise.all(reads);
    await checkFinite(s, firstBad, x, shape);
    return { ...(all ? { blocks: all } : {}), adapter: ctx.adapter };
  });
}

/**
 * The rule for super-blocks that hold a subnormal weight: the CPU reference encodes them and its
 * bytes replace the kernel's. A device may read a subnormal operand of an addition as zero
 * (SwiftShader does), and the kernels' additions are the device's own, so only the reference is
 * sure for such blocks; they are rare in real weights (|x| < 2^-126), so the cost is a scan.
 */
function encodeSubnormalBlocks(format: BlockFormat, values: Float32Array, start: number, packed: Uint8Array): void {
  const { blockElements, blockBytes } = format.blocks;
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let b = 0; b * blockElements < bits.length; b++) {
    const first = b * blockElements;
    for (let i = first; i < first + blockElements; i++) {
      const v = bits[i] as number;
      if ((v & 0x7f800000) === 0 && (v & 0x7fffff) !== 0) {
        const block = values.subarray(first, first + blockElements);
        if (Array.from(block).every(Number.isFinite)) {
          packed.set(format.blocks.encode(block, start + first), b * blockBytes);
        }
        break;
      }
    }
  }
}

/** Blocks written `stride` words apart, packed end to end. */
function packBlocks(words: Uint8Array, count: number, blockBytes: number, stride: number): Uint8Array {
  if (blockBytes === stride * 4) return words;
  const out = new Uint8Array(count * blockBytes);
  for (let t = 0; t < count; t++) out.set(words.subarray(t * stride * 4, t * stride * 4 + blockBytes), t * blockBytes);
  return out;
}

/** Throws, naming the element, when the kernel saw a NaN or ±Inf. */
async function checkFinite(s: Scratch, firstBad: GPUBuffer, x: GpuInput | TensorSource, shape: readonly number[]): Promise<void> {
  const bad = new Uint32Array(await s.read(firstBad, 0, 4))[0] ?? NO_INDEX;
  if (bad === NO_INDEX) return;
  throw nonFiniteError(ArrayBuffer.isView(x) ? x[bad] : isSource(x) ? (await x.read(bad, 1))[0] : undefined, bad, shape);
}
