// The page's worker: it holds the open model and does every read, quantization, CPU check and
// write, so that a multi-GB model never blocks the page. WebGPU is used from here too
// (navigator.gpu exists in dedicated workers), so what the page reports is what runs.
import { adapterFacts, type Backend, type QuantScheme } from '../src/index.js';
import {
  blobSource, type FolderFile, type ModelFile, type ModelFolder, modelTensors, openModel, openModelFolder, quantizeFolder, quantizeModel,
} from '../src/model/index.js';
import { tensorDetail } from './detail.js';
import { blobSink, directoryFolder, fileSink, zipFolder } from './sinks.js';
import type { Api, Method, OpenedModel, Request, Response, RunResult, RunSettings } from './protocol.js';

// The DOM typings describe a window; these are the only worker-scope members used here.
interface WorkerScope {
  postMessage(message: Response): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<Request>) => void): void;
}
const scope = self as unknown as WorkerScope;

let model: ModelFile | undefined;
/** The open model folder, when a folder was opened (its weights are `model`). */
let folder: ModelFolder | undefined;
/** The last run's scheme and backend: the plots show what that run made. */
let lastRun: { scheme: QuantScheme; backend: Backend } | undefined;
const running = new Map<number, AbortController>();

function openedModel(): ModelFile {
  if (!model) throw new Error('no model is open');
  return model;
}

/**
 * A folder's files with paths inside it: a picked folder's files carry `folder/…` in
 * webkitRelativePath; dropped files have only their names.
 */
function folderFiles(files: File[]): { name: string; files: FolderFile[] } {
  const name = files.find((f) => f.webkitRelativePath)?.webkitRelativePath.split('/')[0] ?? 'model';
  return {
    name,
    files: files.map((f) => ({
      path: f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : f.name,
      source: blobSource(f, f.webkitRelativePath || f.name),
    })),
  };
}

async function openFolder(files: File[]): Promise<OpenedModel> {
  const { name, files: entries } = folderFiles(files);
  const opened = await openModelFolder(name, entries);
  folder = opened;
  model = opened.model;
  return {
    name,
    format: 'safetensors',
    bytes: opened.model.source.size,
    tensors: opened.model.tensors.map(({ name: n, dtype, shape, byteLength }) => ({ name: n, dtype, shape, byteLength })),
    folder: { files: files.length, shards: opened.shards.length },
  };
}

async function open(file: File | File[]): Promise<OpenedModel> {
  model = undefined;
  folder = undefined;
  lastRun = undefined;
  if (Array.isArray(file)) return openFolder(file);
  const opened = await openModel(blobSource(file));
  model = opened;
  return {
    name: file.name,
    format: opened.format,
    bytes: file.size,
    tensors: modelTensors(opened).map(({ name, dtype, shape, byteLength }) => ({ name, dtype, shape, byteLength })),
  };
}

/** zip has no room for sizes and offsets past 4 GiB without ZIP64, which fflate does not write. */
const ZIP_LIMIT = 2 ** 32 - 1;

async function runFolder(id: number, settings: RunSettings, opened: ModelFolder, signal: AbortSignal): Promise<RunResult> {
  const total = opened.model.source.size + opened.others.reduce((n, f) => n + f.source.size, 0);
  if (!settings.directory && total > ZIP_LIMIT) {
    throw new Error(`this folder holds ${total} bytes; a zip of more than 4 GiB needs ZIP64, which the page does not write: ` +
      'tick "Write to disk as it is made" and choose a folder (File System Access), or use the command line');
  }
  const out = settings.directory ? await directoryFolder(settings.directory, settings.outputName) : zipFolder();
  try {
    const { report, files } = await quantizeFolder(opened, out, {
      scheme: settings.scheme, backend: settings.backend, verify: settings.verify, include: settings.include, exclude: settings.exclude,
      signal, inputPath: opened.name, outputPath: settings.outputName,
      onProgress: (progress) => scope.postMessage({ id, kind: 'progress', progress }),
    });
    const output = await out.finish();
    lastRun = { scheme: settings.scheme, backend: settings.backend };
    return output ? { report, output, files } : { report, files };
  } catch (err) {
    await out.discard();
    throw err;
  }
}

async function run(id: number, settings: RunSettings): Promise<RunResult> {
  const current = openedModel();
  const controller = new AbortController();
  running.set(id, controller);
  if (folder) {
    try {
      return await runFolder(id, settings, folder, controller.signal);
    } finally {
      running.delete(id);
    }
  }
  const sink = settings.file ? await fileSink(settings.file) : blobSink();
  try {
    const report = await quantizeModel(current, sink, {
      scheme: settings.scheme,
      backend: settings.backend,
      verify: settings.verify,
      include: settings.include,
      exclude: settings.exclude,
      signal: controller.signal,
      inputPath: current.source.name,
      outputPath: settings.outputName,
      onProgress: (progress) => scope.postMessage({ id, kind: 'progress', progress }),
    });
    const output = await sink.finish();
    lastRun = { scheme: settings.scheme, backend: settings.backend };
    return output ? { report, output } : { report };
  } catch (err) {
    await sink.discard();
    throw err;
  } finally {
    running.delete(id);
  }
}

async function inspect(name: string): Promise<Api['inspect']['result']> {
  if (!lastRun) throw new Error('run the quantizer first');
  return tensorDetail(openedModel(), name, lastRun.scheme, lastRun.backend);
}

async function handle(request: Exclude<Request, { method: 'cancel' }>): Promise<Api[Method]['result']> {
  switch (request.method) {
    case 'probe':
      return adapterFacts();
    case 'open':
      return open(request.arg);
    case 'run':
      return run(request.id, request.arg);
    case 'inspect':
      return inspect(request.arg);
  }
}

scope.addEventListener('message', ({ data: request }) => {
  if (request.method === 'cancel') {
    running.get(request.id)?.abort();
    return;
  }
  handle(request).then(
    (value) => scope.postMessage({ id: request.id, kind: 'result', value }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      scope.postMessage({ id: request.id, kind: 'error', name: e.name, message: e.message });
    },
  );
});
