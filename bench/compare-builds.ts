// Two builds of the library timed in one run, on one device: did a change make anything slower?
// Each run quantizes the same matrix with every scheme below on WebGPU (arrays in, arrays out),
// the two builds alternating so that drift in the machine's speed falls on both alike; the table
// gives each build's median and their ratio.
// Usage: tsx bench/compare-builds.ts --before DIR [--after DIR] [--size 4096] [--runs 7]
//   DIR: a checkout whose `npm run build` has been run (its dist/index.js is loaded); --after
//   defaults to this checkout.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Library from '../src/index.js';
import type { QuantScheme } from '../src/index.js';
import { randomNormal } from '../src/synthetic.js';

const args = process.argv.slice(2);
const value = (name: string, fallback?: string): string => {
  const i = args.indexOf(name);
  const v = i >= 0 ? args[i + 1] : fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const size = Number(value('--size', '4096'));
const runs = Number(value('--runs', '7'));
const load = async (dir: string) =>
  (await import(pathToFileURL(resolve(dir, 'dist/index.js')).href)) as typeof Library;
const builds = { before: await load(value('--before')), after: await load(value('--after', resolve(import.meta.dirname, '..'))) };

const SCHEMES: [string, QuantScheme][] = [
  ['pytorch int8 per channel', { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' }],
  ['onnx uint8 asym per channel', { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'onnx' }],
  ['onnx int4 group 128', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'onnx' }],
  ['pytorch int8 per tensor', { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'pytorch' }],
  ['Q8_0', { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ['Q4_0', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
];

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const x = randomNormal(size * size, 1);
const times = new Map<string, { before: number[]; after: number[] }>(SCHEMES.map(([n]) => [n, { before: [], after: [] }]));
for (let r = 0; r <= runs; r++) {
  for (const [name, scheme] of SCHEMES) {
    const order = r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const which of order) {
      const t0 = performance.now();
      await builds[which].quantize(x, [size, size], scheme, { backend: 'webgpu' });
      const ms = performance.now() - t0;
      // Run 0 compiles the pipelines and fills the buffer pools: a warm-up, not a measurement.
      if (r > 0) times.get(name)?.[which].push(ms);
    }
  }
  console.error(`run ${r} of ${runs} done`);
}
const facts = await builds.after.adapterFacts();
console.log(`${size}² float32, WebGPU in Node — ${builds.after.adapterName(facts)} — median of ${runs} runs, builds alternating`);
console.log('| scheme | before ms | after ms | after / before |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, t] of times) {
  const [b, a] = [median(t.before), median(t.after)];
  console.log(`| ${name} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(a / b).toFixed(2)} |`);
}
await builds.before.releaseDevice();
await builds.after.releaseDevice();
