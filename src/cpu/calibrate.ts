// Calibration by the registered formats' formulas: the entry points of the reference API.
import type { Layout } from '../layout.js';
import type { QParams } from '../schemes/format.js';
import { formatOf } from '../schemes/registry.js';
import type { QuantScheme } from '../types.js';
import { type ParamStats, paramStats } from './reduce.js';

export { codeRange, FLOAT32_EPS, symmetricZeroPoint } from './affine.js';
export type { QParams } from '../schemes/format.js';

/**
 * Computes the scale and zero point of every tensor, channel or block of `x` by the rules of the
 * scheme's format. `scheme` must come from `resolveScheme`.
 */
export function calibrate(x: Float32Array, layout: Layout, scheme: QuantScheme): QParams {
  return calibrateFromStats(paramStats(x, layout), scheme);
}

/** {@link calibrate} from statistics gathered beforehand (a tensor read in chunks). */
export function calibrateFromStats(stats: ParamStats, scheme: QuantScheme): QParams {
  return formatOf(scheme).cpu.params(stats, scheme);
}
