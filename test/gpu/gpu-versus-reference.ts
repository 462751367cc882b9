// One calibration case on WebGPU (whole, in chunks, or streamed) against the reference's result,
// shared by the mse and percentile suites, which run in Node and inside headless Chromium.
import { compareQuantized, quantize, type QuantizedTensor, quantizeStream, type QuantScheme } from '../../src/index.js';

export interface GpuRun {
  /** Bytes bound at once on the GPU, to force chunks; none for whole. */
  maxChunkBytes?: number;
  /** Streamed through quantizeStream in chunks of this many elements. */
  streamElements?: number;
}

export async function gpuVersusReference(
  x: Float32Array, shape: number[], scheme: QuantScheme, cpu: QuantizedTensor, run: GpuRun,
): Promise<{ equal: boolean; summary: string }> {
  if (run.streamElements !== undefined) {
    const codes = new Int32Array(x.length);
    const r = await quantizeStream({ read: async (s, n) => x.slice(s, s + n) }, shape, scheme, {
      backend: 'webgpu', chunkElements: run.streamElements, onChunk: (k) => { codes.set(k.codes, k.start); },
    });
    const scalesEqual = r.scales.every((v, p) => Object.is(v, cpu.scales[p])) && r.scales.length === cpu.scales.length;
    const zpEqual = r.zeroPoints.every((v, p) => v === cpu.zeroPoints[p]);
    const bad = codes.findIndex((v, i) => v !== cpu.codes[i]);
    const equal = scalesEqual && zpEqual && bad < 0;
    return {
      equal,
      summary: equal ? 'streamed: scales, zero points and codes equal'
        : `streamed: scales ${scalesEqual ? 'equal' : 'differ'}, zero points ${zpEqual ? 'equal' : 'differ'}, first code mismatch ${bad}`,
    };
  }
  const gpu = await quantize(x, shape, scheme, { backend: 'webgpu', ...(run.maxChunkBytes ? { maxChunkBytes: run.maxChunkBytes } : {}) });
  const report = compareQuantized(gpu, cpu, { input: x });
  return { equal: report.equal, summary: report.summary };
}
