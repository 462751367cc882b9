// The gain of each calibration over min/max, measured: README's calibration table comes from this
// run. `npm run build && npx tsx bench/calibration-quality.ts` quantizes the bundled models' weights
// on the built package's CPU reference with the pytorch profile, symmetric, under int4 group-32,
// int4 group-128 and int8 per channel, each calibrated by minmax, mse (llm-compressor's defaults)
// and percentile (99.9), and prints SQNR in dB (errorMetrics over the dequantized tensor):
// 1. a Markdown table of a selection of tensors;
// 2. over every weight of rank ≥ 2 of stories260K, the range of each method's gain over min/max
//    per scheme, and how many tensors it left unchanged.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Library from '../src/index.js';
import type * as ModelLibrary from '../src/model/index.js';

const builtIndex: string = '../dist/index.js';
const builtModel: string = '../dist/model.js';
const lib = (await import(builtIndex)) as typeof Library;
const model = (await import(builtModel)) as typeof ModelLibrary;

const MODELS = join(import.meta.dirname, '..', 'models');

const SCHEMES: [string, Library.QuantScheme][] = [
  ['int4 g32', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'pytorch' }],
  ['int4 g128', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' }],
  ['int8 channel', { dtype: 'int8', symmetric: true, granularity: 'channel', axis: 0, profile: 'pytorch' }],
];
const METHODS = ['minmax', 'mse', 'percentile'] as const;

async function sqnr(x: Float32Array, shape: number[], scheme: Library.QuantScheme): Promise<number> {
  const q = await lib.quantize(x, shape, scheme, { backend: 'reference' });
  return lib.errorMetrics(x, await lib.dequantize(q), shape).sqnrDb;
}

/** SQNR per scheme and method, in SCHEMES × METHODS order. */
async function measure(x: Float32Array, shape: number[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const [, scheme] of SCHEMES) {
    const row: number[] = [];
    for (const calibration of METHODS) row.push(await sqnr(x, shape, { ...scheme, calibration }));
    out.push(row);
  }
  return out;
}

async function weights(file: string) {
  const m = await model.openModel(model.bytesSource(new Uint8Array(await readFile(join(MODELS, file))), file));
  const out: { name: string; shape: number[]; values: Float32Array }[] = [];
  for (const t of model.modelTensors(m)) {
    if (t.shape.length < 2) continue;
    out.push({ name: t.name, shape: [...t.shape], values: await model.readTensorF32(m, t.name) });
  }
  return out;
}

const SELECTION: [string, string[]][] = [
  ['mnist.safetensors', ['fc1.weight', 'fc2.weight']],
  ['stories260K.gguf', ['token_embd.weight', 'blk.0.attn_k.weight', 'blk.0.ffn_down.weight', 'blk.4.attn_v.weight']],
];

const f2 = (v: number) => v.toFixed(2);
console.log(`| tensor | ${SCHEMES.map(([label]) => `${label} minmax / mse / pct`).join(' | ')} |`);
console.log(`| --- | ${SCHEMES.map(() => '---').join(' | ')} |`);
for (const [file, names] of SELECTION) {
  const all = await weights(file);
  for (const name of names) {
    const t = all.find((w) => w.name === name);
    if (!t) throw new Error(`${file} has no ${name}`);
    const m = await measure(t.values, t.shape);
    console.log(`| ${file.replace(/\..*$/, '')} \`${name}\` [${t.shape.join('×')}] | ${m.map((r) => r.map(f2).join(' / ')).join(' | ')} |`);
  }
}

const stories = await weights('stories260K.gguf');
const gains = SCHEMES.map(() => METHODS.slice(1).map(() => [] as number[]));
for (const t of stories) {
  const m = await measure(t.values, t.shape);
  m.forEach((row, s) => row.slice(1).forEach((v, k) => gains[s]?.[k]?.push(v - (row[0] as number))));
}
console.log(`\nstories260K, ${stories.length} weights of rank ≥ 2: gain over min/max in dB, least – most (unchanged count)`);
SCHEMES.forEach(([label], s) => {
  const parts = METHODS.slice(1).map((method, k) => {
    const g = gains[s]?.[k] ?? [];
    return `${method} ${f2(Math.min(...g))} – ${f2(Math.max(...g))} (${g.filter((v) => v === 0).length} unchanged)`;
  });
  console.log(`${label}: ${parts.join('; ')}`);
});
