// The CPU rows of `npm run bench`, all measured in one run on the built package: the reference
// (`backend: 'reference'`), the fast engine on one worker (this thread) — with its WebAssembly
// SIMD loops, and with its JavaScript loops only — and on every core, a plain single-threaded JS
// loop doing per-row int8 symmetric quantization — the "no effort" floor the fast engine must
// match per core, on every scheme — and onnxruntime-node's QuantizeLinear on the same per-row int8
// work (one intra-op thread, then every core), the peer. The rows are timed in rounds, each round
// running every row once, so that a machine whose load changes during the run weighs on all rows
// alike; the reference, slow, runs `referenceRuns` times. `tsx bench/cpu.ts [--size N] [--runs N]
// [--webgpu]` runs these rows alone (after `npm run build`; --webgpu adds the adapter's
// end-to-end time beside them, what --backend auto weighs); bench/run.ts runs them with
// everything else.
import { availableParallelism } from 'node:os';
import type * as Library from '../src/index.js';
import type { QuantScheme } from '../src/index.js';

export interface CpuRow {
  scheme: string;
  what: 'reference' | 'fast, 1 worker' | 'fast, 1 worker, JavaScript loops' | 'fast, all workers' | 'plain loop' | string;
  workers: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Elements per second per core used, relative to the plain loop's (which uses one). */
  perCoreVsLoop: number;
  /** Speed relative to onnxruntime-node's QuantizeLinear on as many cores (1 or all), when it ran. */
  vsOrt?: number;
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

const enc = new TextEncoder();

// The few protobuf encodings an ONNX model needs: varints and length-delimited fields.
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v > 0 ? b | 0x80 : b);
  } while (v > 0);
  return out;
}
const field = (f: number, wire: number) => varint(f * 8 + wire);
const int = (f: number, n: number) => [...field(f, 0), ...varint(n)];
const bytes = (f: number, b: number[]) => [...field(f, 2), ...varint(b.length), ...b];
const str = (f: number, s: string) => bytes(f, [...enc.encode(s)]);
const intAttr = (name: string, v: number) => [...str(1, name), ...int(3, v), ...int(20, 2)];

/**
 * The plain loop's work as an ONNX graph (opset 13): per row the largest magnitude
 * (ReduceMax of Abs over axis 1), the scale (÷ 127.5), and QuantizeLinear along axis 0 with
 * int8 zero points — ONNX's rule, x / scale rounded half to even.
 */
export function perRowInt8Model(rows: number, cols: number): Uint8Array {
  const FLOAT = 1;
  const INT8 = 3;
  const node = (op: string, ins: string[], outs: string[], attrs: number[][] = []) =>
    [...ins.flatMap((n) => str(1, n)), ...outs.flatMap((n) => str(2, n)), ...str(4, op), ...attrs.flatMap((a) => bytes(5, a))];
  const tensor = (name: string, type: number, dims: number[], raw: Uint8Array) =>
    [...dims.flatMap((d) => int(1, d)), ...int(2, type), ...str(8, name), ...bytes(9, [...raw])];
  const value = (name: string, type: number, dims: number[]) =>
    [...str(1, name), ...bytes(2, bytes(1, [...int(1, type), ...bytes(2, dims.flatMap((d) => bytes(1, int(1, d))))]))];
  const graph = [
    ...bytes(1, node('Abs', ['x'], ['a'])),
    ...bytes(1, node('ReduceMax', ['a'], ['m'], [[...str(1, 'axes'), ...int(8, 1), ...int(20, 7)], intAttr('keepdims', 0)])),
    ...bytes(1, node('Div', ['m', 'q'], ['s'])),
    ...bytes(1, node('QuantizeLinear', ['x', 's', 'z'], ['y'], [intAttr('axis', 0)])),
    ...str(2, 'per-row int8'),
    ...bytes(5, tensor('q', FLOAT, [], new Uint8Array(Float32Array.of(127.5).buffer))),
    ...bytes(5, tensor('z', INT8, [rows], new Uint8Array(rows))),
    ...bytes(11, value('x', FLOAT, [rows, cols])),
    ...bytes(12, value('y', INT8, [rows, cols])),
  ];
  return Uint8Array.from([...int(1, 8), ...bytes(8, [...str(1, ''), ...int(2, 13)]), ...bytes(7, graph)]);
}

interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options: { intraOpNumThreads: number }): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

