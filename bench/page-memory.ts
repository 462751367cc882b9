// The demo page's memory on a model far larger than its budget: a generated safetensors file
// (1 GiB by default) is chosen through the page's file input, quantized there, and the JS heaps of
// the page and of its worker (where the reading and quantizing happen) are sampled throughout.
// Both peaks must stay under --limit-mib (default 256): the readers slice the file, one tensor is
// in memory at a time, and the output goes into Blob storage, not the heap.
//
//   npx tsx bench/page-memory.ts [--gib 1] [--backend cpu|webgpu] [--limit-mib 256]
//
// The CPU backend is the default since on a machine without a GPU WebGPU is SwiftShader, which
// makes a 1 GiB run slow without changing what is measured. Exits 1 when a peak is over the limit.
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CDPSession, ElementHandle } from 'puppeteer-core';
import { build } from 'vite';
import { launchChromium, serveRepository } from '../test/browser/harness.js';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const value = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const gib = Number(value('--gib', '1'));
const backend = value('--backend', 'cpu');
const limitMiB = Number(value('--limit-mib', '256'));
const MiB = 2 ** 20;

// 16 MiB tensors: large enough to be real weights, small enough that one of them is a fraction of the budget.
const ROWS = 2048;
const COLS = 2048;

/** Writes a safetensors file of F32 [ROWS, COLS] weights, a tensor at a time. */
function writeModel(path: string, bytes: number): number {
  const tensorBytes = ROWS * COLS * 4;
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const header: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    header[`layers.${i}.weight`] = { dtype: 'F32', shape: [ROWS, COLS], data_offsets: [i * tensorBytes, (i + 1) * tensorBytes] };
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.byteLength));
  const values = new Float32Array(ROWS * COLS);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, length);
    writeSync(fd, json);
    let seed = 1;
    for (let i = 0; i < count; i++) {
      // A cheap generator, different per tensor, with a heavier tail every 61st row as real weights have.
      for (let j = 0; j < values.length; j++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        const tail = Math.floor(j / COLS) % 61 === 0 ? 8 : 1;
        values[j] = ((seed / 2 ** 32) - 0.5) * 0.1 * tail;
      }
      writeSync(fd, new Uint8Array(values.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return count;
}

interface Heap {
  usedSize: number;
  /** ArrayBuffer contents (every tensor is one), which usedSize leaves out. */
  backingStorageSize?: number;
}

/** Peak JS heap, typed arrays included, in MiB. */
interface Peaks {
  page: number;
  worker: number;
}

/** Samples the page's and the worker's heaps until stopped. */
function sampleHeaps(page: CDPSession, worker: CDPSession): { stop(): Promise<Peaks> } {
  const peaks: Peaks = { page: 0, worker: 0 };
  const used = async (session: CDPSession): Promise<number> => {
    const heap = (await session.send('Runtime.getHeapUsage')) as Heap;
    return (heap.usedSize + (heap.backingStorageSize ?? 0)) / MiB;
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      peaks.page = Math.max(peaks.page, await used(page));
      peaks.worker = Math.max(peaks.worker, await used(worker));
      await new Promise((done) => setTimeout(done, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peaks;
    },
  };
}

/** Peak resident memory (VmHWM) of each kind of Chromium process under `root`, in MiB. */
function processPeaks(root: number): Record<string, number> {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      // The parent pid is the second field after the parenthesised command name.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const descends = (pid: number): boolean => {
    for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  const peaks: Record<string, number> = {};
  for (const pid of parent.keys()) {
    if (!descends(pid)) continue;
    try {
      const type = /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      peaks[type] = Math.max(peaks[type] ?? 0, hwm);
    } catch {
      // As above.
    }
  }
  return peaks;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'page-memory-'));
  const model = join(tmp, 'large.safetensors');
  try {
    const count = writeModel(model, gib * 2 ** 30);
    const size = count * ROWS * COLS * 4;
    console.error(`[page-memory] wrote ${model}: ${count} tensors, ${(size / 2 ** 30).toFixed(2)} GiB`);
    await build({ configFile: resolve(ROOT, 'vite.config.ts'), root: resolve(ROOT, 'demo'), mode: 'demo', logLevel: 'warn' });
    const server = await serveRepository(resolve(ROOT, 'demo/dist'));
    const browser = await launchChromium([], backend === 'webgpu');
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/index.html`);
      await page.waitForFunction(() => !document.getElementById('adapter')?.textContent?.startsWith('Looking'));
      const worker = page.workers()[0];
      if (!worker) throw new Error('the page started no worker');
      const input = await page.$('#file');
      if (!input) throw new Error('the page has no file input');
      await (input as ElementHandle<HTMLInputElement>).uploadFile(model);
      await page.waitForFunction(() => !document.getElementById('tensors-box')?.hidden, { timeout: 60_000 });
      await page.select('#preset', 'ct-int8-channel');
      await page.select('#backend', backend);
      const sampler = sampleHeaps(await page.createCDPSession(), worker.client);
      const started = performance.now();
      await page.click('#run');
      await page.waitForFunction(() => /^(Done|Stopped|Cancelled)/.test(document.getElementById('progress-text')?.textContent ?? ''), {
        timeout: 0, polling: 500,
      });
      const seconds = (performance.now() - started) / 1000;
      const peaks = await sampler.stop();
      const outcome = await page.$eval('#progress-text', (el) => el.textContent ?? '');
      const error = await page.$eval('#error', (el) => el.textContent ?? '');
      const output = await page.$eval('#download-model', (a) => a.textContent ?? '');
      const processes = processPeaks(browser.process()?.pid ?? 0);
      console.log(`\n# Demo page memory: ${(size / 2 ** 30).toFixed(2)} GiB safetensors, ${count} tensors, backend ${backend}\n`);
      console.log(`${outcome} ${output} ${error}`.trim());
      console.log('\n| measure | peak (MiB) |\n| --- | --- |');
      console.log(`| page JS heap, typed arrays included | ${peaks.page.toFixed(1)} |`);
      console.log(`| worker JS heap, typed arrays included | ${peaks.worker.toFixed(1)} |`);
      for (const [type, mib] of Object.entries(processes)) console.log(`| Chromium ${type} process, resident (VmHWM) | ${mib.toFixed(0)} |`);
      console.log(`\nlimit for both JS heaps: ${limitMiB} MiB; ${seconds.toFixed(1)} s`);
      const ok = outcome.startsWith('Done') && peaks.page < limitMiB && peaks.worker < limitMiB;
      if (!ok) process.exitCode = 1;
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
