// The built demo page (demo/dist) quantizes in the browser and shows its report.
import { resolve } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveRepository, type StaticServer } from './harness.js';

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  server = await serveRepository(resolve(import.meta.dirname, '../../demo/dist'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('demo page', () => {
  it('quantizes a generated matrix and shows one row per scheme', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.$eval('#rows', (el) => { (el as HTMLInputElement).value = '8'; });
    await page.$eval('#cols', (el) => { (el as HTMLInputElement).value = '64'; });
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Done'));
    const rows = await page.$$eval('#report tbody tr', (trs) => trs.map((tr) => tr.children[0]?.textContent));
    expect(rows).toEqual([
      'ONNX int8 symmetric, per tensor', 'PyTorch int8 symmetric, per channel',
      'ONNX uint4 asymmetric, groups of 128', 'GGUF Q8_0', 'GGUF Q4_0',
    ]);
    const scales = await page.$$eval('#report tbody tr', (trs) => trs.map((tr) => tr.children[1]?.textContent));
    // 8×64: 1 tensor, 8 rows, 8·ceil(64/128) groups, 8·64/32 blocks twice.
    expect(scales).toEqual(['1', '8', '8', '16', '16']);
  });

  it('shows in the page why a scheme cannot take the shape, and still reports the others', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.$eval('#rows', (el) => { (el as HTMLInputElement).value = '2'; });
    await page.$eval('#cols', (el) => { (el as HTMLInputElement).value = '40'; });
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Done'));
    const errors = await page.$$eval('#report td.error', (tds) => tds.map((td) => td.textContent));
    expect(errors.length).toBe(2);
    expect(errors[0]).toMatch(/multiple of 32; axis 1 has length 40/);
    const scales = await page.$$eval('#report tbody tr', (trs) => trs.map((tr) => tr.children[1]?.textContent));
    expect(scales.slice(0, 3)).toEqual(['1', '2', '2']);
  });
});
