// A whole model file in, a quantized model file out, tensor by tensor: only one tensor's values
// are in memory at a time, and the output header is written first since every size is known.
import { compareQuantized } from '../compare.js';
import { quantize } from '../api.js';
import { FormatError, QuantizationError } from '../errors.js';
import {
  compressedTensorsData, compressedTensorsOutputs, checkCompressedTensorsScheme, quantizationConfig,
} from '../formats/compressed-tensors.js';
import {
  encodeF16, encodeQ4_0, encodeQ8_0, type GgufFile, type GgufOutputType, LLAMA_FTYPE, planGgufOutput, writeGguf,
} from '../formats/gguf.js';
import type { ByteSink } from '../formats/io.js';
import { type ModelFile, type ModelTensor, modelTensors, readTensorF32 } from '../formats/model.js';
import { type OutputTensor, type SafetensorsFile, safetensorsHeader, writeSafetensors } from '../formats/safetensors.js';
import { GGML_BLOCK, resolveScheme } from '../layout.js';
import type { QuantOptions, QuantScheme, QuantizedTensor } from '../types.js';
import type { AdapterFacts } from '../webgpu/device.js';
import { passThroughReason, type TensorPolicy } from './policy.js';
import { clippedCount, type ModelReport, type TensorReport, worstChannels } from './report.js';

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
  backend: 'cpu' | 'webgpu';
  device?: GPUDevice;
  signal?: AbortSignal;
  /** Also quantize every tensor on the CPU and compare (meaningful with the WebGPU backend). */
  verify?: boolean;
  onProgress?: (progress: ModelProgress) => void;
  /** Names the files in the report. */
  inputPath?: string;
  outputPath?: string;
}

interface Job {
  tensor: ModelTensor;
  /** Undefined when the tensor passes through. */
  scheme?: QuantScheme;
  action: TensorReport['action'];
  reason?: string;
}

