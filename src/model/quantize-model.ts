// A whole model file in, a quantized model file out, tensor by tensor and each tensor chunk by
// chunk: a tensor is read by ranges, quantized and written in pieces, so memory stays bounded
// whatever its size. The output header is written first, since every size is known.
import { FormatError, QuantizationError } from '../errors.js';
import {
  checkCompressedTensorsScheme, compressedTensorsEncoder, compressedTensorsOutputs, type CompressedTensorsPart,
  compressedTensorsWarnings, quantizationConfig,
} from '../formats/compressed-tensors.js';
import {
  encodeF16, type GgufFile, type GgufOutputType, type GgufTensorType, ggmlTypeInfo, planGgufOutput, writeGguf,
} from '../formats/gguf.js';
import { chooseTypes, LLAMA_FILE_TYPES, type LlamaFileTypeName } from '../formats/llama-mix.js';
import type { ByteSink, TensorBytes } from '../formats/io.js';
import { type ModelFile, type ModelTensor, modelTensors, readTensorF32Range } from '../formats/model.js';
import { type OutputTensor, type SafetensorsFile, writeSafetensors } from '../formats/safetensors.js';
import { GGML_BLOCK } from '../layout.js';
import type { GgufEncoding } from '../schemes/format.js';
import { ggufFormatOf, listFormats } from '../schemes/registry.js';
import { resolveScheme } from '../schemes/resolve.js';
import { type QuantizedChunk, quantizeStream, type StreamOptions } from '../stream.js';
import type { Backend, QuantScheme } from '../types.js';
import type { AdapterFacts } from '../webgpu/device.js';
import { type BlockEncoder, blockEncoder } from './gguf-blocks.js';
import { embeddingOrHead, passThroughReason, type TensorPolicy } from './policy.js';
import { type Params, type PulledStream, pullStream } from './pull.js';
import { clippedCounter, type ModelReport, scaleOverflow, type TensorReport, worstChannels } from './report.js';
import { storedScaleStream } from './stored-scales.js';
import { StreamComparison } from './verify.js';

export type OutputFormat = 'safetensors' | 'gguf';

/** Progress through a model: reported as each tensor starts and as it ends. */
export interface ModelProgress {
  phase: 'start' | 'end';
  /** The tensor's index at 'start'; how many tensors are done at 'end'. */
  tensorIndex: number;
  tensorCount: number;
  tensorName: string;
  doneBytes: number;
  totalBytes: number;
}

export interface QuantizeModelOptions extends TensorPolicy {
  scheme: QuantScheme;
  /** Default: the input's format. */
  format?: OutputFormat;
  /** `'cpu'` (the fast engine), `'reference'` or `'webgpu'`. */
  backend: Backend;
  /** Workers of the `'cpu'` backend (default: one per logical core), kept across the model's tensors. */
  workers?: number;
  device?: GPUDevice;
  signal?: AbortSignal;
  /** Also quantize every tensor with the CPU reference (`'reference'`) and compare. */
  verify?: boolean;
  onProgress?: (progress: ModelProgress) => void;
  /** Names the files in the report. */
  inputPath?: string;
  outputPath?: string;
  /**
   * Elements of a tensor in memory at a time (default 4 Mi): a tensor is read, quantized and
   * written in chunks of at most this many (rounded down to whole rows, and at least one row), and
   * a tensor that passes through is copied in pieces of this many × 4 bytes.
   */
  chunkElements?: number;
  /**
   * GGUF output as one of llama-quantize's file types (`'Q4_K_M'`, …): each tensor's type chosen
   * by llama.cpp's rules; the K-quants run on `backend` (WebGPU too), the other block types on the
   * CPU reference. `scheme` is then not used for GGUF.
   */
  ggufType?: LlamaFileTypeName;
}

const DEFAULT_CHUNK_ELEMENTS = 4 * 1024 * 1024;

/** One file of a sharded safetensors output, planned before anything is written. */
export interface ShardPlan {
  /** 0-based. */
  index: number;
  count: number;
  /** The entries it holds, in order; a quantized tensor's entries are never split across shards. */
  tensors: OutputTensor[];
  /** Its tensors' bytes, headers aside (what `max shard size` bounds, as transformers counts). */
  dataBytes: number;
}

/**
 * A safetensors output split into several files, as transformers' `save_pretrained` splits one:
 * tensors in order, a shard closed when the next tensor would take its data past `maxShardBytes`;
 * a tensor larger than that gets a shard of its own. Shards are written one after the other.
 */
