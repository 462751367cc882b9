// Workers fail cleanly: a worker that throws, one terminated mid-tensor and an abort each end the
// call with a clear error, end the pool (the next call starts a new one) and leave no output file.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuantizationError, quantize, quantizeStream, releaseWorkers } from '../../src/index.js';
import type { QuantScheme } from '../../src/index.js';
import { sharedPool } from '../../src/fast/pool.js';
import { openModel } from '../../src/model/index.js';
import { quantizeModel } from '../../src/model/quantize-model.js';
import { createAtomicFile, openFileSource } from '../../src/node/files.js';
import { randomNormal } from '../../src/synthetic.js';

afterAll(async () => {
  await releaseWorkers();
});

const WORKERS = 3;
const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
const shape = [512, 4096];
const x = randomNormal(512 * 4096, 5);

/** The shared pool, started by a small call first. */
async function warmPool() {
  await quantize(randomNormal(64, 1), [8, 8], scheme, { workers: WORKERS });
  return sharedPool(WORKERS);
}

async function recovers(): Promise<void> {
  const q = await quantize(x, shape, scheme, { workers: WORKERS });
  const ref = await quantize(x, shape, scheme, { backend: 'reference' });
  expect(Buffer.from(q.packed.buffer).equals(Buffer.from(ref.packed.buffer))).toBe(true);
}

describe('fast CPU engine failures', () => {
  it('a worker that throws gives a QuantizationError and ends the pool', async () => {
    const pool = await warmPool();
    const running = quantize(x, shape, scheme, { workers: WORKERS });
    pool.handles[0]?.post({ op: 'no such operation', id: 0 }, []);
    const err = await running.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizationError);
    expect((err as Error).message).toMatch(/a CPU worker failed: .*unknown operation/);
    expect(pool.ended).toBe(true);
    expect(await sharedPool(WORKERS)).not.toBe(pool);
    await recovers();
  });

  it('a job that fails in its worker gives a QuantizationError with its message', async () => {
    const pool = await warmPool();
    const err = await pool.run({ op: 'codes', x: 'not an array' }, []).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizationError);
    expect((err as Error).message).toMatch(/^a CPU worker failed: /);
  });

  it('a worker terminated mid-tensor gives a QuantizationError and ends the pool', async () => {
    const pool = await warmPool();
    const running = quantize(x, shape, scheme, { workers: WORKERS });
    await new Promise((r) => setTimeout(r, 5));
    pool.handles[1]?.raw.terminate();
    const err = await running.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizationError);
    expect((err as Error).message).toMatch(/a CPU worker failed: a worker exited/);
    expect(pool.ended).toBe(true);
    await recovers();
  });

  it('an AbortSignal stops every worker, whole and streamed', async () => {
    const pool = await warmPool();
    const controller = new AbortController();
    const running = quantize(x, shape, scheme, { workers: WORKERS, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const err = await running.then(() => undefined, (e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(pool.ended).toBe(true);

    const again = new AbortController();
    const streamed = quantizeStream({ read: async (s, n) => x.slice(s, s + n) }, shape, scheme, {
      workers: WORKERS, signal: again.signal, chunkElements: 1 << 18,
      onChunk: ({ start }) => {
        if (start > 0) again.abort();
      },
    });
    expect(((await streamed.then(() => undefined, (e: unknown) => e)) as Error).name).toBe('AbortError');
    await recovers();
  });

  it('a worker lost during a model run leaves no output file (as the CLI writes it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fast-fail-'));
    try {
      const source = await openFileSource('models/stories260K.gguf');
      const model = await openModel(source);
      const pool = await warmPool();
      const output = join(dir, 'out.gguf');
      const file = await createAtomicFile(output);
      // A worker dies while the third job of the run is in flight: mid-tensor, whichever tensor that is.
      let jobs = 0;
      let killed = false;
      const run0 = pool.run.bind(pool);
      pool.run = (job, transfer) => {
        const answer = run0(job, transfer);
        if (++jobs === 3) {
          killed = true;
          pool.handles[2]?.raw.terminate();
        }
        return answer;
      };
      const run = quantizeModel(model, file.sink, {
        scheme: { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
        backend: 'cpu', workers: WORKERS, chunkElements: 1 << 15,
      });
      const err = await run.then(() => undefined, (e: unknown) => e);
      await file.abort();
      await source.close?.();
      expect(killed).toBe(true);
      expect(String(err)).toMatch(/a CPU worker failed/);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await readFile('models/stories260K.gguf')).byteLength).toBeGreaterThan(0);
  });
});
