// quantizeStream pushes its parameters and chunks into callbacks; a file writer wants to pull a
// tensor's bytes when each entry is due, possibly the small entries before the codes. This turns
// one into the other, holding at most one chunk: the stream makes the next chunk only once the
// consumer asks for it.
import type { QuantizedChunk, StreamedTensor, StreamOptions } from '../stream.js';
import type { QuantizedTensor } from '../types.js';

export type Params = Pick<QuantizedTensor, 'scales' | 'zeroPoints'>;

/** A running streamed quantization, pulled from. */
export interface PulledStream {
  /** The scales and zero points, once calibrated; rejects if the stream fails first. */
  readonly params: Promise<Params>;
  /** The next chunk, or undefined after the last; rejects with the stream's error. */
  next(): Promise<QuantizedChunk | undefined>;
  /** What the stream returned, once it has; rejects with its error. */
  readonly result: Promise<StreamedTensor>;
  /** Stops a stream still running (a consumer that gave up) and waits until it has let go of everything. */
  close(): Promise<void>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Why a stream stopped when its consumer closed it; never reaches the consumer. */
class Closed extends Error {
  constructor() {
    super('the consumer closed the stream');
  }
}

/**
 * Starts `run` (a quantizeStream call given the hooks) and returns its results to pull. The hooks'
 * signal follows `signal` and also aborts when the consumer closes the stream, so that a stream
 * given up on stops at once rather than after calibrating. Nothing it rejects with goes unhandled,
 * even if the consumer never asks.
 */
export function pullStream(
  run: (hooks: Required<Pick<StreamOptions, 'onParams' | 'onChunk' | 'signal'>>) => Promise<StreamedTensor>,
  signal?: AbortSignal,
): PulledStream {
  const controller = new AbortController();
  const follow = () => controller.abort(signal?.reason);
  if (signal?.aborted) follow();
  else signal?.addEventListener('abort', follow, { once: true });
  const params = deferred<Params>();
  const result = deferred<StreamedTensor>();
  // The stream's rejection reaches whoever asks; one nobody asks for is not an unhandled error.
  params.promise.catch(() => {});
  result.promise.catch(() => {});
  /** A chunk made and not yet taken, with what lets the stream go on once it has been used. */
  let offered: { chunk: QuantizedChunk; used: Deferred<undefined> } | undefined;
  /** The taken chunk the consumer is still using: released when it asks for the next one. */
  let inUse: Deferred<undefined> | undefined;
  let waiting: Deferred<QuantizedChunk | undefined> | undefined;
  let outcome: { done: true } | { error: unknown } | undefined;
  let closed = false;

  const settled = run({
    signal: controller.signal,
    onParams: (p) => params.resolve(p),
    onChunk(chunk) {
      if (closed) throw new Closed();
      const used = deferred<undefined>();
      if (waiting) {
        inUse = used;
        waiting.resolve(chunk);
        waiting = undefined;
      } else {
        offered = { chunk, used };
      }
      return used.promise;
    },
  }).then(
    (value) => {
      outcome = { done: true };
      result.resolve(value);
      waiting?.resolve(undefined);
    },
    (error: unknown) => {
      outcome = { error };
      params.reject(error);
      result.reject(error);
      waiting?.reject(error);
    },
  ).finally(() => signal?.removeEventListener('abort', follow));

  return {
    params: params.promise,
    result: result.promise,
    async next() {
      inUse?.resolve(undefined);
      inUse = undefined;
      if (offered) {
        const { chunk, used } = offered;
        offered = undefined;
        inUse = used;
        return chunk;
      }
      if (outcome) {
        if ('error' in outcome) throw outcome.error;
        return undefined;
      }
      waiting = deferred();
      return waiting.promise;
    },
    async close() {
      closed = true;
      controller.abort(new Closed());
      for (const d of [inUse, offered?.used]) d?.reject(new Closed());
      inUse = undefined;
      offered = undefined;
      await settled;
    },
  };
}
