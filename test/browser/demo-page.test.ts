// The built demo page (demo/dist) in headless Chromium: a real model file chosen through the file
// input, quantized in the page, downloaded byte for byte as the command line writes it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardedFolder } from '../model/folder-fixture.js';
import { launchChromium, serveRepository, type StaticServer } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const STORIES = join(ROOT, 'models/stories260K.gguf');
const MNIST = join(ROOT, 'models/mnist.safetensors');

interface Digest {
  size: number;
  sha256: string;
}

let server: StaticServer;
let browser: Browser;
let tmp: string;

/** What `webgpu-quantizer quantize` writes for the same input, on the CPU backend. */
function cliOutput(input: string, name: string, flags: string[] = []): Digest {
  const out = join(tmp, name);
  execFileSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'quantize', input, '-o', out, '--backend', 'cpu', '--force', ...flags], {
    stdio: 'pipe',
  });
  const bytes = readFileSync(out);
  return { size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A safetensors file of `count` F32 [rows, cols] weights, big enough that a run takes a while. */
function writeSafetensors(path: string, count: number, rows: number, cols: number): void {
  const bytes = rows * cols * 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) header[`layer${i}.weight`] = { dtype: 'F32', shape: [rows, cols], data_offsets: [i * bytes, (i + 1) * bytes] };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.byteLength));
  const values = Float32Array.from({ length: rows * cols }, (_, j) => Math.sin(j * 0.37) * 0.05);
  const data = Buffer.from(values.buffer);
  writeFileSync(path, Buffer.concat([length, json, ...Array.from({ length: count }, () => data)]));
}

