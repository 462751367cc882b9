/** Deterministic pseudo-random data for demos, tests and benchmarks (mulberry32 + Box–Muller). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal(0, std) samples, as float32. */
export function randomNormal(count: number, seed: number, std = 1): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = 1 - rand();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

/**
 * A weight-like `[rows, cols]` matrix: normal values whose spread varies per row, with every
 * `outlierEvery`-th row scaled up 20×, as trained layers often have a few loud channels.
 */
export function syntheticWeights(rows: number, cols: number, seed: number, outlierEvery = 17): Float32Array {
  const x = randomNormal(rows * cols, seed, 0.02);
  for (let r = 0; r < rows; r++) {
    const gain = (r % outlierEvery === outlierEvery - 1 ? 20 : 1) * (0.5 + (r % 7) / 7);
    for (let c = 0; c < cols; c++) x[r * cols + c] = (x[r * cols + c] as number) * gain;
  }
  return x;
}
