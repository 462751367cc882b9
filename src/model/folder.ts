// A Hugging Face model folder in, a quantized folder out. The input's weights are one
// `model.safetensors` or shards named by `model.safetensors.index.json`; every shard is checked
// against the index, and all of them are read as one model, tensor by tensor through each shard's
// own source. The output holds the quantized weights (sharded as transformers shards, bounded by
// `maxShardBytes`), a new index when sharded, `config.json` with the `quantization_config` that
// vLLM and transformers read from it, and every other file of the folder copied unchanged.
import { FormatError, QuantizationError } from '../errors.js';
import { readSafetensorsIndex, safetensorsIndexJson, shardFileName } from '../formats/index-json.js';
import type { ByteSink, ByteSource } from '../formats/io.js';
import { readSafetensors, type SafetensorsFile, type SafetensorsTensor } from '../formats/safetensors.js';
import { type QuantizeModelOptions, quantizeModel } from './quantize-model.js';
import type { ModelReport } from './report.js';

/** A file of a folder: its path relative to the folder, '/'-separated, and its bytes. */
export interface FolderFile {
  path: string;
  source: ByteSource;
}

/** An opened model folder: its weights as one model, and what else it holds. */
export interface ModelFolder {
  /** What errors and reports call the folder. */
  name: string;
  /** Every shard's tensors as one safetensors model, in shard order, read from the shards' sources. */
  model: SafetensorsFile;
  /** The index's path, for a sharded model; undefined for one `.safetensors` file. */
  index: string | undefined;
  shards: { path: string; file: SafetensorsFile }[];
  /** `config.json`, checked to be a JSON object; undefined when the folder has none. */
  config: { path: string; text: string } | undefined;
  /** Every other file, copied to the output unchanged. */
  others: FolderFile[];
  /** The weights' name stem (`model` for `model.safetensors` and its shards). */
  prefix: string;
}

/** Where a quantized folder is written: one file at a time, each created, written and closed. */
export interface FolderSink {
  /** A new file at `path` (relative, '/'-separated; its folders made as needed). */
  create(path: string): Promise<ByteSink & { close(): Promise<void> }>;
}

/** One file of the output and what it is. */
export interface OutputFile {
  path: string;
  bytes: number;
  role: 'weights' | 'index' | 'config' | 'copied';
}

export interface QuantizeFolderOptions extends QuantizeModelOptions {
  /** Bytes of tensor data per shard at most (headers aside); default 5 GB (5·10⁹), as transformers. */
  maxShardBytes?: number;
}

/** transformers' default `max_shard_size`, "5GB", in its decimal units. */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

const INDEX_SUFFIX = '.safetensors.index.json';
const CONFIG = 'config.json';
/** Bytes copied at a time: a file is never held whole. */
const COPY_PIECE = 16 * 2 ** 20;

function topLevel(files: FolderFile[], suffix: string): FolderFile[] {
  return files.filter((f) => !f.path.includes('/') && f.path.toLowerCase().endsWith(suffix));
}

/** All shards read as one source: byte ranges of the shards laid end to end. */
function concatenated(name: string, parts: ByteSource[]): ByteSource {
  const starts: number[] = [];
  let size = 0;
  for (const p of parts) {
    starts.push(size);
    size += p.size;
  }
  return {
    name,
    size,
    async read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new FormatError(`wants bytes ${offset}..${offset + length} but the shards hold ${size} bytes`, { file: name });
      }
      let i = 0;
      while (i + 1 < parts.length && (starts[i + 1] as number) <= offset) i++;
      const first = parts[i] as ByteSource;
      if (offset - (starts[i] as number) + length <= first.size) return first.read(offset - (starts[i] as number), length);
      // Only a read that spans shards (none that the quantizer makes: tensors lie within one) is joined.
      const out = new Uint8Array(length);
      for (let done = 0; done < length; i++) {
        const part = parts[i] as ByteSource;
        const from = offset + done - (starts[i] as number);
        const n = Math.min(part.size - from, length - done);
        out.set(await part.read(from, n), done);
        done += n;
      }
      return out;
    },
  };
}

async function readText(file: FolderFile): Promise<string> {
  const bytes = await file.source.read(0, file.source.size);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError('is not valid UTF-8', { file: file.source.name });
  }
}