export interface ShardedSink {
  maxShardBytes: number;
  /** Where shard `plan.index` goes; asked for when it is due, after the earlier shards are closed. */
  open(plan: ShardPlan): Promise<ByteSink>;
  /** Every byte of the shard has been written to the sink `open` gave. */
  close(plan: ShardPlan): Promise<void>;
}

function isSharded(sink: ByteSink | ShardedSink): sink is ShardedSink {
  return typeof (sink as ShardedSink).open === 'function';
}

interface Job {
  tensor: ModelTensor;
  /** Undefined when the tensor passes through. */
  scheme?: QuantScheme;
  action: TensorReport['action'];
  reason?: string;
  /** Under a llama-quantize file type: the tensor's GGUF type. */
  ggufType?: GgufTensorType;
}

/**
 * What happens to each tensor — quantized with the model's scheme, kept as it is, or written as
 * F16 — and why, decided before anything is written.
 */
function plan(model: ModelFile, options: QuantizeModelOptions, format: OutputFormat): Job[] {
  if (format === 'gguf' && options.ggufType) return mixPlan(model as GgufFile, options, options.ggufType);
  return modelTensors(model).map((tensor, i): Job => {
    const quantizedAs = format === 'gguf' ? blockTypeOf(model as GgufFile, i) : undefined;
    const reason = passThroughReason(quantizedAs ? { ...tensor, quantizable: true } : tensor, options);
    if (reason) return { tensor, action: 'passthrough', reason };
    if (format === 'safetensors') return compressedTensorsJob(tensor, options);
    if (format === 'gguf' && tensor.shape.length < 2) {
      return { tensor, action: 'passthrough', reason: `rank ${tensor.shape.length}: llama.cpp keeps 1-D tensors in F32` };
    }
    if (format === 'gguf' && !tensor.name.endsWith('weight')) {
      return { tensor, action: 'passthrough', reason: 'llama.cpp quantizes only tensors named *weight' };
    }
    if (format === 'gguf' && (tensor.shape.at(-1) ?? 0) % GGML_BLOCK !== 0) {
      // llama.cpp falls back to other types where a row does not fit the blocks; for Q8_0 and Q4_0
      // it has no fallback and refuses the file, so F16 here keeps the tensor whole instead.
      return { tensor, action: 'f16-fallback', reason: `rows of ${tensor.shape.at(-1)} are not a multiple of ${GGML_BLOCK}` };
    }
    if (quantizedAs) return keptQuantized(model, tensor, quantizedAs, ggufFormatOf(options.scheme)?.gguf?.typeName ?? '');
    // A scheme that cannot work at all (bad fields, asymmetric ggml, …) fails the run here,
    // before anything is written, rather than tensor by tensor.
    resolveScheme(tensor.shape, options.scheme);
    return { tensor, scheme: options.scheme, action: 'quantized' };
  });
}

/** The ggml block type (Q8_0, Q4_K, …) GGUF tensor `index` is stored in, or undefined for F32, F16 and the like. */
function blockTypeOf(model: GgufFile, index: number): string | undefined {
  const t = model.tensors[index];
  return t && (ggmlTypeInfo(t.ggmlType)?.blockSize ?? 1) > 1 ? t.typeName : undefined;
}

/**
 * A tensor stored quantized already, where the run would quantize it to `target`: kept as it is
 * when that is its own type, as llama-quantize keeps it; any other type is refused, as
 * llama-quantize refuses it (without --allow-requantize), since it would round already-rounded
 * weights a second time and the file would say it holds what it does not.
 */
function keptQuantized(model: ModelFile, tensor: ModelTensor, type: string, target: string): Job {
  if (type === target) return { tensor, action: 'passthrough', reason: `already ${type}, the type chosen for it: kept as it is` };
  throw new FormatError(
    `is ${type} already; requantizing it to ${target} would round rounded weights again (llama-quantize refuses it too): ` +
      'quantize the F32 or F16 model instead, or exclude the tensor (--exclude) to keep it as it is',
    { file: model.source.name, tensor: tensor.name },
  );
}

/** head_count / head_count_kv of the model's architecture, 1 when the file does not say. */
function gqaOf(model: GgufFile): number {
  const arch = model.metadata.get('general.architecture')?.value;
  const heads = Number(model.metadata.get(`${String(arch)}.attention.head_count`)?.value ?? 0);
  const kv = Number(model.metadata.get(`${String(arch)}.attention.head_count_kv`)?.value ?? 0);
  return heads > 0 && kv > 0 ? Math.trunc(heads / kv) : 1;
}