async function openPage(on = browser): Promise<Page> {
  const page = await on.newPage();
  // SwiftShader shares two cores with the other suites when everything runs at once.
  page.setDefaultTimeout(90_000);
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${server.url}/index.html`);
  // The adapter probe decides the backend; until it answers the page will not run.
  await page.waitForFunction(() => !document.getElementById('adapter')?.textContent?.startsWith('Looking'));
  return page;
}

async function chooseFile(page: Page, path: string): Promise<void> {
  const input = (await page.$('#file')) as ElementHandle<HTMLInputElement>;
  await input.uploadFile(path);
  await page.waitForFunction(() => !document.getElementById('model-summary')?.textContent?.startsWith('Reading'));
}

async function configure(page: Page, options: { preset: string; backend: 'webgpu' | 'cpu'; verify: boolean }): Promise<void> {
  await page.select('#preset', options.preset);
  await page.select('#backend', options.backend);
  await page.$eval('#verify', (el, on) => {
    const box = el as HTMLInputElement;
    if (box.checked !== on) box.click();
  }, options.verify);
}

async function progress(page: Page): Promise<string> {
  return page.$eval('#progress-text', (el) => el.textContent ?? '');
}

async function runToEnd(page: Page): Promise<string> {
  await page.click('#run');
  await page.waitForFunction(() => /^(Done|Stopped|Cancelled)/.test(document.getElementById('progress-text')?.textContent ?? ''));
  return progress(page);
}

/** The download link's bytes, fetched inside the page from its blob: URL. */
async function downloaded(page: Page): Promise<Digest> {
  return page.$eval('#download-model', async (a) => {
    const bytes = await (await fetch((a as HTMLAnchorElement).href)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return { size: bytes.byteLength, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  });
}

async function checkColumn(page: Page): Promise<{ action: string; check: string }[]> {
  return page.$$eval('#quality tbody tr', (rows) => {
    const heads = [...document.querySelectorAll('#quality thead th')].map((th) => th.textContent);
    const action = heads.indexOf('Action');
    const check = heads.indexOf('CPU check');
    return rows.map((tr) => ({
      action: tr.children[action]?.firstChild?.textContent ?? '', check: tr.children[check]?.textContent ?? '',
    }));
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'demo-page-'));
  server = await serveRepository(resolve(ROOT, 'demo/dist'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('demo page with WebGPU (SwiftShader)', () => {
  it('quantizes stories260K to Q8_0 on WebGPU, checks every tensor against the CPU, and downloads the CLI\'s bytes', async () => {
    const expected = cliOutput(STORIES, 'stories.Q8_0.gguf');
    const page = await openPage();
    expect(await page.$eval('#adapter', (el) => el.textContent)).toMatch(/software fallback/);
    await chooseFile(page, STORIES);
    // The tensor list comes from the header alone, before anything is quantized.
    const first = await page.$eval('#tensors tbody tr', (tr) => [...tr.children].map((td) => td.textContent));
    expect(first).toEqual(['token_embd.weight', 'F32', '[512, 64]', '128.0 KiB']);
    expect(await page.$$eval('#tensors tbody tr', (rows) => rows.length)).toBe(48);

    await configure(page, { preset: 'gguf-q8_0', backend: 'webgpu', verify: true });
    expect(await runToEnd(page)).toMatch(/^Done: 48 tensors/);
    expect(await downloaded(page)).toEqual(expected);
    expect(await page.$eval('#download-model', (a) => (a as HTMLAnchorElement).download)).toBe('stories260K.Q8_0.gguf');

    const rows = await checkColumn(page);
    const quantized = rows.filter((r) => r.action === 'quantized');
    expect(quantized.length).toBe(32);
    expect(quantized.every((r) => r.check === 'bit-identical')).toBe(true);
    expect(await page.$eval('#verify-summary', (el) => el.textContent)).toMatch(/all 32 quantized tensors are bit-identical/);
    const report = await page.$eval('#download-report', async (a) => (await fetch((a as HTMLAnchorElement).href)).json());
    expect(report).toMatchObject({ backend: 'webgpu', output: { bytes: expected.size, format: 'gguf' } });

    // Sorting by SQNR, ascending: quantized tensors first, in order, the rest after.
    await page.click('#quality thead th:nth-child(7) button');
    const sqnr = await page.$$eval('#quality tbody tr td:nth-child(7)', (tds) => tds.map((td) => td.textContent ?? ''));
    const numbers = sqnr.filter(Boolean).map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(sqnr.slice(0, 32).every(Boolean)).toBe(true);
    expect(await page.$eval('#quality thead th:nth-child(7)', (th) => th.getAttribute('aria-sort'))).toBe('ascending');

    await page.click('#quality button[aria-label="Plot blk.0.ffn_gate.weight"]');
    await page.waitForFunction(() => document.querySelectorAll('#detail canvas').length === 4);
    expect(await page.$eval('#detail-title', (el) => el.textContent)).toBe('blk.0.ffn_gate.weight');
    expect(await page.$eval('#chart-channels', (el) => el.getAttribute('aria-label'))).toMatch(/^SQNR of 172 channels along axis 0, lowest [\d.]+ dB at channel \d+/);

    mkdirSync(resolve(ROOT, 'artifacts'), { recursive: true });
    await page.screenshot({ path: resolve(ROOT, 'artifacts/demo-result.png') as `${string}.png`, fullPage: true });
    await page.close();
  });

  it('quantizes mnist.safetensors to compressed-tensors int8 per channel as the CLI does', async () => {
    const expected = cliOutput(MNIST, 'mnist.int8.safetensors');
    const page = await openPage();
    await chooseFile(page, MNIST);
    expect(await page.$eval('#preset', (el) => (el as HTMLSelectElement).value)).toBe('ct-int8-channel');
    await configure(page, { preset: 'ct-int8-channel', backend: 'webgpu', verify: false });
    expect(await runToEnd(page)).toMatch(/^Done: 20 tensors/);
    expect(await downloaded(page)).toEqual(expected);
    const config = await page.$eval('#download-config', async (a) => (await fetch((a as HTMLAnchorElement).href)).json());
    expect(config).toEqual(JSON.parse(readFileSync(join(tmp, 'mnist.int8.quantization_config.json'), 'utf8')));
    await page.close();
  });

  it('streams the output into a file where File System Access exists', async () => {
    const expected = cliOutput(MNIST, 'mnist.fs.safetensors');
    const page = await openPage();
    expect(await page.$eval('#save-field', (el) => (el as HTMLElement).hidden)).toBe(false);
    // Headless Chromium cannot show the save dialog: it is stood in for by a file in the origin's
    // private file system, whose handle the worker writes through exactly as through a chosen one.
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      Object.assign(window, {
        showSaveFilePicker: (options: { suggestedName: string }) => root.getFileHandle(options.suggestedName, { create: true }),
      });
    });
    await chooseFile(page, MNIST);
    await configure(page, { preset: 'ct-int8-channel', backend: 'cpu', verify: false });
    await page.click('#save-to-disk');
    expect(await runToEnd(page)).toMatch(/^Done: 20 tensors/);
    expect(await page.$eval('#summary', (el) => el.textContent)).toMatch(/Written to mnist\.int8-channel\.safetensors\.$/);
    expect(await page.$eval('#download-model', (el) => (el as HTMLElement).hidden)).toBe(true);
    const written = await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const bytes = await (await (await root.getFileHandle('mnist.int8-channel.safetensors')).getFile()).arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      return { size: bytes.byteLength, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
    });
    expect(written).toEqual(expected);
    await page.close();
  });

  it('opens a model folder chosen through the folder input, and downloads a zip of the CLI\'s output folder; a broken folder dropped names its file', async () => {
    const input = join(tmp, 'mnist-sharded');
    await shardedFolder(input);
    const page = await openPage();
    const folder = (await page.$('#folder')) as ElementHandle<HTMLInputElement>;
    // A folder input takes the folder itself, as the browser's picker gives it.
    await folder.uploadFile(input);
    await page.waitForFunction(() => /model folder of/.test(document.getElementById('model-summary')?.textContent ?? ''));
    expect(await page.$eval('#model-summary', (el) => el.textContent)).toMatch(/^mnist-sharded: model folder of 11 files, 3 safetensors shards, .* 20 tensors\.$/);
    await configure(page, { preset: 'ct-int8-channel', backend: 'cpu', verify: false });
    // The command line's output for the same folder (its 5 GB shards: one here).
    const single = join(tmp, 'mnist-sharded.one');
    execFileSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'quantize', input, '-o', single, '--backend', 'cpu', '--force'], { stdio: 'pipe' });
    expect(await runToEnd(page)).toMatch(/^Done: 20 tensors/);
    const name = await page.$eval('#download-model', (a) => (a as HTMLAnchorElement).download);
    expect(name).toBe('mnist-sharded.int8-channel.zip');
    const zipped = await page.$eval('#download-model', async (a) => {
      const bytes = new Uint8Array(await (await fetch((a as HTMLAnchorElement).href)).arrayBuffer());
      let text = '';
      for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text);
    });
    const entries = unzipSync(new Uint8Array(Buffer.from(zipped, 'base64')));
    const written = readdirSync(single, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(single, f)).isFile());
    expect(Object.keys(entries).sort()).toEqual(written.sort());
    expect(written).toContain('original/params.json');
    for (const [path, bytes] of Object.entries(entries)) {
      expect([path, Buffer.compare(Buffer.from(bytes), readFileSync(join(single, path)))]).toEqual([path, 0]);
    }

    // Every file of a folder dropped at once, one shard missing: the index names it.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File([JSON.stringify({ weight_map: { 'a.weight': 'model-00001-of-00002.safetensors' } })], 'model.safetensors.index.json'));
      data.items.add(new File(['{}'], 'config.json'));
      document.getElementById('drop')?.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => /names shard/.test(document.getElementById('error')?.textContent ?? ''));
    expect(await page.$eval('#error', (el) => el.textContent)).toMatch(/^model\.safetensors\.index\.json: field 'weight_map': names shard 'model-00001-of-00002\.safetensors'/);
    expect(await page.$eval('#model-summary', (el) => el.textContent)).toBe('the model folder (2 files) could not be opened.');
    await page.close();
  });

  it('shows a malformed file\'s error from the reader in the page, chosen or dropped', async () => {
    const page = await openPage();
    const broken = join(tmp, 'broken.gguf');
    // A GGUF v3 header that claims a billion tensors in a 24-byte file.
    const header = Buffer.alloc(24);
    header.write('GGUF', 0, 'latin1');
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(1_000_000_000n, 8);
    header.writeBigUInt64LE(0n, 16);
    writeFileSync(broken, header);
    await chooseFile(page, broken);
    const error = await page.$eval('#error', (el) => el.textContent ?? '');
    expect(error).toMatch(/^broken\.gguf: /);
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    expect(await page.$eval('#tensors-box', (el) => (el as HTMLElement).hidden)).toBe(true);

    // Dropped on the page instead: a safetensors header longer than the file.
    await page.evaluate(() => {
      const bytes = new Uint8Array(16);
      new DataView(bytes.buffer).setBigUint64(0, 4096n, true);
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'dropped.safetensors'));
      document.getElementById('drop')?.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.getElementById('error')?.textContent?.startsWith('dropped.safetensors: '));
    expect(await page.$eval('#model-summary', (el) => el.textContent)).toBe('dropped.safetensors could not be opened.');

    // A good file afterwards clears it.
    await chooseFile(page, STORIES);
    expect(await page.$eval('#error', (el) => el.textContent)).toBe('');
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    await page.close();
  });

  it('hostile headers (a 2^63 string length, JSON a million deep, hostile model indexes) show the reader\'s error, and the page runs a good file after', async () => {
    const page = await openPage();
    // GGUF v3, one metadata key whose length field says 2^63 bytes.
    const gguf = Buffer.alloc(48);
    gguf.write('GGUF', 0, 'latin1');
    gguf.writeUInt32LE(3, 4);
    gguf.writeBigUInt64LE(0n, 8);
    gguf.writeBigUInt64LE(1n, 16);
    gguf.writeBigUInt64LE(2n ** 63n, 24);
    const ggufPath = join(tmp, 'hostile.gguf');
    writeFileSync(ggufPath, gguf);
    await chooseFile(page, ggufPath);
    expect(await page.$eval('#error', (el) => el.textContent ?? '')).toMatch(/^hostile\.gguf: field 'metadata #0 key': string length 9223372036854775808 is absurd/);
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

    const json = Buffer.from(`{"w":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.byteLength));
    const deepPath = join(tmp, 'deep.safetensors');
    writeFileSync(deepPath, Buffer.concat([length, json]));
    await chooseFile(page, deepPath);
    expect(await page.$eval('#error', (el) => el.textContent ?? '')).toMatch(/^deep\.safetensors: field 'header': JSON nests more than 128 deep/);

    // A model folder dropped whole, its index hostile: a shard named by a path out of the folder,
    // then the index nested a million deep. The worker's index reader names the file and field.
    const dropIndex = (text: string) => page.evaluate((indexText) => {
      const data = new DataTransfer();
      data.items.add(new File([indexText], 'model.safetensors.index.json'));
      data.items.add(new File(['{}'], 'config.json'));
      document.getElementById('drop')?.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, text);
    await dropIndex(JSON.stringify({ weight_map: { 'a.weight': '../model-00001-of-00002.safetensors' } }));
    await page.waitForFunction(() => /must name a file/.test(document.getElementById('error')?.textContent ?? ''));
    expect(await page.$eval('#error', (el) => el.textContent ?? ''))
      .toMatch(/^model\.safetensors\.index\.json: tensor 'a\.weight': field 'weight_map': must name a file in the index's folder; got "\.\.\/model-00001-of-00002\.safetensors"/);
    await dropIndex(`{"weight_map": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`);
    await page.waitForFunction(() => /nests more than/.test(document.getElementById('error')?.textContent ?? ''));
    // The 128th '[' (column 15 + 128) would be the 129th level, counting the index object.
    expect(await page.$eval('#error', (el) => el.textContent ?? '')).toMatch(/^model\.safetensors\.index\.json: field 'weight_map\[0\]\[0\]\[0\]\[0\]\[0\]…': JSON nests more than 128 deep, at line 1, column 143$/);
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

    await chooseFile(page, MNIST);
    expect(await page.$eval('#error', (el) => el.textContent)).toBe('');
    await configure(page, { preset: 'ct-int8-channel', backend: 'cpu', verify: false });
    expect(await runToEnd(page)).toMatch(/^Done: 20 tensors/);
    await page.close();
  });

  it('cancel stops a run and leaves the page usable: a second run completes', async () => {
    // Long enough on SwiftShader (16 tensors of 4 MiB, each checked against the CPU) that the
    // cancel surely lands mid-run.
    const large = join(tmp, 'large.safetensors');
    writeSafetensors(large, 16, 1024, 1024);
    const expected = cliOutput(STORIES, 'stories.Q4_0.gguf', ['--dtype', 'int4']);
    const page = await openPage();
    await chooseFile(page, large);
    await configure(page, { preset: 'ct-int8-channel', backend: 'webgpu', verify: true });
    await page.click('#run');
    await page.waitForFunction(() => /tensors done/.test(document.getElementById('progress-text')?.textContent ?? ''));
    await page.click('#cancel');
    await page.waitForFunction(() => /^(Done|Cancelled)/.test(document.getElementById('progress-text')?.textContent ?? ''));
    expect(await progress(page)).toMatch(/^Cancelled after \d+ of 16 tensors .*Nothing was written/);
    expect(await page.$eval('#result', (el) => (el as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#error', (el) => el.textContent)).toBe('');

    await chooseFile(page, STORIES);
    await configure(page, { preset: 'gguf-q4_0', backend: 'webgpu', verify: false });
    expect(await runToEnd(page)).toMatch(/^Done: 48 tensors/);
    expect(await downloaded(page)).toEqual(expected);
    await page.close();
  });
});

describe('demo page without WebGPU', () => {
  it('says so, offers the CPU reference in a worker, and completes on it', async () => {
    const expected = cliOutput(STORIES, 'stories.cpu.Q8_0.gguf');
    const plain = await launchChromium([], false);
    try {
      const page = await openPage(plain);
      expect(await page.$eval('#adapter', (el) => el.textContent)).toMatch(/^WebGPU is not available in this browser/);
      expect(await page.$eval('#backend', (el) => (el as HTMLSelectElement).value)).toBe('cpu');
      expect(await page.$eval('#backend option[value=webgpu]', (el) => (el as HTMLOptionElement).disabled)).toBe(true);
      expect(await page.$eval('#verify', (el) => (el as HTMLInputElement).disabled)).toBe(true);
      await chooseFile(page, STORIES);
      expect(await runToEnd(page)).toMatch(/^Done: 48 tensors/);
      expect(await downloaded(page)).toEqual(expected);
      expect(await page.$eval('#summary', (el) => el.textContent)).toMatch(/on the CPU reference/);
    } finally {
      await plain.close();
    }
  });
});
