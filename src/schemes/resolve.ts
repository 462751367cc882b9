// A scheme checked against a shape, with its defaults filled in and its format's own checks made.
import { QuantizationError } from '../errors.js';
import { checkDType, checkProfile, GRANULARITIES, type Layout, makeLayout, normalizeAxis } from '../layout.js';
import type { QuantScheme } from '../types.js';
import { calibratorOf, formatOf } from './registry.js';

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
  const format = formatOf(scheme.format === undefined ? { profile, dtype } : { profile, dtype, format: scheme.format });
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
  format.check?.(shape, resolved);
  return { scheme: resolved, layout: makeLayout(shape, granularity, axis, blockSize) };
}