/** The jobs of a llama-quantize file type: llama.cpp's choice of type for each tensor, and why. */
function mixPlan(model: GgufFile, options: QuantizeModelOptions, kind: LlamaFileTypeName): Job[] {
  const tensors = modelTensors(model);
  const quantizedAs = tensors.map((_, i) => blockTypeOf(model, i));
  const kept = tensors.map((t, i): string | undefined => {
    const reason = passThroughReason(quantizedAs[i] ? { ...t, quantizable: true } : t, options);
    if (reason) return reason;
    if (t.shape.length < 2) return `rank ${t.shape.length}: llama.cpp keeps 1-D tensors in F32`;
    if (!t.name.endsWith('weight')) return 'llama.cpp quantizes only tensors named *weight';
    if (t.name.includes('_norm.weight')) return 'llama.cpp does not quantize norms';
    return undefined;
  });
  const choices = chooseTypes(kind, tensors.map((t, i) => ({
    name: t.name, rowLength: t.shape.at(-1) ?? 1, quantizable: kept[i] === undefined,
  })), gqaOf(model));
  return tensors.map((tensor, i): Job => {
    const reason = kept[i];
    if (reason !== undefined) return { tensor, action: 'passthrough', reason };
    const { type, reason: why } = choices[i] as { type: GgufTensorType; reason?: string };
    const already = quantizedAs[i];
    if (already) return keptQuantized(model, tensor, already, type);
    return { tensor, action: type === 'F16' ? 'f16-fallback' : 'quantized', ggufType: type, ...(why ? { reason: why } : {}) };
  });
}

/**
 * A tensor written as a block type (`encode`), a chunk of whole rows at a time, on the CPU
 * reference; the report's error figures come from what a loader decodes.
 */
function blockWork(model: ModelFile, tensor: ModelTensor, type: string, encode: BlockEncoder, chunkElements: number, signal?: AbortSignal): TensorWork {
  const rowLength = Math.max(1, tensor.shape.at(-1) ?? 1);
  const numel = tensor.shape.reduce((a, b) => a * b, 1);
  const step = Math.max(1, Math.floor(chunkElements / rowLength)) * rowLength;
  let signal2 = 0;
  let noise = 0;
  let maxAbsError = 0;
  let adapter: AdapterFacts | undefined;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for (let start = 0; start < numel; start += step) {
      signal?.throwIfAborted();
      const x = await readTensorF32Range(model, tensor.name, start, Math.min(step, numel - start));
      let out: Awaited<ReturnType<BlockEncoder>>;
      try {
        out = await encode(x, start, rowLength);
        adapter ??= out.adapter;
      } catch (err) {
        throw err instanceof QuantizationError ? new FormatError(err.message, { file: model.source.name, tensor: tensor.name }) : err;
      }
      x.forEach((v, i) => {
        const e = Math.abs(v - (out.decoded[i] as number));
        signal2 += v * v;
        noise += e * e;
        if (e > maxAbsError) maxAbsError = e;
      });
      yield out.bytes;
    }
  }
  return {
    output: type,
    entry: async () => bytes(),
    finish: async () => ({
      fields: {
        mse: numel > 0 ? noise / numel : 0, maxAbsError,
        sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(signal2 / noise),
      },
      ...(adapter ? { adapter } : {}),
    }),
    close: async () => {},
  };
}

/**
 * A tensor's job in compressed-tensors output. As llm-compressor does by default, embeddings and
 * the output head stay in their dtype unless asked for; a tensor the layout cannot hold (not 2-D,
 * groups that do not divide its rows — under ggml, rows that are not whole blocks) passes through
 * too, and never fails the run: the scheme itself was checked once, up front.
 */
function compressedTensorsJob(tensor: ModelTensor, options: QuantizeModelOptions): Job {
  if (!tensor.name.endsWith('weight')) {
    return { tensor, action: 'passthrough', reason: 'compressed-tensors quantizes only tensors named *weight' };
  }
  const kind = embeddingOrHead(tensor.name);
  if (kind && !options.quantizeEmbeddings) {
    return {
      tensor, action: 'passthrough',
      reason: `${kind === 'head' ? 'output head' : 'embedding'}: kept and listed in ignore, as llm-compressor does (--quantize-embeddings quantizes it)`,
    };
  }
  const unfit = compressedTensorsMisfit(tensor, options.scheme);
  if (unfit) return { tensor, action: 'passthrough', reason: unfit };
  return { tensor, scheme: options.scheme, action: 'quantized' };
}

