// Node access to model folders: every file of a folder as a ranged source (opened when first
// read), and an output folder written under a temporary name and renamed into place only when
// complete, so that a failure leaves nothing behind and nothing is replaced without `force`.
import type { Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { FormatError } from '../errors.js';
import type { ByteSource } from '../formats/io.js';
import type { FolderFile, FolderSink } from '../model/folder.js';
import { openFileSource } from './files.js';

/** A source that opens its file on the first read and keeps it open until `close`. */
function lazySource(path: string, size: number): ByteSource & { close(): Promise<void> } {
  let opened: ReturnType<typeof openFileSource> | undefined;
  return {
    name: path,
    size,
    async read(offset, length) {
      opened ??= openFileSource(path);
      return (await opened).read(offset, length);
    },
    async readInto(offset, target) {
      opened ??= openFileSource(path);
      return (await opened).readInto(offset, target);
    },
    async close() {
      if (opened) await (await opened).close();
    },
  };
}

/**
 * Every file under `dir`, with paths relative to it ('/'-separated). Symbolic links are followed
 * (a Hugging Face cache snapshot is made of them), each folder once. Close the listing when done.
 */
export async function readFolder(dir: string): Promise<{ files: FolderFile[]; close(): Promise<void> }> {
  const files: (FolderFile & { source: ReturnType<typeof lazySource> })[] = [];
  const visited = new Set<string>();
  const walk = async (folder: string): Promise<void> => {
    const real = await realpath(folder);
    if (visited.has(real)) return;
    visited.add(real);
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      throw new FormatError(`cannot be listed (${(err as Error).message})`, { file: folder });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const info = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (!info) throw new FormatError('is a symbolic link to nothing', { file: path });
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) {
        const { size } = await stat(path);
        files.push({ path: relative(dir, path).split(sep).join('/'), source: lazySource(path, size) });
      }
    }
  };
  await walk(dir);
  return {
    files,
    async close() {
      for (const f of files) await f.source.close();
    },
  };
}

/** An output folder that appears under its name only once `commit` succeeds. */
export interface AtomicFolder {
  sink: FolderSink;
  /** Renames the finished folder into place, replacing what was there (only possible with `force`). */
  commit(): Promise<void>;
  /** Deletes the temporary folder; the destination is untouched. */
  abort(): Promise<void>;
}

/**
 * Writes into a temporary folder beside `path`. An existing `path` is refused unless `force`, and
 * is only replaced at commit.
 */
export async function createAtomicFolder(path: string, force = false): Promise<AtomicFolder> {
  const exists = await lstat(path).then(() => true, () => false);
  if (exists && !force) throw new FormatError('already exists; pass --force (force: true) to replace it', { file: path });
  await mkdir(dirname(path), { recursive: true });
  const stem = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}`);
  const temp = `${stem}.tmp`;
  await mkdir(temp);
  const open_: Set<{ close(): Promise<void> }> = new Set();
  return {
    sink: {
      async create(file) {
        const target = join(temp, ...file.split('/'));
        if (relative(temp, target).startsWith('..')) throw new FormatError('lies outside the output folder', { file });
        await mkdir(dirname(target), { recursive: true });
        const handle = await open(target, 'wx');
        let closed = false;
        const entry = {
          async close() {
            if (closed) return;
            closed = true;
            open_.delete(entry);
            await handle.sync();
            await handle.close();
          },
        };
        open_.add(entry);
        return {
          async write(chunk) {
            let done = 0;
            while (done < chunk.byteLength) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
          },
          close: entry.close,
        };
      },
    },
    async commit() {
      if (open_.size > 0) throw new Error(`${open_.size} output files are still open`);
      if (!(await lstat(path).then(() => true, () => false))) {
        await rename(temp, path);
        return;
      }
      // A folder cannot be renamed over a folder that has files: the old one is moved aside first.
      const old = `${stem}.old`;
      await rename(path, old);
      await rename(temp, path);
      await rm(old, { recursive: true, force: true });
    },
    async abort() {
      try {
        for (const f of [...open_]) await f.close().catch(() => undefined);
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    },
  };
}