/** onnxruntime-node's QuantizeLinear session on `threads` intra-op threads, or why there is none. */
async function ortRunner(rows: number, cols: number, threads: number): Promise<((x: Float32Array) => Promise<Int8Array>) | string> {
  let ort: Ort;
  try {
    // A variable specifier: the bench still type-checks and runs where the package is not installed.
    const name = 'onnxruntime-node';
    ort = (await import(name)) as Ort;
  } catch (err) {
    return `onnxruntime-node not installed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
  const session = await ort.InferenceSession.create(perRowInt8Model(rows, cols), { intraOpNumThreads: threads });
  return async (x) => (await session.run({ x: new ort.Tensor('float32', x, [rows, cols]) })).y?.data as Int8Array;
}

interface Timed {
  medianMs: number;
  minMs: number;
  maxMs: number;
}

function summary(times: number[]): Timed {
  const t = [...times].sort((a, b) => a - b);
  return { medianMs: t[Math.floor(t.length / 2)] as number, minMs: t[0] as number, maxMs: t.at(-1) as number };
}

/** A row to time: its label, its cores, and the work (a warm-up call first, untimed). */
interface Job {
  scheme: string;
  what: string;
  workers: number;
  runs: number;
  /** The ORT row this one is compared with, when there is one. */
  peer?: string;
  f: () => unknown;
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
  const ORT_1 = 'onnxruntime-node QuantizeLinear, 1 thread';
  const ORT_ALL = 'onnxruntime-node QuantizeLinear, all threads';
  const jobs: Job[] = [
    { scheme: 'int8 symmetric per row', what: 'plain loop', workers: 1, runs, peer: ORT_1, f: () => plainLoop(x, size, size) },
    // Every row's output is fresh memory, and the first write to a fresh page costs the kernel's
    // page fault: this row is that cost alone for an int8 output, a floor under every other row.
    { scheme: 'first write of a fresh int8 output', what: 'new Int8Array(n).fill(1)', workers: 1, runs, f: () => new Int8Array(x.length).fill(1) },
  ];
  for (const [threads, what] of [[1, ORT_1], [cores, ORT_ALL]] as const) {
    const ort = await ortRunner(size, size, threads);
    if (typeof ort === 'string') {
      options.log(ort);
      break;
    }
    jobs.push({ scheme: 'int8 symmetric per row (onnx rule)', what, workers: threads, runs, f: () => ort(x) });
  }
  const facts = options.webgpu ? await lib.adapterFacts() : undefined;
  for (const [name, scheme] of CPU_SCHEMES) {
    jobs.push({ scheme: name, what: 'reference', workers: 1, runs: options.referenceRuns, f: () => lib.quantize(x, shape, scheme, { backend: 'reference' }) });
    jobs.push({ scheme: name, what: 'fast, 1 worker', workers: 1, runs, peer: ORT_1, f: () => lib.quantize(x, shape, scheme, { backend: 'cpu', workers: 1 }) });
    // The same without the WebAssembly SIMD loops: what SIMD gains, measured beside it.
    jobs.push({
      scheme: name, what: 'fast, 1 worker, JavaScript loops', workers: 1, runs, peer: ORT_1,
      f: () => lib.quantize(x, shape, scheme, { backend: 'cpu', workers: 1, simd: false }),
    });
    jobs.push({ scheme: name, what: 'fast, all workers', workers: cores, runs, peer: ORT_ALL, f: () => lib.quantize(x, shape, scheme, { backend: 'cpu' }) });
    if (facts) {
      // What --backend auto weighs the CPU against: the adapter this machine has, end to end.
      const label = `webgpu, ${lib.adapterName(facts)}${facts.isFallback ? ' (software fallback)' : ''}`;
      jobs.push({ scheme: name, what: label, workers: cores, runs, f: () => lib.quantize(x, shape, scheme, { backend: 'webgpu' }) });
    }
  }
  for (const job of jobs) await job.f();
  const times = jobs.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (const [i, job] of jobs.entries()) {
      if (round >= job.runs) continue;
      const t0 = performance.now();
      await job.f();
      times[i]?.push(performance.now() - t0);
    }
    options.log(`round ${round + 1} of ${runs}`);
  }
  const timed = jobs.map((job, i) => ({ job, ...summary(times[i] as number[]) }));
  const loop = timed[0]?.medianMs as number;
  const rows: CpuRow[] = timed.map(({ job, medianMs, minMs, maxMs }) => {
    const peer = timed.find((t) => t.job.what === job.peer);
    return {
      scheme: job.scheme, what: job.what, workers: job.workers, medianMs, minMs, maxMs,
      perCoreVsLoop: loop / medianMs / job.workers, ...(peer ? { vsOrt: peer.medianMs / medianMs } : {}),
    };
  });
  for (const r of rows) options.log(`${r.scheme}, ${r.what}: ${r.medianMs.toFixed(0)} ms`);
  await lib.releaseDevice();
  await lib.releaseWorkers();
  return { cores, rows };
}

export function formatCpuTable(size: number, cores: number, rows: CpuRow[]): string {
  const lines = [
    `# CPU, ${size}² f32 → codes (quantize, arrays in and out), Node ${process.version}, ${cores} logical cores`,
    '',
    '| scheme | path | workers | median ms (min–max) | M elements/s | × plain loop per core | × onnxruntime (same cores) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.scheme} | ${r.what} | ${r.workers} | ${r.medianMs.toFixed(0)} (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)}) | ` +
      `${((size * size) / r.medianMs / 1000).toFixed(0)} | ${r.perCoreVsLoop.toFixed(2)} | ${r.vsOrt === undefined ? '' : r.vsOrt.toFixed(2)} |`);
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
