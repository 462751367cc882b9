// The CPU rows of `npm run bench`, all measured in one run on the built package: the reference
// (`backend: 'reference'`), the fast engine on one worker (this thread) and on every core, and a
// plain single-threaded JS loop doing per-row int8 symmetric quantization — the "no effort" floor
// the fast engine must match per core, on every scheme. `tsx bench/cpu.ts [--size N] [--runs N]
// [--webgpu]` runs these rows alone (after `npm run build`; --webgpu adds the adapter's end-to-end
// time beside them, what --backend auto weighs); bench/run.ts runs them with everything else.
import { availableParallelism } from 'node:os';
import type * as Library from '../src/index.js';
import type { QuantScheme } from '../src/index.js';

export interface CpuRow {
  scheme: string;
  what: 'reference' | 'fast, 1 worker' | 'fast, all workers' | 'plain loop' | string;
  workers: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Elements per second per core used, relative to the plain loop's (which uses one). */
  perCoreVsLoop: number;
}

export const CPU_SCHEMES: [string, QuantScheme][] = [
  ['pytorch int8 per channel', { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' }],
  ['onnx int8 per channel', { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx' }],
  ['onnx uint8 asym per channel', { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'onnx' }],
  ['ggml Q8_0', { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ['ggml Q4_0', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ['pytorch int4 group 128', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' }],
  ['pytorch int8 per tensor', { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'pytorch' }],
];

/**
 * The floor: what anyone would write in a few minutes — per row the largest magnitude, a float32
 * scale and its reciprocal, then round and clamp each element, codes packed four to a word.
 */
export function plainLoop(x: Float32Array, rows: number, cols: number): Uint32Array {
  const codes = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let amax = 0;
    for (let j = 0; j < cols; j++) {
      const v = Math.abs(x[base + j] as number);
      if (v > amax) amax = v;
    }
    const scale = Math.max(Math.fround(amax / 127.5), 2 ** -23);
    scales[r] = scale;
    const inv = Math.fround(1 / scale);
    for (let j = 0; j < cols; j++) {
      const q = Math.round((x[base + j] as number) * inv);
      codes[base + j] = q < -128 ? -128 : q > 127 ? 127 : q;
    }
  }
  return new Uint32Array(codes.buffer);
}

async function timed(runs: number, f: () => Promise<unknown> | unknown): Promise<{ medianMs: number; minMs: number; maxMs: number }> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)] as number, minMs: times[0] as number, maxMs: times.at(-1) as number };
}

export async function cpuBench(
  lib: typeof Library,
  options: { size: number; runs: number; referenceRuns: number; log: (line: string) => void; webgpu?: boolean },
): Promise<{ cores: number; rows: CpuRow[] }> {
  const { size, runs } = options;
  const cores = availableParallelism();
  const x = new Float32Array(size * size);
  let seed = 12345;
  for (let i = 0; i < x.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = ((seed / 2 ** 32) - 0.5) * (i % 977 === 0 ? 40 : 1);
  }
  const shape = [size, size];
  const rows: CpuRow[] = [];
  const loop = await timed(runs, () => plainLoop(x, size, size));
  rows.push({ scheme: 'int8 symmetric per row', what: 'plain loop', workers: 1, ...loop, perCoreVsLoop: 1 });
  options.log(`plain loop ${loop.medianMs.toFixed(0)} ms`);
  const perCore = (ms: number, workers: number) => loop.medianMs / ms / workers;
  for (const [name, scheme] of CPU_SCHEMES) {
    const ref = await timed(options.referenceRuns, () => lib.quantize(x, shape, scheme, { backend: 'reference' }));
    rows.push({ scheme: name, what: 'reference', workers: 1, ...ref, perCoreVsLoop: perCore(ref.medianMs, 1) });
    const one = await timed(runs, () => lib.quantize(x, shape, scheme, { backend: 'cpu', workers: 1 }));
    rows.push({ scheme: name, what: 'fast, 1 worker', workers: 1, ...one, perCoreVsLoop: perCore(one.medianMs, 1) });
    const all = await timed(runs, () => lib.quantize(x, shape, scheme, { backend: 'cpu' }));
    rows.push({ scheme: name, what: 'fast, all workers', workers: cores, ...all, perCoreVsLoop: perCore(all.medianMs, cores) });
    options.log(`${name}: reference ${ref.medianMs.toFixed(0)} ms, fast 1 worker ${one.medianMs.toFixed(0)} ms, ${cores} workers ${all.medianMs.toFixed(0)} ms`);
    if (options.webgpu) {
      // What --backend auto weighs the CPU against: the adapter this machine has, end to end.
      const facts = await lib.adapterFacts();
      const gpu = await timed(options.runs, () => lib.quantize(x, shape, scheme, { backend: 'webgpu' }));
      const label = `webgpu, ${lib.adapterName(facts)}${facts.isFallback ? ' (software fallback)' : ''}`;
      rows.push({ scheme: name, what: label, workers: cores, ...gpu, perCoreVsLoop: perCore(gpu.medianMs, cores) });
      options.log(`${name}: ${label} ${gpu.medianMs.toFixed(0)} ms`);
    }
  }
  await lib.releaseDevice();
  await lib.releaseWorkers();
  return { cores, rows };
}

export function formatCpuTable(size: number, cores: number, rows: CpuRow[]): string {
  const lines = [
    `# CPU, ${size}² f32 → codes (quantize, arrays in and out), Node ${process.version}, ${cores} logical cores`,
    '',
    '| scheme | path | workers | median ms (min–max) | M elements/s | × plain loop per core |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.scheme} | ${r.what} | ${r.workers} | ${r.medianMs.toFixed(0)} (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)}) | ` +
      `${((size * size) / r.medianMs / 1000).toFixed(0)} | ${r.perCoreVsLoop.toFixed(2)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
  };
  const size = Number(value('--size', '8192'));
  const runs = Number(value('--runs', '3'));
  const built: string = '../dist/index.js';
  const lib = (await import(built)) as typeof Library;
  const r = await cpuBench(lib, { size, runs, referenceRuns: 1, webgpu: args.includes('--webgpu'), log: (l) => console.error(`[cpu] ${l}`) });
  console.log(formatCpuTable(size, r.cores, r.rows));
}
