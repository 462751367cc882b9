// One run as the page sees it: where the output goes, progress, and cancelling.
import type { ModelProgress } from '../src/model/index.js';
import type { QuantizerClient } from './client.js';
import { bytes } from './format.js';
import type { RunResult, RunSettings } from './protocol.js';

// File System Access is not in every browser, nor in TypeScript's DOM typings.
interface SavePickerWindow {
  showSaveFilePicker?(options: { suggestedName: string; types?: { description: string; accept: Record<string, string[]> }[] }): Promise<FileSystemFileHandle>;
  showDirectoryPicker?(options: { mode: 'readwrite' }): Promise<FileSystemDirectoryHandle>;
}

export const canSaveToDisk = typeof (window as SavePickerWindow).showSaveFilePicker === 'function';

/** Asks where to write the output; rejects with an AbortError if the user declines. */
export async function pickOutputFile(suggestedName: string): Promise<FileSystemFileHandle> {
  const picker = (window as SavePickerWindow).showSaveFilePicker;
  if (!picker) throw new Error('this browser cannot write files directly; the output will be offered as a download');
  const extension = suggestedName.slice(suggestedName.lastIndexOf('.'));
  return picker.call(window, {
    suggestedName,
    types: [{ description: 'Model file', accept: { 'application/octet-stream': [extension] } }],
  });
}

export const canSaveFolder = typeof (window as SavePickerWindow).showDirectoryPicker === 'function';

/** Asks for the folder a model folder's output goes into; rejects with an AbortError if the user declines. */
export async function pickOutputDirectory(): Promise<FileSystemDirectoryHandle> {
  const picker = (window as SavePickerWindow).showDirectoryPicker;
  if (!picker) throw new Error('this browser cannot write folders directly; the output will be offered as a zip');
  return picker.call(window, { mode: 'readwrite' });
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** Runs the quantizer in the worker and shows its progress; one run at a time. */
export class RunControl {
  private runId: number | undefined;
  private latest: ModelProgress | undefined;
  private frame = 0;
  private started = 0;

  constructor(
    private readonly client: QuantizerClient,
    private readonly bar: HTMLProgressElement,
    private readonly text: HTMLElement,
  ) {}

  get active(): boolean {
    return this.runId !== undefined;
  }

  async run(settings: RunSettings): Promise<RunResult> {
    this.started = performance.now();
    this.latest = undefined;
    this.bar.value = 0;
    this.bar.hidden = false;
    this.text.textContent = 'Starting…';
    const call = this.client.call('run', settings, (p) => this.progress(p));
    this.runId = call.id;
    try {
      return await call.result;
    } finally {
      this.runId = undefined;
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
  }

  cancel(): void {
    if (this.runId !== undefined) this.client.cancel(this.runId);
  }

  /** Where the run stopped, for the message after a cancel or failure. */
  describeStop(): string {
    const p = this.latest;
    return p ? `after ${p.tensorIndex} of ${p.tensorCount} tensors (${bytes(p.doneBytes)} of ${bytes(p.totalBytes)})` : 'before the first tensor';
  }

  // Progress can come faster than the screen refreshes; only the latest is drawn, once a frame.
  private progress(p: ModelProgress): void {
    this.latest = p;
    this.frame ||= requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const p = this.latest;
    if (!p) return;
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? p.doneBytes / 1e6 / seconds : 0;
    this.bar.value = p.totalBytes > 0 ? p.doneBytes / p.totalBytes : 0;
    this.text.textContent =
      `${p.tensorIndex} of ${p.tensorCount} tensors done · ${p.tensorName} · ` +
      `${bytes(p.doneBytes)} of ${bytes(p.totalBytes)} · ${rate.toFixed(1)} MB/s`;
  }
}