/** The scheme a tensor is quantized with: the model's scheme with the tensor's own axis checks. */
function plan(model: ModelFile, options: QuantizeModelOptions, format: OutputFormat): Job[] {
  return modelTensors(model).map((tensor): Job => {
    const reason = passThroughReason(tensor, options);
    if (reason) return { tensor, action: 'passthrough', reason };
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
    if (format === 'safetensors' && !tensor.name.endsWith('weight')) {
      return { tensor, action: 'passthrough', reason: 'compressed-tensors quantizes only tensors named *weight' };
    }
    // A scheme that cannot work at all (bad fields, asymmetric ggml, …) fails the run here,
    // before anything is written, rather than tensor by tensor.
    resolveScheme(tensor.shape, options.scheme);
    if (format === 'safetensors') {
      const unfit = compressedTensorsMisfit(tensor, options.scheme);
      if (unfit) return { tensor, action: 'passthrough', reason: unfit };
    }
    return { tensor, scheme: options.scheme, action: 'quantized' };
  });
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

function checkFormats(model: ModelFile, format: OutputFormat, scheme: QuantScheme): void {
  if (format !== model.format) {
    throw new QuantizationError(
      `writing ${format} from a ${model.format} input is not supported; use --format ${model.format}`,
      { field: 'format' },
    );
  }
  if (format === 'gguf' && !(scheme.profile === 'ggml' && (scheme.dtype === 'int8' || scheme.dtype === 'int4'))) {
    throw new QuantizationError(
      'GGUF output holds Q8_0 or Q4_0: use --profile ggml with --dtype int8 or int4 (symmetric, groups of 32)',
      { field: 'format' },
    );
  }
}

interface Quantized {
  q: QuantizedTensor;
  report: Pick<TensorReport, 'mse' | 'maxAbsError' | 'sqnrDb' | 'clipped' | 'worstChannels' | 'verify'>;
}

async function quantizeTensor(model: ModelFile, job: Job, scheme: QuantScheme, options: QuantizeModelOptions): Promise<Quantized> {
  const { tensor } = job;
  const x = await readTensorF32(model, tensor.name);
  const run: QuantOptions = { backend: options.backend, metrics: true };
  if (options.device) run.device = options.device;
  if (options.signal) run.signal = options.signal;
  const q = await quantize(x, tensor.shape, scheme, run).catch((err: unknown) => {
    if (err instanceof QuantizationError) {
      throw new FormatError(err.message, { file: model.source.name, tensor: tensor.name });
    }
    throw err;
  });
  const m = q.metrics;
  const report: Quantized['report'] = { clipped: clippedCount(x, q) };
  if (m) Object.assign(report, { mse: m.mse, maxAbsError: m.maxAbsError, sqnrDb: m.sqnrDb, worstChannels: worstChannels(m) });
  if (options.verify) {
    const cpu = await quantize(x, tensor.shape, scheme, { backend: 'cpu' });
    const cmp = compareQuantized(q, cpu, { input: x });
    report.verify = { equal: cmp.equal, mismatches: cmp.mismatchCount + cmp.paramMismatchCount, summary: cmp.summary };
  }
  return { q, report };
}

/**
 * Quantizes every tensor the policy selects and writes the model to `sink`: safetensors in the
 * compressed-tensors layout, or GGUF with Q8_0 / Q4_0 tensors. Returns the quality report.
 */
export async function quantizeModel(model: ModelFile, sink: ByteSink, options: QuantizeModelOptions): Promise<ModelReport> {
  const started = performance.now();
  const format = options.format ?? model.format;
  checkFormats(model, format, options.scheme);
  const jobs = plan(model, options, format);
  const totalBytes = jobs.reduce((n, j) => n + j.tensor.byteLength, 0);
  const reports: TensorReport[] = [];
  let adapter: AdapterFacts | undefined;
  let doneBytes = 0;

  const produceFor: Produce = async (index, label, encode) => {
    const job = jobs[index] as Job;
    options.signal?.throwIfAborted();
    options.onProgress?.({ phase: 'start', tensorIndex: index, tensorCount: jobs.length, tensorName: job.tensor.name, doneBytes, totalBytes });
    const t0 = performance.now();
    const base = {
      name: job.tensor.name, shape: job.tensor.shape, dtype: job.tensor.dtype, action: job.action,
      ...(job.reason ? { reason: job.reason } : {}),
    };
    let out: Uint8Array[];
    let entry: TensorReport;
    if (job.scheme) {
      const r = await quantizeTensor(model, job, job.scheme, options);
      adapter ??= r.q.adapter;
      out = encode(r.q);
      entry = { ...base, output: label, ...r.report, ms: 0 };
    } else if (job.action === 'f16-fallback') {
      out = [encodeF16(await readTensorF32(model, job.tensor.name))];
      entry = { ...base, output: 'F16', ms: 0 };
    } else {
      out = [await model.source.read(job.tensor.offset, job.tensor.byteLength)];
      entry = { ...base, output: job.tensor.dtype, ms: 0 };
    }
    entry.ms = performance.now() - t0;
    reports.push(entry);
    doneBytes += job.tensor.byteLength;
    options.onProgress?.({ phase: 'end', tensorIndex: index + 1, tensorCount: jobs.length, tensorName: job.tensor.name, doneBytes, totalBytes });
    return out;
  };

  const written = format === 'gguf'
    ? { bytes: await writeGgufModel(model as GgufFile, sink, jobs, options.scheme, produceFor) }
    : await writeSafetensorsModel(model as SafetensorsFile, sink, jobs, options.scheme, produceFor);
  const outBytes = written.bytes;
  const seconds = (performance.now() - started) / 1000;
  return {
    input: { path: options.inputPath ?? model.source.name, format: model.format, bytes: model.source.size },
    output: { path: options.outputPath ?? '', format, bytes: outBytes },
    scheme: options.scheme,
    backend: options.backend,
    ...(adapter ? { adapter } : {}),
    compressionRatio: outBytes > 0 ? model.source.size / outBytes : 0,
    seconds,
    throughputMBps: seconds > 0 ? model.source.size / 1e6 / seconds : 0,
    tensors: reports,
    ...('config' in written ? { quantizationConfig: written.config } : {}),
  };
}

/** Makes the output bytes of tensor `index`, records its report, and reports progress. */
type Produce = (index: number, label: string, encode: (q: QuantizedTensor) => Uint8Array[]) => Promise<Uint8Array[]>;

async function writeGgufModel(model: GgufFile, sink: ByteSink, jobs: Job[], scheme: QuantScheme, produceFor: Produce): Promise<number> {
  const q8 = scheme.dtype === 'int8';
  const outputs: GgufOutputType[] = jobs.map((j) => (j.scheme ? (q8 ? 'Q8_0' : 'Q4_0') : j.action === 'f16-fallback' ? 'F16' : 'keep'));
  const layout = planGgufOutput(model, outputs, q8 ? LLAMA_FTYPE.MOSTLY_Q8_0 : LLAMA_FTYPE.MOSTLY_Q4_0);
  await writeGguf(sink, layout, async (index) => {
    const [bytes] = await produceFor(index, q8 ? 'Q8_0' : 'Q4_0', (q) => [q8 ? encodeQ8_0(q) : encodeQ4_0(q)]);
    return bytes ?? new Uint8Array(0);
  });
  return layout.totalBytes;
}

async function writeSafetensorsModel(
  model: SafetensorsFile, sink: ByteSink, jobs: Job[], scheme: QuantScheme, produceFor: Produce,
): Promise<{ bytes: number; config: Record<string, unknown> }> {
  const outputs: OutputTensor[] = [];
  const owner: { job: number; part: number }[] = [];
  jobs.forEach((job, j) => {
    const entries = job.scheme
      ? compressedTensorsOutputs(job.tensor.name, job.tensor.shape, job.scheme, job.tensor.dtype as 'F32' | 'F16' | 'BF16')
      : [{ name: job.tensor.name, dtype: job.tensor.dtype, shape: job.tensor.shape, byteLength: job.tensor.byteLength }];
    entries.forEach((e, part) => {
      outputs.push(e);
      owner.push({ job: j, part });
    });
  });
  const ignore = jobs
    .filter((j) => !j.scheme && j.tensor.shape.length >= 2 && j.tensor.quantizable)
    .map((j) => j.tensor.name.replace(/\.weight$/, ''));
  const config = quantizationConfig(scheme, ignore);
  const metadata = { ...(model.metadata ?? {}), quantization_config: JSON.stringify(config) };
  let pending: Uint8Array[] = [];
  await writeSafetensors(sink, outputs, metadata, async (index) => {
    const { job, part } = owner[index] as { job: number; part: number };
    if (part === 0) {
      const j = jobs[job] as Job;
      const label = outputs.filter((_, i) => owner[i]?.job === job).map((o) => `${o.name} ${o.dtype}`).join(', ');
      pending = await produceFor(job, label, (q) => compressedTensorsData(j.tensor.name, q, j.tensor.dtype as 'F32' | 'F16' | 'BF16'));
    }
    return pending[part] ?? new Uint8Array(0);
  });
  return { bytes: safetensorsHeader(outputs, metadata).byteLength + outputs.reduce((n, o) => n + o.byteLength, 0), config };
}
