// `npm run bench`: throughput against the device's own floor (Node through Dawn, then headless
// Chromium), the peak memory of quantizing a 2 GiB model file and a 4 GiB model folder in 4 shards
// with the CLI, and the demo page's heap on a 1 GiB file (bench/page-memory.ts). Prints tables,
// writes artifacts/bench.json.
// Flags: --sizes 1024,4096,8192  --runs N  --skip-browser  --skip-memory  --skip-page  --skip-cpu  --skip-kquants  --kquant-size N
// --only-memory (the CLI's peak memory alone)  --only-mse (the floors and the mse rows alone)  --only-folder (the 4 GiB folder alone)
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';
import { createServer } from 'vite';
import type * as Library from '../src/index.js';
import type { AdapterFacts } from '../src/index.js';
import { cpuBench, formatCpuTable } from './cpu.js';
import { formatKquantTable, kquantBench } from './kquants.js';
import { formatTable, runBench, type SizeResult } from './measure.js';
import { nodeDevice } from './node-device.js';

// The built package, as users get it (npm run bench builds first); typed by its source.
const built: string = '../dist/index.js';
const lib = (await import(built)) as typeof Library;

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const sizes = value('--sizes', '1024,4096,8192').split(',').map(Number);
const runs = Number(value('--runs', '5'));
const options = { sizes, runs, warmup: 1, cpuMaxElements: 4096 * 4096, mseOnly: flag('--only-mse') };

function describe(facts: AdapterFacts, where: string): string {
  return `${where} — adapter: ${lib.adapterName(facts)}${facts.isFallback ? ' (a software fallback: SwiftShader is a CPU emulation of a GPU)' : ''}` +
    ` — default row kernel: ${facts.isFallback ? "'invocation'" : "'subgroup' where the device has subgroups, else 'workgroup'"}` +
    ` — ${new Date().toISOString().slice(0, 10)}`;
}

async function nodeRun(): Promise<{ facts: AdapterFacts; results: SizeResult[] }> {
  const device = await nodeDevice();
  const facts = await lib.adapterFacts(device);
  const results = await runBench(lib, device, { ...options, log: (l) => console.error(`[node] ${l}`) });
  device.destroy();
  return { facts, results };
}

async function browserRun(): Promise<{ facts: AdapterFacts; results: SizeResult[] }> {
  const vite = await createServer({ root: ROOT, server: { port: 0, host: '127.0.0.1', hmr: false, watch: null }, logLevel: 'error' });
  await vite.listen();
  const address = vite.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    protocolTimeout: 0,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--enable-unsafe-webgpu'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`[chromium] ${m.text()}`));
    await page.goto(`http://localhost:${port}/bench/page.html`);
    await page.waitForFunction(() => document.title === 'ready', { timeout: 120_000 });
    return await page.evaluate((o) => (window as unknown as { bench(o: unknown): Promise<{ facts: AdapterFacts; results: SizeResult[] }> }).bench(o), options);
  } finally {
    await browser.close();
    await vite.close();
  }
}

/** A 2 GiB safetensors file: one 512 MiB tensor and six of 256 MiB, written in 64 MiB pieces. */
function makeBigModel(path: string): number {
  const tensors: [string, number[]][] = [['big.weight', [16384, 8192]]];
  for (let i = 0; i < 6; i++) tensors.push([`layer${i}.weight`, [8192, 8192]]);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(path, 'w');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, head);
  writeSync(fd, json);
  const piece = new Float32Array(16 * 2 ** 20);
  for (let i = 0; i < piece.length; i++) piece[i] = Math.sin(i * 0.37) * 0.05;
  for (let written = 0; written < offset; written += piece.byteLength) writeSync(fd, new Uint8Array(piece.buffer));
  closeSync(fd);
  return 8 + json.length + offset;
}

function memoryRun(): { backend: string; peakMiB: number; seconds: number; status: number | null }[] {
  const dir = join(tmpdir(), 'wq-bench');
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'model-2GiB.safetensors');
  const size = makeBigModel(input);
  console.error(`[memory] wrote ${input} (${(size / 2 ** 30).toFixed(2)} GiB, largest tensor 512 MiB)`);
  const out = [];
  // 'reference' is the CPU path as it was before the fast engine: the before and after of one run.
  for (const backend of ['reference', 'cpu', 'webgpu']) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bench/peak-rss.mjs'), 'quantize', input, '-o', join(dir, `out-${backend}.safetensors`),
      '--backend', backend, '--force'], { encoding: 'utf8', env: process.env, maxBuffer: 64 * 2 ** 20 });
    const peak = /peak-rss-kib (\d+)/.exec(r.stderr)?.[1];
    out.push({ backend, peakMiB: peak ? Number(peak) / 1024 : NaN, seconds: (performance.now() - t0) / 1000, status: r.status });
    console.error(`[memory] --backend ${backend}: exit ${r.status}, peak RSS ${peak ? (Number(peak) / 1024).toFixed(0) : '?'} MiB`);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/**
 * A 4 GiB model folder as transformers shards one: four shards of four [8192, 8192] F32 weights
 * (1 GiB each), model.safetensors.index.json and config.json, written in 64 MiB pieces.
 */