/**
 * Why compressed-tensors cannot hold this tensor quantized (it packs 2-D tensors, in groups that
 * divide the row), or undefined. A scheme it cannot express at all (an unsigned dtype, another
 * axis) is an error for the whole run instead.
 */
function compressedTensorsMisfit(tensor: ModelTensor, scheme: QuantScheme): string | undefined {
  try {
    checkCompressedTensorsScheme(tensor.shape, scheme);
  } catch (err) {
    if (err instanceof QuantizationError && (err.field === 'shape' || err.field === 'scheme.blockSize')) return err.message;
    throw err;
  }
  return undefined;
}

function checkFormats(model: ModelFile, format: OutputFormat, scheme: QuantScheme, ggufType?: LlamaFileTypeName): void {
  if (ggufType !== undefined && !(format === 'gguf' && Object.hasOwn(LLAMA_FILE_TYPES, ggufType))) {
    throw new QuantizationError(
      format === 'gguf'
        ? `ggufType must be one of ${Object.keys(LLAMA_FILE_TYPES).join(', ')}; got ${String(ggufType)}`
        : `a llama-quantize type (${String(ggufType)}) is written as GGUF only`,
      { field: 'ggufType' },
    );
  }
  if (format !== model.format) {
    throw new QuantizationError(
      `writing ${format} from a ${model.format} input is not supported; use --format ${model.format}`,
      { field: 'format' },
    );
  }
  if (format === 'gguf' && !ggufFormatOf(scheme) && !ggufType) {
    const types = listFormats().flatMap((f) => (f.gguf ? [f.gguf.typeName] : []));
    throw new QuantizationError(
      `GGUF output holds ${types.join(' or ')}: use --profile ggml with --dtype int8 or int4 (symmetric, groups of 32)`,
      { field: 'format' },
    );
  }
  if (format === 'safetensors') {
    // The scheme on a weight it fits (one row of one group, or of one ggml block), so that a
    // scheme that fits no weight fails here, whatever the model's shapes.
    const block = scheme.granularity === 'group' && Number.isSafeInteger(scheme.blockSize) && (scheme.blockSize as number) > 0
      ? scheme.blockSize as number : GGML_BLOCK;
    checkCompressedTensorsScheme([1, block], scheme);
  }
}

/** How one tensor's output is made: its entries' bytes, whole or in pieces, then its report. */
interface TensorWork {
  /** The output's type, as the report names it. */
  output: string;
  /** The bytes of the tensor's output entry `part`; entries are asked for in order. */
  entry(part: number): Promise<TensorBytes>;
  /** Once every entry is written: the report's quality fields, and the adapter that ran. */
  finish(): Promise<{ fields: Partial<TensorReport>; adapter?: AdapterFacts }>;
  /** Stops whatever still runs, when the output is abandoned part way. */
  close(): Promise<void>;
}

/** Work that needs no quantization: `bytes` make the tensor's only entry. */
function keptWork(output: string, bytes: () => AsyncIterable<Uint8Array>): TensorWork {
  return { output, entry: async () => bytes(), finish: async () => ({ fields: {} }), close: async () => {} };
}

/** A tensor's bytes copied from the input in pieces, never whole. */
async function* copied(model: ModelFile, tensor: ModelTensor, pieceBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < tensor.byteLength; at += pieceBytes) {
    signal?.throwIfAborted();
    yield await model.source.read(tensor.offset + at, Math.min(pieceBytes, tensor.byteLength - at));
  }
}

/** A tensor's values as float16, read and converted a chunk at a time. */
async function* asF16(model: ModelFile, tensor: ModelTensor, chunkElements: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const numel = tensor.shape.reduce((a, b) => a * b, 1);
  for (let start = 0; start < numel; start += chunkElements) {
    signal?.throwIfAborted();
    yield encodeF16(await readTensorF32Range(model, tensor.name, start, Math.min(chunkElements, numel - start)));
  }
}

/** How a format stores a quantized tensor: entries made from its parameters, and one from its codes. */
interface Encoding {
  /** Entry `part`'s bytes, made from the parameters, or 'codes' for the entry made chunk by chunk. */
  entry(part: number, params: Params): Uint8Array | 'codes';
  /** The codes entry's bytes for one chunk of whole rows. */
  encode(chunk: QuantizedChunk, params: Params): Uint8Array;
}

function ggufEncoding(gguf: GgufEncoding): Encoding {
  return { entry: () => 'codes', encode: ({ codes, start }, { scales }) => gguf.encodeChunk(codes, start, scales) };
}

