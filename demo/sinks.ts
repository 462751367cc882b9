// Where the quantized file (or model folder) goes while it is being made, inside the worker.
import { Zip, ZipPassThrough } from 'fflate';
import type { ByteSink, FolderSink } from '../src/model/index.js';

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

/** A model folder's output as the worker writes it: files one after another, then finished or dropped. */
export interface FolderOutput extends FolderSink {
  /** The zip, when the folder was assembled here; nothing when it went to a folder on disk. */
  finish(): Promise<Blob | undefined>;
  discard(): Promise<void>;
}

/**
 * The folder as a zip streamed into Blob parts (fflate's `Zip`, entries stored uncompressed: quantized
 * weights do not deflate, and storing keeps the work a copy). Each file's bytes pass straight
 * through to the zip; at most a Blob fold's worth is held at a time.
 */
export function zipFolder(): FolderOutput {
  const out = blobSink();
  let failure: Error | undefined;
  let written = Promise.resolve();
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else written = written.then(() => out.write(chunk));
  });
  const settle = async () => {
    await written;
    if (failure) throw failure;
  };
  return {
    async create(path) {
      const entry = new ZipPassThrough(path);
      zip.add(entry);
      return {
        async write(chunk) {
          entry.push(chunk);
          await settle();
        },
        async close() {
          entry.push(new Uint8Array(0), true);
          await settle();
        },
      };
    },
    async finish() {
      zip.end();
      await settle();
      return out.finish();
    },
    async discard() {
      zip.terminate();
      await out.discard();
    },
  };
}

/**
 * The folder written into a new folder `name` inside one the user chose (File System Access),
 * each file streamed to disk as it is made. An existing `name` is refused, and a failed run
 * removes what it made.
 */
export async function directoryFolder(parent: FileSystemDirectoryHandle, name: string): Promise<FolderOutput> {
  const exists = await parent.getDirectoryHandle(name).then(() => true, () => false);
  if (exists) throw new Error(`${name} already exists in the folder you chose; choose another folder or remove it`);
  const root = await parent.getDirectoryHandle(name, { create: true });
  return {
    async create(path) {
      const parts = path.split('/');
      let dir = root;
      for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
      const writable = await (await dir.getFileHandle(parts.at(-1) as string, { create: true })).createWritable();
      return { write: (chunk) => writable.write(chunk.slice()), close: () => writable.close() };
    },
    finish: async () => undefined,
    discard: () => parent.removeEntry(name, { recursive: true }),
  };
}
