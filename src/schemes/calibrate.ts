// Calibration on the CPU through the registry: the scheme's calibrator gathers its statistics,
// the format turns them into parameters, and a calibrator that refines sees the data once more.
import type { Layout } from '../layout.js';
import type { QuantScheme } from '../types.js';
import type { QParams } from './format.js';
import { calibratorOf, formatOf } from './registry.js';

/** The chunk of a tensor that starts at flat index `start`. */
export type ChunkReader = (start: number) => Promise<Float32Array>;

/**
 * The parameters of a tensor of `numel` finite elements read a chunk at a time by `read` (chunks
 * start where the previous one ended, from 0): once for the statistics, once more for a
 * calibrator that refines.
 */
export async function calibrateOnCpu(scheme: QuantScheme, layout: Layout, numel: number, read: ChunkReader): Promise<QParams> {
  const calibrator = calibratorOf(scheme);
  const format = formatOf(scheme);
  const stats = calibrator.empty(layout.paramCount);
  for (let start = 0; start < numel;) {
    const values = await read(start);
    calibrator.accumulate(stats, values, start, layout);
    start += values.length;
  }
  const first = format.cpu.params(stats, scheme);
  if (!calibrator.refine) return first;
  const refinement = calibrator.refine(format, scheme, layout, first, stats);
  for (let start = 0; start < numel;) {
    const values = await read(start);
    refinement.add(values, start);
    start += values.length;
  }
  return refinement.finish();
}
