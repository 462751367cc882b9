// Turning command-line flags into a scheme, with the defaults each output format implies.
import { InvalidArgumentError } from 'commander';
import { GGML_BLOCK } from '../layout.js';
import type { Granularity, Profile, QuantDType, QuantScheme } from '../types.js';

export interface SchemeFlags {
  format?: 'safetensors' | 'gguf';
  dtype?: QuantDType;
  symmetric?: boolean;
  granularity?: Granularity;
  axis?: number;
  blockSize?: number;
  profile?: Profile;
  calibration?: string;
  percentile?: number;
  mseGrid?: number;
  mseNorm?: number;
}

export function choice<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
    return value as T;
  };
}

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

/** A finite number; the scheme's checks then say which values the option takes. */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

export function positiveInt(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/**
 * The scheme the flags ask for. GGUF output defaults to Q8_0 (ggml, int8, symmetric, groups of
 * 32); safetensors output to compressed-tensors' W8 scheme (pytorch, int8, symmetric, per channel).
 */
export function schemeFromFlags(flags: SchemeFlags, format: 'safetensors' | 'gguf'): QuantScheme {
  const ggml = format === 'gguf';
  const profile = flags.profile ?? (ggml ? 'ggml' : 'pytorch');
  const granularity = flags.granularity ?? (profile === 'ggml' || flags.blockSize !== undefined ? 'group' : 'channel');
  const scheme: QuantScheme = {
    dtype: flags.dtype ?? 'int8',
    symmetric: flags.symmetric ?? true,
    granularity,
    profile,
  };
  if (flags.calibration !== undefined) scheme.calibration = flags.calibration;
  if (flags.percentile !== undefined) scheme.percentile = flags.percentile;
  if (flags.mseGrid !== undefined || flags.mseNorm !== undefined) {
    scheme.mse = {
      ...(flags.mseGrid !== undefined ? { grid: flags.mseGrid } : {}), ...(flags.mseNorm !== undefined ? { norm: flags.mseNorm } : {}),
    };
  }
  if (flags.axis !== undefined) scheme.axis = flags.axis;
  if (granularity === 'group') scheme.blockSize = flags.blockSize ?? (profile === 'ggml' ? GGML_BLOCK : 128);
  else if (flags.blockSize !== undefined) scheme.blockSize = flags.blockSize;
  return scheme;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40,
};

/**
 * A size as transformers' `max_shard_size` takes one: bytes, or a number with a unit — KB, MB, GB,
 * TB in decimal units (1 GB = 10⁹ bytes, as transformers counts) or KiB, MiB, GiB, TiB in binary.
 */
export function byteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toUpperCase()];
  if (!m || unit === undefined) {
    throw new InvalidArgumentError('must be a size such as 5GB, 500MB, 2GiB or a number of bytes');
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidArgumentError('must be at least one byte');
  return bytes;
}
