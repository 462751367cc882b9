// Wires the page: opening a file, the adapter, running, the result and the plots.
import { adapterName } from '../src/webgpu/device.js';
import { formatReport, type ModelReport } from '../src/model/index.js';
import { TensorCharts } from './charts.js';
import { QuantizerClient } from './client.js';
import { bytes, shape } from './format.js';
import type { OpenedModel, RunResult, RunSettings } from './protocol.js';
import { canSaveFolder, canSaveToDisk, isAbort, pickOutputDirectory, pickOutputFile, RunControl } from './run.js';
import { outputName, SchemeForm } from './scheme.js';
import { QualityTable, renderTensorList } from './tables.js';

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const fileInput = $<HTMLInputElement>('file');
const folderInput = $<HTMLInputElement>('folder');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');
const backend = $<HTMLSelectElement>('backend');
const verify = $<HTMLInputElement>('verify');
const saveToDisk = $<HTMLInputElement>('save-to-disk');
const errorBox = $('error');
const progressText = $('progress-text');

const client = new QuantizerClient();
const form = new SchemeForm();
const runner = new RunControl(client, $<HTMLProgressElement>('progress'), progressText);
const charts = new TensorCharts({
  original: $('chart-original'), dequantized: $('chart-dequantized'), error: $('chart-error'),
  channels: $('chart-channels'), channelCaption: $('channel-caption'),
});
const quality = new QualityTable($<HTMLTableElement>('quality'), (name) => void showTensor(name));

let opened: OpenedModel | undefined;
let probed = false;
let objectUrls: string[] = [];
/** Only the latest plot request is drawn, however the answers are ordered. */
let detailRequest = 0;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function showError(err: unknown): void {
  errorBox.textContent = message(err);
}

function updateControls(): void {
  const running = runner.active;
  runButton.disabled = running || !opened || !probed;
  cancelButton.disabled = !running;
  fileInput.disabled = running;
  folderInput.disabled = running;
  $('save-field').hidden = opened?.folder ? !canSaveFolder : !canSaveToDisk;
  $<HTMLFieldSetElement>('scheme-fields').disabled = running;
  $<HTMLFieldSetElement>('run-fields').disabled = running;
  // Checking the CPU reference against itself would prove nothing.
  verify.disabled = running || backend.value === 'cpu';
}

async function probe(): Promise<void> {
  const adapter = $('adapter');
  const webgpu = backend.querySelector<HTMLOptionElement>('option[value=webgpu]');
  try {
    const facts = await client.call('probe', undefined).result;
    const name = adapterName(facts);
    if (webgpu) webgpu.textContent = `WebGPU: ${name}`;
    if (facts.isFallback) {
      adapter.className = 'warn';
      adapter.textContent = `The only WebGPU adapter here is ${name}, a software fallback: a CPU emulation of a GPU, ` +
        'correct but slow. The CPU reference, in a Web Worker, is selected instead; choose WebGPU to use the fallback anyway.';
      backend.value = 'cpu';
    } else {
      adapter.className = '';
      adapter.textContent = `WebGPU adapter: ${name} (storage bindings up to ${bytes(facts.limits.maxStorageBufferBindingSize)}).`;
      backend.value = 'webgpu';
    }
  } catch (err) {
    adapter.className = 'warn';
    const why = document.createElement('small');
    why.textContent = `Reason: ${message(err)}`;
    adapter.replaceChildren('WebGPU is not available in this browser. The CPU reference runs in a Web Worker instead ' +
      'and writes the same bytes.', why);
    if (webgpu) webgpu.disabled = true;
    backend.value = 'cpu';
  }
  probed = true;
  updateControls();
}

/** One file, or every file of a model folder (more than one file chosen or dropped). */
async function openFile(file: File | File[]): Promise<void> {
  const what = Array.isArray(file) ? `the model folder (${file.length} files)` : file.name;
  errorBox.textContent = '';
  opened = undefined;
  $('result').hidden = true;
  $('detail').hidden = true;
  charts.clear();
  updateControls();
  const summary = $('model-summary');
  const box = $('tensors-box');
  summary.textContent = `Reading the header of ${what}…`;
  try {
    const model = await client.call('open', file).result;
    opened = model;
    summary.textContent = model.folder
      ? `${model.name}: model folder of ${model.folder.files} files, ${model.folder.shards} safetensors shard${model.folder.shards === 1 ? '' : 's'}, ${bytes(model.bytes)} of weights, ${model.tensors.length} tensors.`
      : `${model.name}: ${model.format}, ${bytes(model.bytes)}, ${model.tensors.length} tensors.`;
    renderTensorList($<HTMLTableElement>('tensors').tBodies[0] as HTMLTableSectionElement, model.tensors);
    box.hidden = false;
    form.setInputFormat(model.format);
  } catch (err) {
    summary.textContent = `${what} could not be opened.`;
    box.hidden = true;
    showError(err);
  }
  updateControls();
}

