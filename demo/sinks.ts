// Where the quantized file goes while it is being made, inside the worker.
import type { ByteSink } from '../src/model/index.js';

export interface OutputSink extends ByteSink {
  /** The finished output: a Blob when it was assembled here, nothing when it went to a file. */
  finish(): Promise<Blob | undefined>;
  /** Drops a partial output (a cancelled or failed run). */
  discard(): Promise<void>;
}

// Parts are handed to a Blob every so often: the browser keeps Blob data in its own store (and
// pages it to disk when large), so the worker's heap holds at most this much output at a time.
const FOLD_BYTES = 16 * 2 ** 20;

/** Assembles the output from Blob parts; never as one ArrayBuffer. */
export function blobSink(): OutputSink {
  let blob = new Blob([]);
  let parts: Uint8Array<ArrayBuffer>[] = [];
  let held = 0;
  const fold = (): void => {
    blob = new Blob([blob, ...parts]);
    parts = [];
    held = 0;
  };
  return {
    async write(chunk) {
      // A copy, since a writer may reuse the buffer behind a chunk once write returns.
      parts.push(chunk.slice());
      held += chunk.byteLength;
      if (held >= FOLD_BYTES) fold();
    },
    async finish() {
      fold();
      return blob;
    },
    async discard() {
      parts = [];
      blob = new Blob([]);
    },
  };
}

/** Streams the output to a file the user chose (File System Access). */
export async function fileSink(handle: FileSystemFileHandle): Promise<OutputSink> {
  const writable = await handle.createWritable();
  return {
    write: (chunk) => writable.write(chunk.slice()),
    async finish() {
      await writable.close();
      return undefined;
    },
    // abort() leaves the file as it was before the run instead of half written.
    discard: () => writable.abort(),
  };
}
