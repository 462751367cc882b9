// The mse suite of test/gpu/mse-suite.ts inside headless Chromium, on its WebGPU (SwiftShader
// where there is no GPU): whole, chunked and streamed, bit for bit the CPU reference.
import type { Browser, Page } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MseResult } from '../gpu/mse-suite.js';
import { launchChromium } from './harness.js';

let vite: ViteDevServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  vite = await createServer({
    server: { port: 0, host: '127.0.0.1', hmr: false, watch: null }, logLevel: 'error', clearScreen: false,
  });
  await vite.listen();
  const address = vite.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`http://localhost:${port}/test/browser/gpu-page.html`);
  await page.waitForFunction(() => document.title === 'ready', { timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
  await vite?.close();
});

describe('mse calibration on WebGPU equals the CPU reference (headless Chromium)', () => {
  it('every case of the mse suite is bit-identical', async () => {
    // A string, so that the test runner leaves its import() alone: Vite compiles the suite from
    // source for the page, as it does test/gpu/suite.ts.
    const results = (await page.evaluate(`(async () => {
      const suite = await import('/test/gpu/mse-suite.ts');
      const out = [];
      for (const c of suite.mseCases()) out.push(await suite.runMseCase(c));
      return out;
    })()`)) as MseResult[];
    expect(results.length).toBeGreaterThan(200);
    expect(results.filter((r) => r.clipped).length).toBeGreaterThan(results.length / 2);
    expect(results.filter((r) => !r.equal).map((r) => `${r.name}: ${r.summary}`)).toEqual([]);
  }, 900_000);
});
