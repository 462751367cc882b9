// The page's worker: it holds the open model and does every read, quantization, CPU check and
// write, so that a multi-GB model never blocks the page. WebGPU is used from here too
// (navigator.gpu exists in dedicated workers), so what the page reports is what runs.
import { adapterFacts, type Backend, type QuantScheme } from '../src/index.js';
import { blobSource, type ModelFile, modelTensors, openModel, quantizeModel } from '../src/model/index.js';
import { tensorDetail } from './detail.js';
import { blobSink, fileSink } from './sinks.js';
import type { Api, Method, OpenedModel, Request, Response, RunResult, RunSettings } from './protocol.js';

// The DOM typings describe a window; these are the only worker-scope members used here.
interface WorkerScope {
  postMessage(message: Response): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<Request>) => void): void;
}
const scope = self as unknown as WorkerScope;

let model: ModelFile | undefined;
/** The last run's scheme and backend: the plots show what that run made. */
let lastRun: { scheme: QuantScheme; backend: Backend } | undefined;
const running = new Map<number, AbortController>();

function openedModel(): ModelFile {
  if (!model) throw new Error('no model is open');
  return model;
}

async function open(file: File): Promise<OpenedModel> {
  model = undefined;
  lastRun = undefined;
  const opened = await openModel(blobSource(file));
  model = opened;
  return {
    name: file.name,
    format: opened.format,
    bytes: file.size,
    tensors: modelTensors(opened).map(({ name, dtype, shape, byteLength }) => ({ name, dtype, shape, byteLength })),
  };
}

async function run(id: number, settings: RunSettings): Promise<RunResult> {
  const current = openedModel();
  const controller = new AbortController();
  running.set(id, controller);
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