function compressedTensorsEncoding(tensor: ModelTensor, scheme: QuantScheme): Encoding {
  const encoder = compressedTensorsEncoder(tensor.name, tensor.shape, scheme, tensor.dtype as 'F32' | 'F16' | 'BF16');
  let made: { params: Params; entries: Map<CompressedTensorsPart, Uint8Array> } | undefined;
  return {
    entry(part, params) {
      const what = encoder.parts[part] as CompressedTensorsPart;
      if (what === 'packed') return 'codes';
      if (made?.params !== params) made = { params, entries: encoder.paramEntries(params) };
      return made.entries.get(what) as Uint8Array;
    },
    encode: ({ codes, start }) => encoder.packRows(codes, start),
  };
}

/**
 * A tensor quantized as a stream: its values read from the model by ranges a chunk at a time,
 * its codes encoded and handed to the writer chunk by chunk, the clipped count summed and (with
 * `verify`) each chunk compared with a CPU reference streamed alongside.
 */
function quantizedWork(
  model: ModelFile, tensor: ModelTensor, scheme: QuantScheme, encoding: Encoding, output: string,
  options: QuantizeModelOptions, chunkElements: number, scaleDtype?: 'F16' | 'BF16',
): TensorWork {
  const where = { file: model.source.name, tensor: tensor.name };
  const mapError = (err: unknown) => (err instanceof QuantizationError ? new FormatError(err.message, where) : err);
  const read = (start: number, length: number) => readTensorF32Range(model, tensor.name, start, length);
  const workers = options.workers !== undefined ? { workers: options.workers } : {};
  const stream = (extra: Pick<StreamOptions, 'backend' | 'device' | 'metrics'>, s = scheme): PulledStream => (scaleDtype
    ? storedScaleStream(read, tensor.shape, s, scaleDtype, {
      backend: extra.backend ?? 'cpu', ...(extra.device ? { device: extra.device } : {}), chunkElements, ...workers,
      metrics: extra.metrics === true, mapError, ...(options.signal ? { signal: options.signal } : {}),
    })
    : pullStream((hooks) =>
      quantizeStream({ read }, tensor.shape, s, {
        // Whole rows per chunk: the compressed-tensors packer works on rows (and Q8_0 / Q4_0 blocks lie within them).
        chunkElements, alignElements: Math.max(1, tensor.shape.at(-1) ?? 1), ...workers, ...extra, ...hooks,
      }).catch((err: unknown) => {
        throw mapError(err);
      }), options.signal));
  const run = stream({ backend: options.backend, metrics: true, ...(options.device ? { device: options.device } : {}) });
  const reference = options.verify ? stream({ backend: 'reference' }) : undefined;
  const resolved = resolveScheme(tensor.shape, scheme).scheme;
  const comparison = reference && new StreamComparison(tensor.shape, resolved, reference);
  let clipped = 0;
  let ready: Promise<{ params: Params; count: (x: Float32Array, start: number) => number }> | undefined;
  const prepare = () => (ready ??= (async () => {
    const params = await run.params;
    await comparison?.params(params);
    return { params, count: clippedCounter(tensor.shape, resolved, params) };
  })());
  async function* codes(params: Params, count: (x: Float32Array, start: number) => number): AsyncGenerator<Uint8Array> {
    for (let chunk = await run.next(); chunk; chunk = await run.next()) {
      clipped += count(chunk.values, chunk.start);
      await comparison?.chunk(chunk);
      yield encoding.encode(chunk, params);
    }
  }
  return {
    output,
    async entry(part) {
      const { params, count } = await prepare();
      const bytes = encoding.entry(part, params);
      return bytes === 'codes' ? codes(params, count) : bytes;
    },
    async finish() {
      const r = await run.result;
      const overflow = scaleOverflow(r.scales);
      const fields: Partial<TensorReport> = { clipped, ...(overflow ? { scaleOverflow: overflow } : {}) };
      const m = r.metrics;
      if (m) Object.assign(fields, { mse: m.mse, maxAbsError: m.maxAbsError, sqnrDb: m.sqnrDb, worstChannels: worstChannels(m) });
      if (m && (resolved.calibration ?? 'minmax') !== 'minmax') {
        const minmaxSqnrDb = await minmaxSqnr(stream(
          { backend: options.backend, metrics: true, ...(options.device ? { device: options.device } : {}) }, minmaxScheme(resolved),
        ));
        Object.assign(fields, { minmaxSqnrDb, gainDb: m.sqnrDb - minmaxSqnrDb });
      }
      if (comparison) {
        const cmp = await comparison.report();
        fields.verify = { equal: cmp.equal, mismatches: cmp.mismatchCount + cmp.paramMismatchCount, summary: cmp.summary };
      }
      return { fields, ...(r.adapter ? { adapter: r.adapter } : {}) };
    },
    async close() {
      await Promise.all([run.close(), reference?.close()]);
    },
  };
}