/** Which file holds the weights: the index given, the folder's one index, or its one `.safetensors`. */
function weightsEntry(name: string, files: FolderFile[], index?: string): { index?: FolderFile; single?: FolderFile } {
  if (index !== undefined) {
    const found = files.find((f) => f.path === index);
    if (!found) throw new FormatError(`has no ${index}`, { file: name });
    return { index: found };
  }
  const indexes = topLevel(files, INDEX_SUFFIX);
  if (indexes.length === 1) return { index: indexes[0] as FolderFile };
  if (indexes.length > 1) {
    throw new FormatError(`holds ${indexes.length} indexes (${indexes.map((f) => f.path).join(', ')}): give the one to use as the input`, { file: name });
  }
  const weights = topLevel(files, '.safetensors');
  if (weights.length === 1) return { single: weights[0] as FolderFile };
  if (weights.length > 1) {
    throw new FormatError(
      `holds ${weights.length} .safetensors files (${weights.slice(0, 4).map((f) => f.path).join(', ')}${weights.length > 4 ? ', …' : ''}) ` +
        `and no ${INDEX_SUFFIX} saying which tensor is where`,
      { file: name },
    );
  }
  const gguf = topLevel(files, '.gguf');
  throw new FormatError(
    `holds no ${INDEX_SUFFIX} and no .safetensors file` +
      (gguf.length > 0 ? ` (a GGUF file is quantized on its own: give ${gguf[0]?.path} as the input)` : ''),
    { file: name },
  );
}

/**
 * Opens a model folder from its files: finds the weights (the index `options.index` names, the
 * folder's one `*.safetensors.index.json`, or its one `.safetensors`), reads and validates every
 * shard's header, and checks them against the index: every shard it names is there, every tensor
 * is in the shard it says, none is in two shards and no shard holds a tensor it does not list.
 * `config.json`, if present, must be a JSON object. Every problem is a FormatError naming the file
 * and the tensor or field.
 *
 * @example
 * const folder = await openModelFolder('llama', [...input.files].map((f) => ({ path: f.webkitRelativePath, source: blobSource(f) })));
 */
export async function openModelFolder(name: string, files: FolderFile[], options: { index?: string } = {}): Promise<ModelFolder> {
  const entry = weightsEntry(name, files, options.index);
  const byPath = new Map(files.map((f) => [f.path, f]));
  let shards: { path: string; file: SafetensorsFile }[];
  let prefix: string;
  if (entry.single) {
    shards = [{ path: entry.single.path, file: await readSafetensors(entry.single.source) }];
    prefix = entry.single.path.replace(/\.safetensors$/i, '');
  } else {
    const indexFile = entry.index as FolderFile;
    const index = await readSafetensorsIndex(indexFile.source);
    const dir = indexFile.path.includes('/') ? indexFile.path.slice(0, indexFile.path.lastIndexOf('/') + 1) : '';
    shards = [];
    for (const shard of index.shards) {
      const file = byPath.get(dir + shard);
      if (!file) {
        const tensors = [...index.weightMap].filter(([, s]) => s === shard).map(([t]) => t);
        // Names are cut short: a hostile index may hold megabytes of one.
        const short = (name: string) => (name.length > 120 ? `${name.slice(0, 120)}…` : name);
        throw new FormatError(
          `names shard '${short(shard)}' (for tensor '${short(tensors[0] as string)}'${tensors.length > 1 ? ` and ${tensors.length - 1} more` : ''}), which is not in the folder`,
          { file: indexFile.source.name, field: 'weight_map' },
        );
      }
      shards.push({ path: file.path, file: await readSafetensors(file.source) });
    }
    checkAgainstIndex(indexFile.source.name, index.weightMap, shards, dir);
    prefix = indexFile.path.slice(dir.length).replace(/\.safetensors\.index\.json$/i, '').replace(/\.json$/i, '');
  }
  const configFile = byPath.get(CONFIG);
  let config: ModelFolder['config'];
  if (configFile) {
    const text = await readText(configFile);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new FormatError(`is not valid JSON (${(err as Error).message})`, { file: configFile.source.name });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new FormatError('must be a JSON object', { file: configFile.source.name });
    }
    config = { path: CONFIG, text };
  }
  const used = new Set([...shards.map((s) => s.path), ...(entry.index ? [entry.index.path] : []), ...(config ? [CONFIG] : [])]);
  return {
    name,
    model: combined(name, shards.map((s) => s.file)),
    index: entry.index?.path,
    shards,
    config,
    // A git checkout's objects are the original weights again, and belong to that repository.
    others: files.filter((f) => !used.has(f.path) && !f.path.startsWith('.git/')),
    prefix,
  };
}

