// A scheme checked against a shape, with its defaults filled in and its format's own checks made.
import { QuantizationError } from '../errors.js';
import { checkDType, checkProfile, GRANULARITIES, type Layout, makeLayout, normalizeAxis } from '../layout.js';
import type { QuantScheme } from '../types.js';
import type { QuantFormat } from './format.js';
import { MSE_DEFAULTS } from './mse.js';
import { PERCENTILE_DEFAULT } from './percentile.js';
import { calibratorOf, lookupFormat } from './registry.js';

/** A scheme with every default filled in, checked against a shape. */
export interface ResolvedScheme {
  scheme: QuantScheme;
  layout: Layout;
}

/**
 * Validates `scheme` for a tensor of `shape` and fills its defaults. Any combination the profile
 * cannot express is an error, never a substitution.
 */
export function resolveScheme(shape: readonly number[], scheme: QuantScheme): ResolvedScheme {
  if (typeof scheme !== 'object' || scheme === null) {
    throw new QuantizationError('scheme must be an object', { field: 'scheme' });
  }
  const dtype = checkDType(scheme.dtype, 'scheme.dtype');
  const profile = checkProfile(scheme.profile);
  const format = lookupFormat(scheme.format === undefined ? { profile, dtype } : { profile, dtype, format: scheme.format });
  if (typeof scheme.symmetric !== 'boolean') {
    throw new QuantizationError(`scheme.symmetric must be true or false; got ${String(scheme.symmetric)}`, {
      field: 'scheme.symmetric',
    });
  }
  const granularity = scheme.granularity;
  if (!GRANULARITIES.includes(granularity)) {
    throw new QuantizationError(
      `scheme.granularity must be one of ${GRANULARITIES.join(', ')}; got ${String(granularity)}`,
      { field: 'scheme.granularity' },
    );
  }
  const rank = shape.length;
  let axis = 0;
  let blockSize = 1;
  if (granularity === 'tensor') {
    if (scheme.axis !== undefined) {
      throw new QuantizationError('scheme.axis applies only to channel and group granularity', {
        field: 'scheme.axis',
      });
    }
  } else {
    axis = normalizeAxis(scheme.axis ?? (granularity === 'channel' ? 0 : rank - 1), rank, 'scheme.axis');
  }
  if (granularity === 'group') {
    blockSize = scheme.blockSize ?? format.defaultBlockSize ?? NaN;
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new QuantizationError(
        `scheme.blockSize must be an integer >= 1 for group granularity; got ${String(scheme.blockSize)}`,
        { field: 'scheme.blockSize' },
      );
    }
  } else if (scheme.blockSize !== undefined) {
    throw new QuantizationError('scheme.blockSize applies only to group granularity', {
      field: 'scheme.blockSize',
    });
  }
  const resolved: QuantScheme = { dtype, symmetric: scheme.symmetric, granularity, profile };
  if (granularity !== 'tensor') resolved.axis = axis;
  if (granularity === 'group') resolved.blockSize = blockSize;
  if (scheme.format !== undefined) resolved.format = format.name;
  if (scheme.calibration !== undefined) resolved.calibration = calibratorOf(scheme).name;
  resolveCalibration(scheme, resolved, format);
  format.check?.(shape, resolved);
  return { scheme: resolved, layout: makeLayout(shape, granularity, axis, blockSize) };
}

function optionError(field: string, message: string): QuantizationError {
  return new QuantizationError(`${field} ${message}`, { field });
}

/**
 * The calibration's options checked and their defaults filled in. ggml's formats keep
 * llama.cpp's formulas, whose scale comes from the block's largest magnitude, so they take
 * min/max calibration only.
 */
function resolveCalibration(scheme: QuantScheme, resolved: QuantScheme, format: QuantFormat): void {
  const method = resolved.calibration ?? 'minmax';
  if (method !== 'minmax' && format.profile === 'ggml') {
    throw optionError(
      'scheme.calibration',
      `${method} is not available for the ggml profile: ${format.name.toUpperCase()} keeps llama.cpp's formulas, which calibrate by min/max only`,
    );
  }
  if (scheme.mse !== undefined) {
    if (method !== 'mse') throw optionError('scheme.mse', `applies only to calibration 'mse'; calibration is ${method}`);
    if (typeof scheme.mse !== 'object' || scheme.mse === null) throw optionError('scheme.mse', 'must be an object');
    for (const key of Object.keys(scheme.mse)) {
      if (!(key in MSE_DEFAULTS)) throw optionError(`scheme.mse.${key}`, 'is not an option (grid, maxShrink, norm)');
    }
  }
  if (method === 'mse') {
    const o = { ...MSE_DEFAULTS, ...scheme.mse };
    if (!Number.isInteger(o.grid) || o.grid < 1) throw optionError('scheme.mse.grid', `must be an integer >= 1; got ${String(o.grid)}`);
    if (!(typeof o.maxShrink === 'number' && o.maxShrink > 0 && o.maxShrink <= 1)) {
      throw optionError('scheme.mse.maxShrink', `must be in (0, 1]; got ${String(o.maxShrink)}`);
    }
    if (!(typeof o.norm === 'number' && Number.isFinite(o.norm) && o.norm > 0)) {
      throw optionError('scheme.mse.norm', `must be a finite number > 0; got ${String(o.norm)}`);
    }
    if (Math.trunc(o.maxShrink * o.grid) < 1) {
      throw optionError('scheme.mse.maxShrink', `× grid must be at least 1 (one candidate); got ${o.maxShrink} × ${o.grid}`);
    }
    resolved.mse = { grid: o.grid, maxShrink: o.maxShrink, norm: o.norm };
  }
  if (scheme.percentile !== undefined && method !== 'percentile') {
    throw optionError('scheme.percentile', `applies only to calibration 'percentile'; calibration is ${method}`);
  }
  if (method === 'percentile') {
    const P = scheme.percentile ?? PERCENTILE_DEFAULT;
    if (!(typeof P === 'number' && P > 0 && P <= 100)) {
      throw optionError('scheme.percentile', `must be in (0, 100]; got ${String(P)}`);
    }
    resolved.percentile = P;
  }
}