/** The scheme with min/max calibration: the baseline a clipping calibration's gain is measured against. */
function minmaxScheme(scheme: QuantScheme): QuantScheme {
  const rest = { ...scheme };
  delete rest.calibration;
  delete rest.mse;
  delete rest.percentile;
  return rest;
}

/** The SQNR of a stream run to its end, its chunks dropped. */
async function minmaxSqnr(run: PulledStream): Promise<number> {
  try {
    while (await run.next());
    return (await run.result).metrics?.sqnrDb ?? NaN;
  } finally {
    await run.close();
  }
}

/** `bytes` in pieces, then `after` once the last piece has been taken. */
async function* followedBy(bytes: TensorBytes, after: () => Promise<void>): AsyncGenerator<Uint8Array> {
  if (ArrayBuffer.isView(bytes)) yield bytes;
  else yield* bytes;
  await after();
}

/** What a format's writer needs to quantize a tensor: how it names the output and encodes it. */
interface QuantizedOutput {
  output: string;
  encoding: () => Encoding;
  /** A half-precision dtype the scales are stored in, whose rounding the codes must be chosen with. */
  scaleDtype?: 'F16' | 'BF16';
}

/**
 * The bytes of entry `part` of tensor `index`'s `parts` output entries: the tensor's work starts
 * with its first entry and its report is recorded once its last entry has been written.
 */
type Produce = (index: number, part: number, parts: number, quantized: QuantizedOutput) => Promise<TensorBytes>;

/**
 * Quantizes every tensor the policy selects and writes the model to `sink`: safetensors in the
 * compressed-tensors layout, or GGUF with Q8_0 / Q4_0 tensors. A {@link ShardedSink} takes
 * safetensors split into shards of bounded size instead of one file. Tensors are read, quantized
 * and written a chunk at a time (`chunkElements`), so memory stays bounded whatever their size.
 * Returns the quality report.
 */
