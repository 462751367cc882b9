// The fast CPU engine in headless Chromium (the built bundle): Web Workers made from the kernels'
// own source, on one worker (in the page's thread) and on several, with its WebAssembly SIMD loops
// and with its JavaScript loops only, equal to the reference in the same page on the GPU-vs-CPU
// suite's cases, whole and streamed, with the reference's NaN errors.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkCases, type GpuCase, makeData, matrixCases, shapeCases } from '../gpu/suite.js';
import { launchChromium, serveRepository, type StaticServer } from './harness.js';

let server: StaticServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  server = await serveRepository();
  browser = await launchChromium([], false);
  page = await browser.newPage();
  await page.goto(`${server.url}/test/browser/page.html`);
  await page.waitForFunction(() => document.title === 'ready');
  // Counts the Web Workers the page makes, to show that the engine runs on them.
  await page.evaluate(() => {
    const w = window as unknown as { Worker: typeof Worker; workersMade: number };
    const Base = w.Worker;
    w.workersMade = 0;
    w.Worker = class extends Base {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        w.workersMade++;
      }
    };
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface PageCase {
  name: string;
  shape: number[];
  scheme: GpuCase['scheme'];
  input: string;
  nanAt?: number;
}

function toPage(c: GpuCase, seed: number, nanAt?: number): PageCase {
  const x = makeData(c.data, c.shape, seed);
  if (nanAt !== undefined) x[nanAt] = NaN;
  return { name: c.name, shape: c.shape, scheme: c.scheme, input: Buffer.from(x.buffer).toString('base64'), ...(nanAt === undefined ? {} : { nanAt }) };
}

/** Runs the cases in the page; per case, what differs from the reference ('' when nothing). */
async function runInPage(cases: PageCase[], workers: number, simd = true): Promise<string[]> {
  return page.evaluate(async (all: PageCase[], n: number, simd: boolean) => {
    const q = (window as unknown as { quantizer: typeof import('../../src/index.js') }).quantizer;
    const out: string[] = [];
    const outcome = async <T>(run: Promise<T>) => run.then((v) => ({ v }), (e: Error) => ({ e: `${e.name}: ${e.message}` }));
    for (const c of all) {
      const bytes = Uint8Array.from(atob(c.input), (ch) => ch.charCodeAt(0));
      const x = new Float32Array(bytes.buffer);
      const ref = await outcome(q.quantize(x, c.shape, c.scheme, { backend: 'reference' }));
      const fast = await outcome(q.quantize(x, c.shape, c.scheme, { backend: 'cpu', workers: n, simd }));
      const parts: { start: number; codes: Int8Array | Uint8Array }[] = [];
      let packedWords: number[] = [];
      const streamed = await outcome(q.quantizeStream({ read: async (s, len) => x.slice(s, s + len) }, c.shape, c.scheme, {
        backend: 'cpu', workers: n, simd, chunkElements: Math.max(8, Math.ceil(x.length / 4)),
        onChunk: ({ start, codes, packed }) => {
          parts.push({ start, codes: codes.slice() });
          packedWords = packedWords.concat(Array.from(packed));
        },
      }));
      if ('e' in ref) {
        const got = ['e' in fast ? fast.e : 'no error', 'e' in streamed ? streamed.e : 'no error'];
        out.push(got.every((g) => g === ref.e) ? `same error: ${ref.e}` : `errors: ${ref.e} / ${got.join(' / ')}`);
        continue;
      }
      if ('e' in fast || 'e' in streamed) {
        out.push(`failed: ${'e' in fast ? fast.e : ''} ${'e' in streamed ? streamed.e : ''}`);
        continue;
      }
      const whole = q.compareQuantized(fast.v, ref.v, { input: x });
      const codes = new (ref.v.codes.constructor as Int8ArrayConstructor)(x.length);
      for (const p of parts) codes.set(p.codes, p.start);
      const asTensor = { ...ref.v, ...streamed.v, codes, packed: Uint32Array.from(packedWords) };
      const stream = q.compareQuantized(asTensor, ref.v, { input: x });
      out.push([whole.equal ? '' : `whole: ${whole.summary}`, stream.equal ? '' : `streamed: ${stream.summary}`].join(''));
    }
    return out;
  }, cases, workers, simd);
}

describe('fast CPU engine in headless Chromium', () => {
  it('has WebAssembly SIMD in the page and its workers, so that the SIMD runs below test it', async () => {
    const facts = await page.evaluate(() => (window as unknown as { quantizer: typeof import('../../src/index.js') }).quantizer.cpuFacts());
    expect(facts.simd).toBe(true);
  });

  const cases = [...matrixCases(), ...chunkCases(), ...shapeCases().filter((_, i) => i % 3 === 0)];
  it.each([[1, true], [3, true], [3, false]] as const)('equals the reference on the suite\'s cases, %i worker(s), SIMD %s', async (workers, simd) => {
    const before = await page.evaluate(() => (window as unknown as { workersMade: number }).workersMade);
    const pageCases = cases.map((c, i) => toPage(c, 4000 + i));
    const results = await runInPage(pageCases, workers, simd);
    expect(results.length).toBe(cases.length);
    expect(results.map((r, i) => (r ? `${cases[i]?.name}: ${r}` : '')).filter(Boolean)).toEqual([]);
    const made = await page.evaluate(() => (window as unknown as { workersMade: number }).workersMade);
    // The pool of three lives across calls: its workers are made once.
    expect(made - before).toBe(workers === 1 || before > 0 ? 0 : workers);
  });

  it.each([1, 3])('names the first NaN as the reference does, %i worker(s)', async (workers) => {
    const c = matrixCases()[13] as GpuCase;
    const n = c.shape.reduce((a, b) => a * b, 1);
    const at = [0, Math.floor(n / 2) + 1, n - 1];
    const results = await runInPage(at.map((i) => toPage(c, 9, i)), workers);
    expect(results).toEqual(at.map((i) => expect.stringMatching(new RegExp(`^same error: QuantizationError: x holds NaN at flat index ${i} `))));
  });
});
