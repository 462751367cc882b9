// Ranged reads of float tensors: a file source reads float32 straight into the result
// (readInto), any other source through read; both give the same values, and a file that ends
// early is named.
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { bytesSource, readFloat32Range } from '../../src/formats/io.js';
import { openFileSource } from '../../src/node/files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wq-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readFloat32Range from a file', () => {
  it('reads float32 into place, equal to the same bytes read from memory, at any offset', async () => {
    // 7 header bytes, then 101 float32 values: odd offsets, NaN payloads and −0 kept.
    const values = Float32Array.from({ length: 101 }, (_, i) => (i - 50) / 7);
    new Uint32Array(values.buffer)[3] = 0x7fc01234;
    values[4] = -0;
    const bytes = new Uint8Array(7 + values.byteLength);
    bytes.set(new Uint8Array(values.buffer), 7);
    const path = join(dir, 'values.bin');
    await writeFile(path, bytes);
    const file = await openFileSource(path);
    try {
      const where = { file: path, tensor: 't' };
      for (const [start, length] of [[0, 101], [3, 10], [100, 1], [50, 0]] as const) {
        const fromFile = await readFloat32Range(file, where, 7, 'F32', 101, start, length);
        const fromMemory = await readFloat32Range(bytesSource(bytes), where, 7, 'F32', 101, start, length);
        expect(Array.from(new Uint32Array(fromFile.buffer))).toEqual(Array.from(new Uint32Array(fromMemory.buffer)));
        expect(Array.from(new Uint32Array(fromFile.buffer))).toEqual(Array.from(new Uint32Array(values.buffer, start * 4, length)));
      }
    } finally {
      await file.close();
    }
  });

  it('names the file and the byte where it ended, when it shrank after it was opened', async () => {
    const path = join(dir, 'shrinks.bin');
    await writeFile(path, new Uint8Array(400));
    const file = await openFileSource(path);
    try {
      await truncate(path, 100);
      const err = await file.readInto(0, new Uint8Array(400)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).message).toMatch(/ended at byte 100, before 400/);
      expect((err as FormatError).message).toContain(path);
    } finally {
      await file.close();
    }
  });
});
