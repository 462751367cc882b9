// The built bundle (dist/index.js) runs the CPU reference inside headless Chromium and reproduces
// the independent oracle's vectors there too.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOracle, type OracleCase } from '../data/oracle.js';
import { launchChromium, serveRepository, type StaticServer } from './harness.js';

const { cases } = loadOracle();

let server: StaticServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  server = await serveRepository();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/test/browser/page.html`);
  await page.waitForFunction(() => document.title === 'ready');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('CPU reference in headless Chromium', () => {
  it('reproduces every oracle case bit for bit', async () => {
    const results = await page.evaluate(async (all: OracleCase[]) => {
      const q = (window as unknown as { quantizer: typeof import('../../src/index.js') }).quantizer;
      const out = [];
      for (const c of all) {
        const x = new Float32Array(new Uint32Array(c.input).buffer);
        const r = await q.quantize(x, c.shape, c.scheme as Parameters<typeof q.quantize>[2]);
        out.push({
          scales: Array.from(new Uint32Array(r.scales.buffer)), zeroPoints: Array.from(r.zeroPoints), codes: Array.from(r.codes),
        });
      }
      return out;
    }, cases);
    expect(results.length).toBe(cases.length);
    results.forEach((r, i) => {
      const c = cases[i] as OracleCase;
      expect({ name: c.name, ...r }).toEqual({ name: c.name, scales: c.scales, zeroPoints: c.zeroPoints, codes: c.codes });
    });
  });

  it('reports bad input with the same error in the page', async () => {
    const message = await page.evaluate(async () => {
      const q = (window as unknown as { quantizer: typeof import('../../src/index.js') }).quantizer;
      const x = new Float32Array([1, NaN, 3]);
      try {
        await q.quantize(x, [3], { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' });
        return 'no error';
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    });
    expect(message).toMatch(/^QuantizationError: x holds NaN at flat index 1/);
  });
});
