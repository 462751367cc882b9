// The messages between the page and its worker. All heavy work (reading, quantizing, verifying,
// writing) happens in the worker, so the page only renders and stays responsive.
import type { AdapterFacts, Backend, QuantScheme } from '../src/index.js';
import type { ModelProgress, ModelReport, OutputFile, OutputFormat } from '../src/model/index.js';

/** A tensor as the page lists it, straight from the file's header. */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
}

export interface OpenedModel {
  name: string;
  format: OutputFormat;
  bytes: number;
  tensors: TensorInfo[];
  /** A model folder: how many files it holds and how many of them are weight shards. */
  folder?: { files: number; shards: number };
}

export interface RunSettings {
  scheme: QuantScheme;
  backend: Backend;
  verify: boolean;
  include: string[];
  exclude: string[];
  outputName: string;
  /** Where File System Access exists and the user chose a file: the output streams into it. */
  file?: FileSystemFileHandle;
  /** A model folder's output, where File System Access exists: a new folder `outputName` in this one. */
  directory?: FileSystemDirectoryHandle;
}

export interface RunResult {
  report: ModelReport;
  /** The output (a zip, for a model folder), when it was assembled in the browser rather than streamed to disk. */
  output?: Blob;
  /** A model folder's output files. */
  files?: OutputFile[];
}

export interface Histogram {
  lo: number;
  hi: number;
  counts: Uint32Array;
}

/** What the plots of one tensor need, reduced in the worker to a few kilobytes. */
export interface TensorDetail {
  name: string;
  shape: number[];
  /** The original and dequantized weights share bins, so their shapes can be compared. */
  original: Histogram;
  dequantized: Histogram;
  error: Histogram;
  channelAxis: number;
  /** +Infinity for a channel reconstructed exactly. */
  channelSqnrDb: Float64Array;
}

/** Each request names its answer's type. */
export interface Api {
  probe: { arg: undefined; result: AdapterFacts };
  /** One model file, or every file of a model folder. */
  open: { arg: File | File[]; result: OpenedModel };
  run: { arg: RunSettings; result: RunResult };
  inspect: { arg: string; result: TensorDetail };
}

export type Method = keyof Api;

export type Request =
  | { [M in Method]: { id: number; method: M; arg: Api[M]['arg'] } }[Method]
  | { id: number; method: 'cancel' };

export type Response =
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; name: string; message: string }
  | { id: number; kind: 'progress'; progress: ModelProgress };