function checkAgainstIndex(
  indexName: string, weightMap: Map<string, string>, shards: { path: string; file: SafetensorsFile }[], dir: string,
): void {
  // Duplicates first, across every shard: a tensor in two shards is named as that, whichever of
  // the two the index lists.
  const seen = new Map<string, string>();
  for (const { path, file } of shards) {
    for (const t of file.tensors) {
      const other = seen.get(t.name);
      if (other !== undefined) {
        throw new FormatError(`is also in ${other}: a tensor must be in one shard`, { file: file.source.name, tensor: t.name });
      }
      seen.set(t.name, path.slice(dir.length));
    }
  }
  for (const { path, file } of shards) {
    const shard = path.slice(dir.length);
    for (const t of file.tensors) {
      const listed = weightMap.get(t.name);
      if (listed !== shard) {
        throw new FormatError(
          listed === undefined ? `is in this shard's header but not in ${indexName}` : `is in this shard's header but ${indexName} places it in ${listed}`,
          { file: file.source.name, tensor: t.name },
        );
      }
    }
  }
  for (const [tensor, shard] of weightMap) {
    if (!seen.has(tensor)) {
      const file = shards.find((s) => s.path === dir + shard)?.file.source.name ?? shard;
      throw new FormatError(`${indexName} places this tensor here, but the shard's header does not hold it`, { file, tensor });
    }
  }
}

/** The shards as one safetensors model: offsets moved to where each shard lies in the concatenation. */
function combined(name: string, files: SafetensorsFile[]): SafetensorsFile {
  const tensors: SafetensorsTensor[] = [];
  let base = 0;
  for (const f of files) {
    for (const t of f.tensors) tensors.push({ ...t, offset: base + t.offset });
    base += f.source.size;
  }
  const first = files[0] as SafetensorsFile;
  return {
    format: 'safetensors',
    source: concatenated(name, files.map((f) => f.source)),
    headerLength: first.headerLength,
    // transformers refuses a shard whose metadata lacks `format` (it expects "pt"), so an input
    // that had none gets it: the output's metadata always exists, for its quantization_config.
    metadata: { format: 'pt', ...(first.metadata ?? {}) },
    tensors,
  };
}

/**
 * `config.json`'s text with `quantization_config` added as its last key: the rest of the text is
 * kept as it was, byte for byte (key order, number spellings, integer-like keys, which a parse and
 * stringify would move), and the new key is indented as the file's own keys are.
 */
export function mergeQuantizationConfig(text: string, config: Record<string, unknown>): string {
  const close = text.lastIndexOf('}');
  const head = text.slice(0, close).replace(/\s+$/, '');
  const tail = text.slice(close);
  const comma = head.endsWith('{') ? '' : ',';
  const indent = /\n([ \t]+)"/.exec(text)?.[1];
  if (indent === undefined) return `${head}${comma}"quantization_config":${JSON.stringify(config)}${tail}`;
  const value = JSON.stringify(config, null, indent).replace(/\n/g, `\n${indent}`);
  return `${head}${comma}\n${indent}"quantization_config": ${value}\n${tail}`;
}

async function copy(file: FolderFile, out: FolderSink, signal?: AbortSignal): Promise<number> {
  const sink = await out.create(file.path);
  const { size } = file.source;
  for (let at = 0; at < size; at += COPY_PIECE) {
    signal?.throwIfAborted();
    await sink.write(await file.source.read(at, Math.min(COPY_PIECE, size - at)));
  }
  await sink.close();
  return size;
}

async function writeText(out: FolderSink, path: string, text: string): Promise<number> {
  const bytes = new TextEncoder().encode(text);
  const sink = await out.create(path);
  await sink.write(bytes);
  await sink.close();
  return bytes.byteLength;
}

