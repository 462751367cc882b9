// Inputs for the K-quant checks: real weights reshaped to rows of 256, and adversarial super-blocks.
import { join } from 'node:path';
import { modelTensors, openModel, readTensorF32 } from '../../src/formats/model.js';
import { openFileSource } from '../../src/node/files.js';

const MODELS = join(import.meta.dirname, '..', '..', 'models');

/** Every float of every 2-D weight of a bundled model, truncated to whole super-blocks. */
export async function realWeights(file: string): Promise<{ name: string; values: Float32Array }[]> {
  const source = await openFileSource(join(MODELS, file));
  try {
    const model = await openModel(source);
    const out: { name: string; values: Float32Array }[] = [];
    for (const t of modelTensors(model)) {
      if (t.shape.length < 2 || !t.name.endsWith('weight')) continue;
      const x = await readTensorF32(model, t.name);
      const n = x.length - (x.length % 256);
      if (n > 0) out.push({ name: t.name, values: x.subarray(0, n) });
    }
    return out;
  } finally {
    await source.close();
  }
}

/** A seeded generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Named super-blocks of 256 that stress the searches: zeros, constants, outliers, extremes. */
export function adversarialBlocks(): { name: string; values: Float32Array }[] {
  const r = rng(13);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const make = (name: string, f: (i: number) => number) => ({ name, values: Float32Array.from({ length: 256 }, (_, i) => f(i)) });
  const MAX = 3.4028234663852886e38;
  const blocks = [
    make('all zero', () => 0),
    make('negative zero', () => -0),
    make('constant 1', () => 1),
    make('constant -0.75', () => -0.75),
    make('one outlier', (i) => (i === 77 ? 100 : gauss() * 0.01)),
    make('one negative outlier', (i) => (i === 200 ? -1000 : gauss())),
    make('denormal', (i) => (i % 3 === 0 ? 1e-40 * (i % 7) : -1e-42 * i)),
    make('tiny normal', () => gauss() * 1e-37),
    make('+max float', (i) => (i % 2 ? MAX : 0)),
    make('-max float', (i) => (i === 5 ? -MAX : gauss())),
    make('±max float', (i) => (i % 2 ? MAX : -MAX)),
    make('huge', () => gauss() * 1e30),
    make('all positive', () => 1 + r()),
    make('all negative', () => -1 - r()),
    make('sparse', (i) => (i % 16 === 3 ? gauss() : 0)),
    make('ties', (i) => (i % 32) / 2 - 8),
    make('ramp', (i) => i),
    make('one nonzero', (i) => (i === 0 ? 0.5 : 0)),
    make('float16 overflow', () => gauss() * 1e7),
  ];
  for (let k = 0; k < 40; k++) {
    const scale = 10 ** (r() * 12 - 6);
    blocks.push(make(`gaussian ${k}`, () => gauss() * scale));
  }
  return blocks;
}
