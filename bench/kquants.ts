// The K-quant rows of `npm run bench`: ggml's Q4_K and Q6_K super-block searches on a size² f32
// matrix (rows of whole super-blocks of 256), in one run on one device: the adapter's
// trivial-kernel floor (bench/measure.ts), the K-quant kernels GPU-resident (a GPUBuffer in; the
// blocks, which have no GPU output, read back) and end to end (a Float32Array in, blocks out), and
// the CPU reference (src/cpu/kquants.ts, one thread, plain TypeScript). Each WebGPU row's bytes
// are checked against the reference's before it is timed.
// `tsx bench/kquants.ts [--size N (1024)] [--runs N (3)] [--skip-gpu]` runs these rows alone, after
// `npm run build` and with the VK_ICD_FILENAMES / LD_LIBRARY_PATH that `npm run bench` sets for SwiftShader.
import { KQUANTS, type KQuantType, quantizeK } from '../src/cpu/kquants.js';
import type * as Library from '../src/index.js';
import { type Row, time, trivialFloor, trivialTimer } from './measure.js';

export interface KQuantRow {
  type: KQuantType | 'floor';
  path: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** The row's time over the adapter's trivial-kernel floor on the same matrix: WebGPU rows only. */
  floorRatio?: number;
}

/** The types the bench times: llama.cpp's default mixes are mostly Q4_K, with Q6_K for the output and some layers. */
export const BENCH_KQUANTS: readonly KQuantType[] = ['Q4_K', 'Q6_K'];

/** The same seeded matrix as bench/cpu.ts: uniform noise with an outlier every 977 elements. */
export function benchMatrix(size: number): Float32Array {
  const x = new Float32Array(size * size);
  let seed = 12345;
  for (let i = 0; i < x.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = ((seed / 2 ** 32) - 0.5) * (i % 977 === 0 ? 40 : 1);
  }
  return x;
}

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;

function row(type: KQuantRow['type'], path: string, seconds: number[], floorSeconds?: number): KQuantRow {
  const ms = seconds.map((s) => s * 1000).sort((a, b) => a - b);
  const medianMs = ms[Math.floor(ms.length / 2)] as number;
  return {
    type, path, medianMs, minMs: ms[0] as number, maxMs: ms.at(-1) as number,
    ...(floorSeconds === undefined ? {} : { floorRatio: medianMs / (floorSeconds * 1000) }),
  };
}

export interface KQuantBenchOptions {
  size: number;
  runs: number;
  log: (line: string) => void;
  /** The WebGPU rows' library (the built package) and device; without them, the CPU rows alone. */
  gpu?: { lib: typeof Library; device: GPUDevice };
}

export async function kquantBench(options: KQuantBenchOptions): Promise<KQuantRow[]> {
  const { size, runs, gpu } = options;
  if ((size * size) % 256 !== 0) throw new Error(`a ${size}² matrix is not whole super-blocks of 256`);
  const x = benchMatrix(size);
  const n = x.length;
  const shape = [size, size];
  const rows: KQuantRow[] = [];
  const add = (r: KQuantRow) => {
    rows.push(r);
    options.log(`${r.type} ${r.path}: ${r.medianMs.toFixed(0)} ms${r.floorRatio === undefined ? '' : ` (${r.floorRatio.toFixed(1)} × floor)`}`);
  };
  const reference = new Map<KQuantType, Uint8Array>();
  for (const type of BENCH_KQUANTS) {
    reference.set(type, quantizeK(type, x));
    const seconds = await time(runs, 0, async () => {
      const bytes = quantizeK(type, x);
      if (bytes.length !== (n / 256) * KQUANTS[type].blockBytes) throw new Error(`${type}: ${bytes.length} bytes for ${n} weights`);
    });
    add(row(type, 'CPU reference', seconds));
  }
  if (!gpu) return rows;

  const { lib, device } = gpu;
  const input = device.createBuffer({ size: n * 4, usage: STORAGE | COPY_SRC | COPY_DST });
  device.queue.writeBuffer(input, 0, x);
  const out = device.createBuffer({ size: n, usage: STORAGE });
  try {
    const floorRows = await trivialTimer(device)(input, out, n, runs, 1);
    const floor = trivialFloor(floorRows);
    const fastest = floorRows.find((r) => r.median === floor) as Row;
    add({
      type: 'floor', path: fastest.name.replace(/^floor: /, ''), medianMs: fastest.median * 1000, minMs: fastest.min * 1000,
      maxMs: fastest.max * 1000, floorRatio: 1,
    });
    for (const type of BENCH_KQUANTS) {
      const scheme = lib.blockFormatOf({ format: type.toLowerCase(), profile: 'ggml', dtype: 'int8' })?.blocks.scheme;
      if (!scheme) throw new Error(`the registry has no block format for ${type}`);
      const want = reference.get(type) as Uint8Array;
      const check = (blocks: Uint8Array | undefined, path: string) => {
        const at = blocks ? blocks.findIndex((b, i) => b !== want[i]) : 0;
        if (!blocks || blocks.length !== want.length || at >= 0) {
          throw new Error(`${type} ${path}: the kernel's bytes differ from the CPU reference's (first at byte ${at})`);
        }
      };
      // The first call compiles the kernel and checks its bytes; the timed runs follow.
      check((await lib.quantize(input, shape, scheme, { backend: 'webgpu', device })).blocks, 'GPU-resident');
      add(row(type, 'WebGPU, GPU-resident (GPUBuffer in, blocks read back)', await time(runs, 0, async () => {
        await lib.quantize(input, shape, scheme, { backend: 'webgpu', device });
      }), floor));
      check((await lib.quantize(x, shape, scheme, { backend: 'webgpu', device })).blocks, 'end to end');
      add(row(type, 'WebGPU, end to end (Float32Array in, blocks out)', await time(runs, 0, async () => {
        await lib.quantize(x, shape, scheme, { backend: 'webgpu', device });
      }), floor));
    }
  } finally {
    input.destroy();
    out.destroy();
  }
  return rows;
}

export function formatKquantTable(size: number, rows: readonly KQuantRow[], adapter?: string): string {
  const lines = [
    `# K-quants, ${size}² f32 → GGUF blocks (super-blocks of 256), Node ${process.version}${adapter ? `, adapter: ${adapter}` : ''}`,
    '',
    '| type | path | median ms (min–max) | M elements/s | × trivial-kernel floor |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.type} | ${r.path} | ${r.medianMs.toFixed(0)} (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)}) | ` +
      `${((size * size) / r.medianMs / 1000).toPrecision(3)} | ${r.floorRatio === undefined ? '—' : r.floorRatio.toFixed(1)} |`);
  }
  lines.push('', '× trivial-kernel floor: the row\'s median time over the fastest trivial kernel\'s on the same matrix, device and run.');
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
  };
  const size = Number(value('--size', '1024'));
  const runs = Number(value('--runs', '3'));
  const log = (l: string) => console.error(`[kquants] ${l}`);
  if (args.includes('--skip-gpu')) {
    console.log(formatKquantTable(size, await kquantBench({ size, runs, log })));
  } else {
    // The built package, as `npm run bench` times it; typed by its source.
    const built: string = '../dist/index.js';
    const lib = (await import(built)) as typeof Library;
    const { nodeDevice } = await import('./node-device.js');
    const device = await nodeDevice();
    const adapter = lib.adapterName(await lib.adapterFacts(device));
    console.log(formatKquantTable(size, await kquantBench({ size, runs, log, gpu: { lib, device } }), adapter));
    device.destroy();
    await lib.releaseDevice();
  }
}