/**
 * Quantizes a model folder into `out`: the weights as compressed-tensors safetensors (one file
 * named as the input's when it fits `maxShardBytes` and the input was one file; otherwise shards
 * `PREFIX-0000i-of-0000N.safetensors` with `PREFIX.safetensors.index.json`), `config.json` with
 * the `quantization_config` added, and every other file copied. A `config.json` that already has
 * a `quantization_config`, or a copied file named as an output file, fails the run before the
 * first byte is written. Returns the quality report and the files written.
 */
export async function quantizeFolder(
  folder: ModelFolder, out: FolderSink, options: QuantizeFolderOptions,
): Promise<{ report: ModelReport; files: OutputFile[] }> {
  if ((options.format ?? 'safetensors') !== 'safetensors') {
    throw new QuantizationError('a folder of safetensors shards is written as safetensors; GGUF is made from a .gguf file', { field: 'format' });
  }
  if (folder.config) {
    const existing = (JSON.parse(folder.config.text) as Record<string, unknown>).quantization_config;
    if (existing !== undefined) {
      const method = (existing as { quant_method?: unknown } | null)?.quant_method;
      throw new FormatError(
        `already has a quantization_config${typeof method === 'string' ? ` (${method})` : ''}: the model is quantized already; quantize the original weights`,
        { file: `${folder.name}/${folder.config.path}`, field: 'quantization_config' },
      );
    }
  }
  const { maxShardBytes = DEFAULT_MAX_SHARD_BYTES, ...modelOptions } = options;
  const oneFile = (count: number) => count === 1 && folder.index === undefined;
  const nameOf = (index: number, count: number) => (oneFile(count) ? `${folder.prefix}.safetensors` : shardFileName(folder.prefix, index, count));
  const files: OutputFile[] = [];
  const shards: [string, string[]][] = [];
  let totalSize = 0;
  let current: { sink: ByteSink & { close(): Promise<void> }; bytes: number } | undefined;
  const report = await quantizeModel(folder.model, {
    maxShardBytes,
    async open(plan) {
      if (plan.index === 0) {
        const names = Array.from({ length: plan.count }, (_, i) => nameOf(i, plan.count));
        checkNames(folder, oneFile(plan.count) ? names : [...names, `${folder.prefix}${INDEX_SUFFIX}`]);
      }
      const opened = { sink: await out.create(nameOf(plan.index, plan.count)), bytes: 0 };
      current = opened;
      return {
        async write(chunk) {
          await opened.sink.write(chunk);
          opened.bytes += chunk.byteLength;
        },
      };
    },
    async close(plan) {
      const done = current as { sink: ByteSink & { close(): Promise<void> }; bytes: number };
      await done.sink.close();
      const path = nameOf(plan.index, plan.count);
      files.push({ path, bytes: done.bytes, role: 'weights' });
      shards.push([path, plan.tensors.map((t) => t.name)]);
      totalSize += plan.dataBytes;
    },
  }, { ...modelOptions, outputPath: options.outputPath ?? folder.name });
  if (shards.length > 1 || folder.index !== undefined) {
    const path = `${folder.prefix}${INDEX_SUFFIX}`;
    files.push({ path, bytes: await writeText(out, path, safetensorsIndexJson(totalSize, shards)), role: 'index' });
  }
  if (folder.config) {
    const text = mergeQuantizationConfig(folder.config.text, report.quantizationConfig as Record<string, unknown>);
    files.push({ path: folder.config.path, bytes: await writeText(out, folder.config.path, text), role: 'config' });
  }
  for (const file of folder.others) files.push({ path: file.path, bytes: await copy(file, out, options.signal), role: 'copied' });
  const warnings = folder.config ? report.warnings : [
    ...(report.warnings ?? []),
    `${folder.name} has no ${CONFIG}: the quantization_config is only in each shard's __metadata__; vLLM and transformers read it from ${CONFIG}`,
  ];
  return { report: { ...report, ...(warnings ? { warnings } : {}) }, files };
}

/** A copied file named as an output file would be overwritten by it: refused, before anything is written. */
function checkNames(folder: ModelFolder, names: string[]): void {
  for (const name of names) {
    if (folder.others.some((f) => f.path === name)) {
      throw new FormatError(
        `would be replaced by the quantized weights' file of the same name; move it out of the folder (it is not the model's ${folder.index ?? 'weights'})`,
        { file: `${folder.name}/${name}` },
      );
    }
  }
}