function makeShardedModel(dir: string): number {
  mkdirSync(dir, { recursive: true });
  const piece = new Float32Array(16 * 2 ** 20);
  for (let i = 0; i < piece.length; i++) piece[i] = Math.sin(i * 0.37) * 0.05;
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let s = 0; s < 4; s++) {
    const file = `model-0000${s + 1}-of-00004.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let offset = 0;
    for (let t = 0; t < 4; t++) {
      const name = `model.layers.${s * 4 + t}.mlp.up_proj.weight`;
      const bytes = 8192 * 8192 * 4;
      header[name] = { dtype: 'F32', shape: [8192, 8192], data_offsets: [offset, offset + bytes] };
      weightMap[name] = file;
      offset += bytes;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const fd = openSync(join(dir, file), 'w');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, head);
    writeSync(fd, json);
    for (let written = 0; written < offset; written += piece.byteLength) writeSync(fd, new Uint8Array(piece.buffer));
    closeSync(fd);
    total += offset;
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }, null, 2));
  return total;
}

function folderRun(): { backend: string; peakMiB: number; seconds: number; status: number | null } {
  const dir = join(tmpdir(), 'wq-bench-folder');
  rmSync(dir, { recursive: true, force: true });
  try {
    const total = makeShardedModel(join(dir, 'in'));
    console.error(`[folder] wrote ${join(dir, 'in')} (${(total / 2 ** 30).toFixed(2)} GiB in 4 shards)`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bench/peak-rss.mjs'), 'quantize', join(dir, 'in'), '-o', join(dir, 'out'),
      '--backend', 'cpu'], { encoding: 'utf8', env: process.env, maxBuffer: 64 * 2 ** 20 });
    const peak = /peak-rss-kib (\d+)/.exec(r.stderr)?.[1];
    const row = { backend: 'cpu', peakMiB: peak ? Number(peak) / 1024 : NaN, seconds: (performance.now() - t0) / 1000, status: r.status };
    console.error(`[folder] --backend cpu: exit ${r.status}, peak RSS ${row.peakMiB.toFixed(0)} MiB${r.status === 0 ? '' : `\n${r.stderr}`}`);
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const onlyFolder = flag('--only-folder');
const onlyMemory = flag('--only-memory') || onlyFolder;
const report: Record<string, unknown> = { date: new Date().toISOString(), options };
if (!onlyMemory && !flag('--skip-cpu')) {
  const size = Math.max(...sizes);
  const cpu = await cpuBench(lib, { size, runs, referenceRuns: 1, webgpu: true, log: (l) => console.error(`[cpu] ${l}`) });
  report.cpu = { size, ...cpu };
  console.log(`${formatCpuTable(size, cpu.cores, cpu.rows)}\n`);
}
if (!onlyMemory && !flag('--skip-kquants')) {
  // One invocation per super-block makes the kernels slow on an emulated GPU (SwiftShader: tens of
  // seconds per 1024² pass), so the table's one size, for every row, is --kquant-size, 1024² by default.
  const size = Number(value('--kquant-size', '1024'));
  const device = await nodeDevice();
  const adapter = lib.adapterName(await lib.adapterFacts(device));
  const rows = await kquantBench({ size, runs: 3, log: (l) => console.error(`[kquants] ${l}`), gpu: { lib, device } });
  device.destroy();
  report.kquants = { size, adapter, rows };
  console.log(`${formatKquantTable(size, rows, adapter)}\n`);
}
if (!onlyMemory) {
  const node = await nodeRun();
  report.node = node;
  console.log(formatTable(node.results, describe(node.facts, `Node ${process.version} through Dawn (the webgpu package)`)));
}
if (!onlyMemory && !flag('--skip-browser')) {
  const chromium = await browserRun();
  report.chromium = chromium;
  console.log(`\n${formatTable(chromium.results, describe(chromium.facts, 'headless Chromium'))}`);
}
if (!flag('--skip-memory') && !onlyFolder) {
  const memory = memoryRun();
  report.memory = memory;
  console.log('\n# Peak resident memory quantizing a 2 GiB safetensors file (largest tensor 512 MiB)\n');
  console.log('| backend | peak RSS MiB | seconds | exit |\n| --- | --- | --- | --- |');
  for (const m of memory) console.log(`| ${m.backend} | ${m.peakMiB.toFixed(0)} | ${m.seconds.toFixed(1)} | ${m.status} |`);
}
if (!flag('--skip-memory')) {
  const folder = folderRun();
  report.folderMemory = folder;
  console.log('\n# Peak resident memory quantizing a 4 GiB model folder in 4 shards (target: under 512 MiB)\n');
  console.log('| backend | peak RSS MiB | seconds | exit |\n| --- | --- | --- | --- |');
  console.log(`| ${folder.backend} | ${folder.peakMiB.toFixed(0)} | ${folder.seconds.toFixed(1)} | ${folder.status} |`);
}
if (!onlyMemory && !flag('--skip-page')) {
  const page = spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'bench/page-memory.ts')], {
    encoding: 'utf8', env: process.env, maxBuffer: 64 * 2 ** 20,
  });
  console.log(page.stdout.trim());
  report.pageMemory = { status: page.status, output: page.stdout };
}
mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
writeFileSync(join(ROOT, 'artifacts/bench.json'), JSON.stringify(report, null, 2));
console.log('\nwrote artifacts/bench.json');
process.exit(0);
