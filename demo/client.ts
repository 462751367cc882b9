// The page's side of the worker: each request gets a promise, a run's progress comes as calls.
import type { ModelProgress } from '../src/model/index.js';
import type { Api, Method, Request, Response } from './protocol.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: ModelProgress) => void;
}

export interface Call<M extends Method> {
  id: number;
  result: Promise<Api[M]['result']>;
}

export class QuantizerClient {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    this.worker.addEventListener('message', (event: MessageEvent<Response>) => this.receive(event.data));
    // A worker that failed to load or crashed answers nothing: every caller hears why.
    this.worker.addEventListener('error', (event) => {
      const error = new Error(`the quantizer's worker failed: ${event.message || 'it could not be loaded'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  call<M extends Method>(method: M, arg: Api[M]['arg'], onProgress?: (progress: ModelProgress) => void): Call<M> {
    const id = this.nextId++;
    const result = new Promise<Api[M]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, ...(onProgress ? { onProgress } : {}) });
    });
    this.worker.postMessage({ id, method, arg } as Request);
    return { id, result };
  }

  /** Aborts a run through its AbortSignal; the run's promise then rejects with an AbortError. */
  cancel(id: number): void {
    this.worker.postMessage({ id, method: 'cancel' } satisfies Request);
  }

  private receive(message: Response): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    if (message.kind === 'progress') {
      p.onProgress?.(message.progress);
      return;
    }
    this.pending.delete(message.id);
    if (message.kind === 'result') {
      p.resolve(message.value);
    } else {
      const error = new Error(message.message);
      error.name = message.name;
      p.reject(error);
    }
  }
}
