// Throughput measurements, shared by the Node (Dawn) and Chromium runs of `npm run bench`.
// Every row is timed on the same device in the same run as the floor kernels it is compared with.
import type * as Library from '../src/index.js';
import type { QuantScheme } from '../src/index.js';

export interface Row {
  name: string;
  /** Seconds: median, min, max over the timed runs. */
  median: number;
  min: number;
  max: number;
  /** Bytes read plus bytes written, for effective bandwidth. */
  bytes: number;
}

export interface SizeResult {
  size: number;
  rows: Row[];
}

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

/**
 * The least work on the same bytes: read N f32, write N packed bytes, `words` words per
 * invocation. The floor is the fastest of TRIVIAL_WORDS on the adapter at hand: one invocation
 * per word wastes a CPU emulation's lanes on setup, while a real GPU may prefer few.
 */
function trivialKernel(words: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  let first = (gid.x + gid.y * n.x * 64u) * ${words}u;
  for (var k = 0u; k < ${words}u; k = k + 1u) {
    let w = first + k;
    if (w >= arrayLength(&out)) { return; }
    let v = vec4<i32>(x[w]);
    out[w] = (u32(v.x) & 0xffu) | ((u32(v.y) & 0xffu) << 8u) | ((u32(v.z) & 0xffu) << 16u) | (u32(v.w) << 24u);
  }
}`;
}

const TRIVIAL_WORDS = [1, 4, 16, 32];
const TRIVIAL = 'floor: trivial kernel (read f32, write u8)';

/** The rows' floor: the fastest trivial kernel of the size. */
export function trivialFloor(rows: Row[]): number {
  return Math.min(...rows.filter((r) => r.name.startsWith(TRIVIAL)).map((r) => r.median));
}

function stats(name: string, times: number[], bytes: number): Row {
  const sorted = [...times].sort((a, b) => a - b);
  return { name, median: sorted[Math.floor(sorted.length / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0, bytes };
}

export async function time(runs: number, warmup: number, body: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await body();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await body();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

export interface BenchOptions {
  sizes: number[];
  runs: number;
  warmup: number;
  /** Skip the CPU backend above this many elements (it is minutes on 8192²). */
  cpuMaxElements: number;
  /** Only the floors and the mse rows (`--only-mse`). */
  mseOnly?: boolean;
  log?: (line: string) => void;
}

/** Every scheme the table compares: per tensor, per channel and per group of 128 (32 for ggml). */
export function benchSchemes(): [string, QuantScheme][] {
  const out: [string, QuantScheme][] = [];
  for (const profile of ['onnx', 'pytorch'] as const) {
    out.push([`${profile} per-tensor`, { dtype: 'int8', symmetric: true, granularity: 'tensor', profile }]);
    out.push([`${profile} per-channel`, { dtype: 'int8', symmetric: true, granularity: 'channel', profile }]);
    out.push([`${profile} group-128`, { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 128, profile }]);
  }
  out.push(['ggml Q8_0 (group-32)', { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }]);
  return out;
}

/**
 * The floor rows of one size: the trivial kernel at each of TRIVIAL_WORDS, reading `n` f32 of
 * `input` and writing `n` bytes to `out`. Pipelines are made once per device.
 */
export function trivialTimer(device: GPUDevice): (input: GPUBuffer, out: GPUBuffer, n: number, runs: number, warmup: number) => Promise<Row[]> {
  const trivials = TRIVIAL_WORDS.map((words) => ({
    words,
    pipeline: device.createComputePipeline({
      layout: 'auto', compute: { module: device.createShaderModule({ code: trivialKernel(words) }), entryPoint: 'main' },
    }),
  }));
  return async (input, out, n, runs, warmup) => {
    const rows: Row[] = [];
    for (const { words, pipeline } of trivials) {
      const groups = Math.ceil(n / 4 / words / 64);
      const gx = Math.min(groups, 65535);
      const bind = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: input } }, { binding: 1, resource: { buffer: out } }],
      });
      rows.push(stats(`${TRIVIAL}, ${words} word${words === 1 ? '' : 's'} per invocation`, await time(runs, warmup, async () => {
        const e = device.createCommandEncoder();
        const pass = e.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
        pass.end();
        device.queue.submit([e.finish()]);
        await device.queue.onSubmittedWorkDone();
      }), n * 4 + n));
    }
    return rows;
  };
}

export async function runBench(lib: typeof Library, device: GPUDevice, options: BenchOptions): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  const trivialRows = trivialTimer(device);
  for (const size of options.sizes) {
    const n = size * size;
    const shape = [size, size];
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 7));
    const input = device.createBuffer({ size: n * 4, usage: STORAGE | COPY_SRC | COPY_DST });
    device.queue.writeBuffer(input, 0, x);
    const copy = device.createBuffer({ size: n * 4, usage: STORAGE | COPY_DST });
    const out = device.createBuffer({ size: n, usage: STORAGE | COPY_SRC });
    const readback = device.createBuffer({ size: n, usage: MAP_READ | COPY_DST });
    await device.queue.onSubmittedWorkDone();
    const rows: Row[] = [];
    const add = (row: Row) => {
      rows.push(row);
      options.log?.(`${size}² ${row.name}: ${(row.median * 1000).toFixed(1)} ms`);
    };
    const { runs, warmup } = options;

    add(stats('floor: copyBufferToBuffer', await time(runs, warmup, async () => {
      const e = device.createCommandEncoder();
      e.copyBufferToBuffer(input, 0, copy, 0, n * 4);
      device.queue.submit([e.finish()]);
      await device.queue.onSubmittedWorkDone();
    }), 2 * n * 4));
    for (const row of await trivialRows(input, out, n, runs, warmup)) add(row);
    add(stats('floor: writeBuffer upload', await time(runs, warmup, async () => {
      device.queue.writeBuffer(copy, 0, x);
      await device.queue.onSubmittedWorkDone();
    }), n * 4));
    add(stats('floor: mapAsync readback (N bytes)', await time(runs, warmup, async () => {
      const e = device.createCommandEncoder();
      e.copyBufferToBuffer(out, 0, readback, 0, n);
      device.queue.submit([e.finish()]);
      await readback.mapAsync(MAP_READ);
      readback.getMappedRange();
      readback.unmap();
    }), n));

    if (size >= 4096) await mseRows(lib, device, x, input, size, options, add);
    for (const [label, scheme] of options.mseOnly ? [] : benchSchemes()) {
      const paramBytes = (scheme.granularity === 'tensor' ? 1 : scheme.granularity === 'channel' ? size : n / (scheme.blockSize ?? 1)) * 8;
      add(stats(`${label} GPU-resident`, await time(runs, warmup, async () => {
        const q = await lib.quantize(input, shape, scheme, { backend: 'webgpu', device, output: 'gpu' });
        for (const b of [q.packed, q.scales, q.zeroPoints]) b.destroy();
      }), n * 4 + n + paramBytes));
      add(stats(`${label} end to end`, await time(runs, warmup, async () => {
        await lib.quantize(x, shape, scheme, { backend: 'webgpu', device });
      }), n * 4 + n + paramBytes));
      if (n <= options.cpuMaxElements) {
        add(stats(`${label} CPU backend`, await time(Math.min(runs, 3), 0, async () => {
          await lib.quantize(x, shape, scheme, { backend: 'cpu' });
        }), n * 4 + n + paramBytes));
      }
    }
    // The per-channel rows with each row kernel the device offers, default or not, so that the
    // table shows how the choice made for this adapter compares with the others.
    const kernels = device.features.has('subgroups') ? ['subgroup', 'workgroup', 'invocation'] as const : ['workgroup', 'invocation'] as const;
    for (const [label, scheme] of options.mseOnly ? [] : benchSchemes().filter(([, sc]) => sc.granularity === 'channel')) {
      for (const rowKernel of kernels) {
        add(stats(`${label} GPU-resident, rowKernel '${rowKernel}'`, await time(runs, warmup, async () => {
          const q = await lib.quantize(input, shape, scheme, { backend: 'webgpu', device, output: 'gpu', rowKernel });
          for (const b of [q.packed, q.scales, q.zeroPoints]) b.destroy();
        }), n * 4 + n + size * 8));
      }
    }
    for (const b of [input, copy, out, readback]) b.destroy();
    results.push({ size, rows });
  }
  return results;
}

/** The mse calibrator's scheme in the table: int4, symmetric, group-128 (W4A16's usual choice). */
const MSE_SCHEME: QuantScheme = {
  dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch', calibration: 'mse',
};

/**
 * mse int4 group-128 (20 candidates per group): GPU-resident and end to end, and the CPU
 * reference it equals ('cpu' runs mse on the reference too) once, in the same run, up to
 * cpuMaxElements.
 */
async function mseRows(
  lib: typeof Library, device: GPUDevice, x: Float32Array, input: GPUBuffer, size: number, options: BenchOptions,
  add: (row: Row) => void,
): Promise<void> {
  const n = size * size;
  const shape = [size, size];
  const bytes = n * 4 + n / 2 + (n / 128) * 8;
  const runs = Math.min(options.runs, 3);
  add(stats('mse int4 group-128 GPU-resident', await time(runs, 1, async () => {
    const q = await lib.quantize(input, shape, MSE_SCHEME, { backend: 'webgpu', device, output: 'gpu' });
    for (const b of [q.packed, q.scales, q.zeroPoints]) b.destroy();
  }), bytes));
  add(stats('mse int4 group-128 end to end', await time(runs, 1, async () => {
    await lib.quantize(x, shape, MSE_SCHEME, { backend: 'webgpu', device });
  }), bytes));
  if (n <= options.cpuMaxElements) {
    add(stats('mse int4 group-128 CPU reference', await time(1, 0, async () => {
      await lib.quantize(x, shape, MSE_SCHEME, { backend: 'reference' });
    }), bytes));
  }
}

/** The table: each row's median, range, effective GB/s and ratios to the two floors of its size. */
export function formatTable(results: SizeResult[], environment: string): string {
  const lines = [`# ${environment}`, ''];
  const header = ['size', 'row', 'median ms', 'min–max ms', 'GB/s', '× trivial', '× copy'];
  const cells: string[][] = [header];
  for (const { size, rows } of results) {
    const trivial = trivialFloor(rows);
    const copy = rows.find((r) => r.name.startsWith('floor: copy'))?.median ?? NaN;
    for (const r of rows) {
      cells.push([
        `${size}²`, r.name, (r.median * 1000).toFixed(1), `${(r.min * 1000).toFixed(1)}–${(r.max * 1000).toFixed(1)}`,
        (r.bytes / r.median / 1e9).toFixed(2), (trivial / r.median).toFixed(2), (copy / r.median).toFixed(2),
      ]);
    }
  }
  const widths = header.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  for (const row of cells) lines.push(`| ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`);
  lines.splice(3, 0, `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  lines.push('', '× trivial and × copy: the floor kernel\'s median time divided by the row\'s (1.00 = as fast as the floor);',
    'the trivial floor is the fastest of its rows.');
  return lines.join('\n');
}