async function run(): Promise<void> {
  if (!opened || runner.active) return;
  errorBox.textContent = '';
  let settings: RunSettings;
  try {
    const choice = form.choice();
    settings = {
      scheme: choice.scheme, backend: backend.value === 'webgpu' ? 'webgpu' : 'cpu', verify: !verify.disabled && verify.checked,
      include: choice.include, exclude: choice.exclude, outputName: outputName(opened.name, choice.format, choice.scheme),
    };
    if (opened.folder) {
      // A folder's output is a folder: its name has no extension.
      settings.outputName = settings.outputName.replace(/\.safetensors$/, '');
      if (canSaveFolder && saveToDisk.checked) settings.directory = await pickOutputDirectory();
    } else if (canSaveToDisk && saveToDisk.checked) {
      settings.file = await pickOutputFile(settings.outputName);
    }
  } catch (err) {
    if (!isAbort(err)) showError(err);
    return;
  }
  $('result').hidden = true;
  $('detail').hidden = true;
  charts.clear();
  const pending = runner.run(settings);
  updateControls();
  try {
    const result = await pending;
    showResult(result, settings);
    progressText.textContent = `Done: ${result.report.tensors.length} tensors in ${result.report.seconds.toFixed(2)} s.`;
  } catch (err) {
    progressText.textContent = isAbort(err)
      ? `Cancelled ${runner.describeStop()}. Nothing was written.`
      : `Stopped ${runner.describeStop()}.`;
    if (!isAbort(err)) showError(err);
  } finally {
    const hadFocus = document.activeElement === cancelButton;
    updateControls();
    // The cancel button has just been disabled; keep keyboard users where they can act next.
    if (hadFocus) runButton.focus();
  }
}

function link(id: string, blob: Blob, name: string, text: string): void {
  const a = $<HTMLAnchorElement>(id);
  const url = URL.createObjectURL(blob);
  objectUrls.push(url);
  a.href = url;
  a.download = name;
  a.textContent = text;
  a.hidden = false;
}

function describeRun(report: ModelReport, settings: RunSettings): string {
  const s = report.scheme;
  const quantized = report.tensors.filter((t) => t.action === 'quantized').length;
  const where = report.adapter ? `WebGPU (${adapterName(report.adapter)})` : report.backend === 'cpu' ? 'the CPU reference' : 'WebGPU';
  return `${quantized} of ${report.tensors.length} tensors quantized: ${s.profile} ${s.dtype} ` +
    `${s.symmetric ? 'symmetric' : 'asymmetric'} ${s.granularity}${s.blockSize ? ` ${s.blockSize}` : ''} on ${where}. ` +
    `${bytes(report.input.bytes)} → ${bytes(report.output.bytes)} (${report.compressionRatio.toFixed(2)}×) in ` +
    `${report.seconds.toFixed(2)} s, ${report.throughputMBps.toFixed(1)} MB/s.` +
    (settings.file ? ` Written to ${settings.file.name}.` : '') +
    (settings.directory ? ` Written to ${settings.directory.name}/${settings.outputName}.` : '');
}

function showResult({ report, output, files }: RunResult, settings: RunSettings): void {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  const stem = settings.outputName.replace(/\.(gguf|safetensors)$/, '');
  $('summary').textContent = describeRun(report, settings);
  const verified = report.tensors.filter((t) => t.verify);
  const differ = verified.filter((t) => !t.verify?.equal);
  const verifyLine = $('verify-summary');
  verifyLine.className = differ.length > 0 ? 'error' : 'ok';
  verifyLine.textContent = verified.length === 0 ? ''
    : differ.length === 0 ? `CPU check: all ${verified.length} quantized tensors are bit-identical to the CPU reference.`
      : `CPU check: ${differ.length} of ${verified.length} tensors differ from the CPU reference; their first mismatches are in the table.`;
  $('download-model').hidden = true;
  const download = files ? `${settings.outputName}.zip` : settings.outputName;
  if (output) link('download-model', output, download, `Download ${download} (${bytes(output.size)}${files ? `, ${files.length} files` : ''})`);
  link('download-report', new Blob([`${JSON.stringify(report, null, 2)}\n`], { type: 'application/json' }),
    `${stem}.report.json`, 'Download the report (JSON)');
  $('download-config').hidden = true;
  if (report.quantizationConfig) {
    // The command line writes this beside a safetensors output; the same file, for the same loaders.
    link('download-config', new Blob([`${JSON.stringify(report.quantizationConfig, null, 2)}\n`], { type: 'application/json' }),
      `${stem}.quantization_config.json`, 'Download quantization_config.json');
  }
  quality.show(report.tensors);
  $('report-text').textContent = formatReport(report);
  $('result').hidden = false;
}

async function showTensor(name: string): Promise<void> {
  const request = ++detailRequest;
  quality.select(name);
  const section = $('detail');
  const status = $('detail-status');
  $('detail-title').textContent = name;
  status.textContent = `Quantizing ${name} again to plot it…`;
  section.hidden = false;
  try {
    const detail = await client.call('inspect', name).result;
    if (request !== detailRequest) return;
    status.textContent = `${shape(detail.shape)}: the original and dequantized weights share their bins.`;
    charts.show(detail);
    section.scrollIntoView({ block: 'nearest' });
  } catch (err) {
    if (request === detailRequest) status.textContent = `Could not plot ${name}: ${message(err)}`;
  }
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) void openFile(file);
});
folderInput.addEventListener('change', () => {
  const files = [...(folderInput.files ?? [])];
  if (files.length > 0) void openFile(files);
});

// A file dropped anywhere on the page is opened; without this the browser would navigate to it.
const drop = $('drop');
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
document.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) drop.classList.remove('over');
});
document.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const files = [...(event.dataTransfer?.files ?? [])];
  if (files.length > 0 && !runner.active) void openFile(files.length > 1 ? files : files[0] as File);
});

$('scheme-form').addEventListener('submit', (event) => event.preventDefault());
backend.addEventListener('change', updateControls);
runButton.addEventListener('click', () => void run());
cancelButton.addEventListener('click', () => runner.cancel());
$('save-field').hidden = !canSaveToDisk;
void probe();
