// The K-quant rows of `npm run bench`: ggml's Q4_K and Q6_K super-block searches on a size² f32
// matrix (rows of whole super-blocks of 256), timed on the CPU reference (src/cpu/kquants.ts, one
// thread, plain TypeScript) in the same run as the other rows. The WebGPU rows — GPU-resident and
// end to end, as ratios to the same adapter's trivial-kernel floor (bench/measure.ts) — belong in
// this table too: `KQuantRow.floorRatio` is their column, and a CPU row leaves it empty.
// `tsx bench/kquants.ts [--size N] [--runs N]` runs these rows alone.
import { KQUANTS, type KQuantType, quantizeK } from '../src/cpu/kquants.js';

export interface KQuantRow {
  type: KQuantType;
  path: 'CPU reference' | string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Time over the adapter's trivial-kernel floor for the same bytes: GPU rows only. */
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

export function kquantBench(options: { size: number; runs: number; log: (line: string) => void }): KQuantRow[] {
  const { size, runs } = options;
  if ((size * size) % 256 !== 0) throw new Error(`a ${size}² matrix is not whole super-blocks of 256`);
  const x = benchMatrix(size);
  const rows: KQuantRow[] = [];
  for (const type of BENCH_KQUANTS) {
    quantizeK(type, x);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const bytes = quantizeK(type, x);
      times.push(performance.now() - t0);
      if (bytes.length !== (x.length / 256) * KQUANTS[type].blockBytes) throw new Error(`${type}: ${bytes.length} bytes for ${x.length} weights`);
    }
    times.sort((a, b) => a - b);
    const row = { type, path: 'CPU reference', medianMs: times[Math.floor(times.length / 2)] as number, minMs: times[0] as number, maxMs: times.at(-1) as number };
    options.log(`${type} CPU reference: ${row.medianMs.toFixed(0)} ms`);
    rows.push(row);
  }
  return rows;
}

export function formatKquantTable(size: number, rows: readonly KQuantRow[]): string {
  const lines = [
    `# K-quants, ${size}² f32 → GGUF blocks (super-blocks of 256), Node ${process.version}`,
    '',
    '| type | path | median ms (min–max) | M elements/s | × trivial-kernel floor |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.type} | ${r.path} | ${r.medianMs.toFixed(0)} (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)}) | ` +
      `${((size * size) / r.medianMs / 1000).toFixed(1)} | ${r.floorRatio === undefined ? '—' : r.floorRatio.toFixed(2)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
  };
  const size = Number(value('--size', '4096'));
  console.log(formatKquantTable(size, kquantBench({ size, runs: Number(value('--runs', '3')), log: (l) => console.error(`[kquants] ${l}`) })));
}
