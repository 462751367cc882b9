// Node file access for the formats: ranged reads from a file handle, and outputs written to a
// temporary name and renamed into place only when complete.
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError } from '../errors.js';
import { type ByteSink, type ByteSource, checkRange } from '../formats/io.js';

/** A file opened for ranged reads. Close it when done. */
export async function openFileSource(path: string): Promise<Required<ByteSource> & { close(): Promise<void> }> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new FormatError(err.code === 'ENOENT' ? 'no such file' : `cannot be opened (${err.message})`, { file: path });
  });
  const { size } = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  const readInto = async (offset: number, target: Uint8Array): Promise<void> => {
    const length = target.length;
    checkRange(path, size, offset, length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(target, done, length - done, offset + done);
      if (bytesRead === 0) throw new FormatError(`ended at byte ${offset + done}, before ${offset + length}`, { file: path });
      done += bytesRead;
    }
  };
  return {
    name: path,
    size,
    async read(offset, length) {
      const buffer = new Uint8Array(length);
      await readInto(offset, buffer);
      return buffer;
    },
    readInto,
    close: () => handle.close(),
  };
}

/** An output file that appears under its name only once `commit` succeeds. */
export interface AtomicFile {
  sink: ByteSink;
  /** Flushes, closes and renames the temporary file into place. */
  commit(): Promise<void>;
  /** Closes and deletes the temporary file; the destination is untouched. */
  abort(): Promise<void>;
}

/**
 * Writes to a temporary file beside `path` (creating its folder). An existing `path` is refused
 * unless `force`, and is only replaced by the rename at commit, so a failure never leaves a
 * partial output behind.
 */
export async function createAtomicFile(path: string, force = false): Promise<AtomicFile> {
  const exists = await stat(path).then(() => true, () => false);
  if (exists && !force) {
    throw new FormatError('already exists; pass --force (force: true) to overwrite it', { file: path });
  }
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'wx');
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  return {
    sink: {
      async write(chunk) {
        let done = 0;
        while (done < chunk.byteLength) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
          done += bytesWritten;
        }
      },
    },
    async commit() {
      await handle.sync();
      await close();
      await rename(temp, path);
    },
    async abort() {
      try {
        await close();
      } finally {
        await rm(temp, { force: true });
      }
    },
  };
}
