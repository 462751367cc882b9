// Serves the repository over http://localhost (WebGPU needs a secure context) and drives the
// system Chromium through puppeteer-core; no browser is downloaded.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createServer as createViteServer } from 'vite';
import { afterAll, beforeAll } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

const MIME: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.map': 'application/json', '.css': 'text/css', '.wasm': 'application/wasm',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export async function serveRepository(root = ROOT): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium with WebGPU enabled, unless `webgpu` is false. */
export async function launchChromium(extraArgs: string[] = [], webgpu = true): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (bash scripts/install-browser.sh) or set CHROMIUM_PATH`,
    );
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Puppeteer's default (180 s) is shorter than one long evaluate on a loaded 2-core machine; each
    // test's own vitest timeout is what bounds a hang.
    protocolTimeout: 600_000,
    args: [
      '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', ...(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-features=WebGPU']), ...extraArgs,
    ],
  });
}

/** test/browser/gpu-page.html served by Vite (which compiles the TypeScript it imports), open in headless Chromium. */
export interface GpuPage {
  page: Page;
  /** Where Vite serves the repository, for another browser to open. */
  url: string;
  close(): Promise<void>;
}

export async function openGpuPage(): Promise<GpuPage> {
  // No HMR and no file watching: an edit elsewhere must not reload the page mid-test.
  const vite = await createViteServer({
    server: { port: 0, host: '127.0.0.1', hmr: false, watch: null }, logLevel: 'error', clearScreen: false,
  });
  await vite.listen();
  const address = vite.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const browser = await launchChromium();
  const close = async () => {
    await browser.close();
    await vite.close();
  };
  try {
    const page = await browser.newPage();
    const url = `http://localhost:${port}`;
    await page.goto(`${url}/test/browser/gpu-page.html`);
    await page.waitForFunction(() => document.title === 'ready', { timeout: 120_000 });
    return { page, url, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The GPU page for a test file: opened before its tests, closed after them. Read `page` and `url`
 * inside the tests (the page opens in the beforeAll this registers).
 */
export function useGpuPage(): Pick<GpuPage, 'page' | 'url'> {
  let gpu: GpuPage | undefined;
  beforeAll(async () => {
    gpu = await openGpuPage();
  });
  afterAll(async () => {
    await gpu?.close();
  });
  const open = (): GpuPage => {
    if (!gpu) throw new Error('the GPU page is not open: read it inside a test');
    return gpu;
  };
  return {
    get page() {
      return open().page;
    },
    get url() {
      return open().url;
    },
  };
}
