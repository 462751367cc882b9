// The fast engine's ways to run, each of which must give the reference's bits: in this thread or
// on several workers, with the WebAssembly SIMD loops or the JavaScript ones only.
export const RUNS: [string, { workers: number; simd: boolean }][] = [
  ['1 worker, SIMD', { workers: 1, simd: true }], ['3 workers, SIMD', { workers: 3, simd: true }],
  ['1 worker, JavaScript loops', { workers: 1, simd: false }], ['3 workers, JavaScript loops', { workers: 3, simd: false }],
];