export async function quantizeModel(model: ModelFile, sink: ByteSink | ShardedSink, options: QuantizeModelOptions): Promise<ModelReport> {
  const started = performance.now();
  const format = options.format ?? model.format;
  checkFormats(model, format, options.scheme, options.ggufType);
  if (isSharded(sink) && format !== 'safetensors') {
    throw new QuantizationError('sharded output is written as safetensors only', { field: 'format' });
  }
  if (isSharded(sink) && !(Number.isSafeInteger(sink.maxShardBytes) && sink.maxShardBytes > 0)) {
    throw new QuantizationError(`maxShardBytes must be a positive integer; got ${String(sink.maxShardBytes)}`, { field: 'options.maxShardBytes' });
  }
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  if (!Number.isSafeInteger(chunkElements) || chunkElements < 1) {
    throw new QuantizationError(`options.chunkElements must be a positive integer; got ${String(chunkElements)}`, {
      field: 'options.chunkElements',
    });
  }
  const jobs = plan(model, options, format);
  const totalBytes = jobs.reduce((n, j) => n + j.tensor.byteLength, 0);
  const reports: TensorReport[] = [];
  let adapter: AdapterFacts | undefined;
  let doneBytes = 0;
  // Assigned in the writers' callbacks; the cast keeps TypeScript from narrowing it to undefined.
  let current = undefined as { work: TensorWork; started: number } | undefined;

  const workFor = (job: Job, quantized: QuantizedOutput): TensorWork => {
    const { tensor } = job;
    const encoder = job.ggufType && blockEncoder(job.ggufType, {
      backend: options.backend, ...(options.device ? { device: options.device } : {}), ...(options.verify ? { verify: true } : {}),
    });
    if (job.ggufType && encoder) return blockWork(model, tensor, job.ggufType, encoder, chunkElements, options.signal);
    if (job.scheme) {
      return quantizedWork(model, tensor, job.scheme, quantized.encoding(), quantized.output, options, chunkElements, quantized.scaleDtype);
    }
    // An F16 tensor kept as F16 is copied: widening and narrowing it back would give the same bytes.
    if (job.action === 'f16-fallback' && tensor.dtype !== 'F16') return keptWork('F16', () => asF16(model, tensor, chunkElements, options.signal));
    if (job.action === 'f16-fallback') return keptWork('F16', () => copied(model, tensor, chunkElements * 2, options.signal));
    return keptWork(tensor.dtype, () => copied(model, tensor, chunkElements * 4, options.signal));
  };

  const finish = async (index: number): Promise<void> => {
    const job = jobs[index] as Job;
    const { work, started: t0 } = current as { work: TensorWork; started: number };
    const { fields, adapter: used } = await work.finish();
    current = undefined;
    adapter ??= used;
    reports.push({
      name: job.tensor.name, shape: job.tensor.shape, dtype: job.tensor.dtype, action: job.action,
      ...(job.reason ? { reason: job.reason } : {}), output: work.output, ...fields, ms: performance.now() - t0,
    });
    doneBytes += job.tensor.byteLength;
    options.onProgress?.({ phase: 'end', tensorIndex: index + 1, tensorCount: jobs.length, tensorName: job.tensor.name, doneBytes, totalBytes });
  };

  const produce: Produce = async (index, part, parts, quantized) => {
    if (part === 0) {
      const job = jobs[index] as Job;
      options.signal?.throwIfAborted();
      options.onProgress?.({ phase: 'start', tensorIndex: index, tensorCount: jobs.length, tensorName: job.tensor.name, doneBytes, totalBytes });
      const t0 = performance.now();
      current = { work: workFor(job, quantized), started: t0 };
    }
    const bytes = await (current as { work: TensorWork }).work.entry(part);
    return part < parts - 1 ? bytes : followedBy(bytes, () => finish(index));
  };

  let written: { bytes: number; config?: Record<string, unknown> };
  try {
    written = format === 'gguf'
      ? { bytes: await writeGgufModel(model as GgufFile, sink as ByteSink, jobs, options.scheme, produce, options.ggufType) }
      : await writeSafetensorsModel(model as SafetensorsFile, sink, jobs, options.scheme, produce);
  } finally {
    await current?.work.close();
  }
  const outBytes = written.bytes;
  const warnings = format === 'safetensors' ? compressedTensorsReportWarnings(jobs, options.scheme) : [];
  const seconds = (performance.now() - started) / 1000;
  return {
    input: { path: options.inputPath ?? model.source.name, format: model.format, bytes: model.source.size },
    output: { path: options.outputPath ?? '', format, bytes: outBytes },
    scheme: options.scheme,
    ...(format === 'gguf' && options.ggufType ? { ggufType: options.ggufType } : {}),
    backend: options.backend,
    ...(adapter ? { adapter } : {}),
    compressionRatio: outBytes > 0 ? model.source.size / outBytes : 0,
    seconds,
    throughputMBps: seconds > 0 ? model.source.size / 1e6 / seconds : 0,
    tensors: reports,
    ...(written.config ? { quantizationConfig: written.config } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

async function writeGgufModel(
  model: GgufFile, sink: ByteSink, jobs: Job[], scheme: QuantScheme, produce: Produce, kind?: LlamaFileTypeName,
): Promise<number> {
  if (kind) {
    const layout = planGgufOutput(model, jobs.map((j) => j.ggufType ?? 'keep'), LLAMA_FILE_TYPES[kind].fileType);
    const unused = { output: kind, encoding: (): Encoding => { throw new QuantizationError('a llama-quantize type encodes each tensor by its own type', { field: 'ggufType' }); } };
    await writeGguf(sink, layout, (index) => produce(index, 0, 1, unused));
    return layout.totalBytes;
  }
  const gguf = ggufFormatOf(scheme)?.gguf;
  if (!gguf) throw new QuantizationError('GGUF output needs a format with a GGUF encoding', { field: 'scheme' });
  const outputs: GgufOutputType[] = jobs.map((j) => (j.scheme ? gguf.typeName : j.action === 'f16-fallback' ? 'F16' : 'keep'));
  const layout = planGgufOutput(model, outputs, gguf.fileType);
  const quantized = { output: gguf.typeName, encoding: () => ggufEncoding(gguf) };
  await writeGguf(sink, layout, (index) => produce(index, 0, 1, quantized));
  return layout.totalBytes;
}

/** The module a weight belongs to: `model.embed_tokens.weight` → `model.embed_tokens`. */
function moduleName(tensorName: string): string {
  return tensorName.replace(/\.weight$/, '');
}

/**
 * What a loader will refuse in a compressed-tensors output, each naming why: a scheme vLLM's
 * kernels do not take, and embeddings or an output head quantized on request.
 */
function compressedTensorsReportWarnings(jobs: Job[], scheme: QuantScheme): string[] {
  const quantized = jobs.filter((j) => j.scheme);
  if (quantized.length === 0) return [];
  const warnings = compressedTensorsWarnings(scheme);
  const extra = quantized.filter((j) => embeddingOrHead(j.tensor.name)).map((j) => j.tensor.name);
  if (extra.length > 0) {
    warnings.push(
      `${extra.join(', ')} quantized (--quantize-embeddings): transformers loads them, but vLLM (0.10 and earlier at least) ` +
        'keeps embeddings and lm_head unquantized and fails on their packed entries',
    );
  }
  return warnings;
}

/**
 * Splits the output entries into shards: a quantized tensor's entries (`first` marks where each
 * tensor's begin) stay together, and a shard is closed when the next tensor would take it past
 * `max` bytes of data.
 */
function planShards(entries: OutputTensor[], first: boolean[], max: number): ShardPlan[] {
  const groups: OutputTensor[][] = [];
  entries.forEach((e, i) => {
    if (first[i] || groups.length === 0) groups.push([]);
    (groups.at(-1) as OutputTensor[]).push(e);
  });
  const shards: { tensors: OutputTensor[]; dataBytes: number }[] = [];
  let current: { tensors: OutputTensor[]; dataBytes: number } | undefined;
  for (const group of groups) {
    const bytes = group.reduce((n, e) => n + e.byteLength, 0);
    if (!current || (current.tensors.length > 0 && current.dataBytes + bytes > max)) {
      current = { tensors: [], dataBytes: 0 };
      shards.push(current);
    }
    current.tensors.push(...group);
    current.dataBytes += bytes;
  }
  if (shards.length === 0) shards.push({ tensors: [], dataBytes: 0 });
  return shards.map((s, index) => ({ index, count: shards.length, ...s }));
}

async function writeSafetensorsModel(
  model: SafetensorsFile, sink: ByteSink | ShardedSink, jobs: Job[], scheme: QuantScheme, produce: Produce,
): Promise<{ bytes: number; config: Record<string, unknown> }> {
  const outputs: OutputTensor[] = [];
  const owner: { job: number; part: number; parts: number }[] = [];
  const quantized = jobs.map((job, j): QuantizedOutput => {
    const entries = job.scheme
      ? compressedTensorsOutputs(job.tensor.name, job.tensor.shape, job.scheme, job.tensor.dtype as 'F32' | 'F16' | 'BF16')
      : [{ name: job.tensor.name, dtype: job.tensor.dtype, shape: job.tensor.shape, byteLength: job.tensor.byteLength }];
    entries.forEach((e, part) => {
      outputs.push(e);
      owner.push({ job: j, part, parts: entries.length });
    });
    const dtype = job.tensor.dtype;
    return {
      output: entries.map((o) => `${o.name} ${o.dtype}`).join(', '),
      encoding: () => compressedTensorsEncoding(job.tensor, scheme),
      ...(dtype === 'F16' || dtype === 'BF16' ? { scaleDtype: dtype } : {}),
    };
  });
  const ignore = jobs
    .filter((j) => !j.scheme && j.tensor.shape.length >= 2 && j.tensor.quantizable)
    .map((j) => moduleName(j.tensor.name));
  // Loaders quantize the modules a config group targets: every Linear layer, and any embedding
  // quantized here, named one by one (compressed-tensors and vLLM match module names exactly).
  const embeddings = jobs.filter((j) => j.scheme && embeddingOrHead(j.tensor.name) === 'embedding').map((j) => moduleName(j.tensor.name));
  const config = quantizationConfig(scheme, ignore, ['Linear', ...embeddings]);
  const metadata = { ...(model.metadata ?? {}), quantization_config: JSON.stringify(config) };
  const write = (to: ByteSink, tensors: OutputTensor[], first: number) => writeSafetensors(to, tensors, metadata, (index) => {
    const { job, part, parts } = owner[first + index] as { job: number; part: number; parts: number };
    return produce(job, part, parts, quantized[job] as QuantizedOutput);
  });
  if (!isSharded(sink)) return { bytes: await write(sink, outputs, 0), config };
  let bytes = 0;
  let first = 0;
  for (const shard of planShards(outputs, owner.map((o) => o.part === 0), sink.maxShardBytes)) {
    bytes += await write(await sink.open(shard), shard.tensors, first);
    await sink.close(shard);
    first += shard.tensors.length;
  }
  return { bytes, config };
}
