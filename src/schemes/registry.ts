// The format registry: one descriptor per quantized format, looked up by name or by the scheme.
// Adding a format is a descriptor (src/schemes/format.ts), its CPU reference, its kernel file and
// one line here or one registerFormat call.
import { QuantizationError } from '../errors.js';
import type { QuantScheme } from '../types.js';
import { BUILTIN_FORMATS } from './builtin.js';
import type { Calibrator } from './calibrator.js';
import type { AffineFormat, BlockFormat, QuantFormat } from './format.js';
import { minmax } from './minmax.js';
import { mse } from './mse.js';
import { percentile } from './percentile.js';

const registry = new Map<string, QuantFormat>(BUILTIN_FORMATS.map((f) => [f.name, f]));
const calibrators = new Map<string, Calibrator>([minmax, mse, percentile].map((c) => [c.name, c]));

function checkNew(kind: 'format' | 'calibrator', name: unknown, taken: Map<string, unknown>): void {
  if (typeof name !== 'string' || name === '') {
    throw new QuantizationError(`a ${kind} needs a name`, { field: `${kind}.name` });
  }
  if (taken.has(name)) {
    throw new QuantizationError(`a ${kind} named ${name} is registered already`, { field: `${kind}.name` });
  }
}

/**
 * Adds a format that schemes can then name (`scheme.format`). Its name must be new.
 *
 * @example
 * registerFormat({ name: 'int8_b16', profile: 'onnx', gpu: { kind: 'blocks', kernel }, ... });
 * await quantize(x, shape, { format: 'int8_b16', profile: 'onnx', dtype: 'int8', symmetric: true, granularity: 'group' });
 */
export function registerFormat(format: QuantFormat): void {
  checkNew('format', format?.name, registry);
  registry.set(format.name, format);
}

/** Adds a calibration method that schemes can then name (`scheme.calibration`). Its name must be new. */
export function registerCalibrator(calibrator: Calibrator): void {
  checkNew('calibrator', calibrator?.name, calibrators);
  calibrators.set(calibrator.name, calibrator);
}

/** Every registered calibration method, min/max first. */
export function listCalibrators(): Calibrator[] {
  return [...calibrators.values()];
}

/** The calibration method a scheme names, min/max when it names none. */
export function calibratorOf(scheme: Pick<QuantScheme, 'calibration'>): Calibrator {
  const found = calibrators.get(scheme.calibration ?? minmax.name);
  if (!found) {
    throw new QuantizationError(
      `scheme.calibration must be one of ${[...calibrators.keys()].join(', ')}; got ${String(scheme.calibration)}`,
      { field: 'scheme.calibration' },
    );
  }
  return found;
}

/** Every registered format, the built-in ones first. */
export function listFormats(): QuantFormat[] {
  return [...registry.values()];
}

/**
 * The format of a scheme, of either kind: the one it names, else the built-in format its profile
 * and dtype select (the profile's first, whose checks then say what the profile cannot express).
 */
export function lookupFormat(scheme: Pick<QuantScheme, 'profile' | 'dtype' | 'format'>): QuantFormat {
  if (scheme.format !== undefined) {
    const named = registry.get(scheme.format);
    if (!named) {
      throw new QuantizationError(
        `scheme.format must be one of ${[...registry.keys()].join(', ')}; got ${String(scheme.format)}`,
        { field: 'scheme.format' },
      );
    }
    if (named.profile !== scheme.profile) {
      throw new QuantizationError(
        `format ${named.name} follows the ${named.profile} profile; scheme.profile is ${String(scheme.profile)}`,
        { field: 'scheme.profile' },
      );
    }
    return named;
  }
  const family = BUILTIN_FORMATS.filter((f) => f.profile === scheme.profile);
  const found = family.find((f) => f.selects?.(scheme)) ?? family[0];
  if (!found) throw new QuantizationError(`no format serves profile ${String(scheme.profile)}`, { field: 'scheme.profile' });
  return found;
}

/**
 * The affine format of a scheme (scales, zero points and codes): what every path that makes codes
 * asks for. A block format here is an error naming it: its results are its own blocks.
 */
export function formatOf(scheme: Pick<QuantScheme, 'profile' | 'dtype' | 'format'>): AffineFormat {
  const found = lookupFormat(scheme);
  if (found.params === 'blocks') {
    throw new QuantizationError(
      `format ${found.name} encodes blocks of ${found.blocks.blockElements} with scales of their own, not codes with scales and zero points`,
      { field: 'scheme.format' },
    );
  }
  return found;
}

/** The block format a scheme names (a K-quant), else undefined. */
export function blockFormatOf(scheme: Pick<QuantScheme, 'profile' | 'dtype' | 'format'>): BlockFormat | undefined {
  if (scheme.format === undefined) return undefined;
  const found = lookupFormat(scheme);
  return found.params === 'blocks' ? found : undefined;
}

/** The registered block format whose blocks are GGUF type `typeName` (Q4_K, …), else undefined. */
export function blockFormatOfGgufType(typeName: string): BlockFormat | undefined {
  for (const f of registry.values()) if (f.params === 'blocks' && f.blocks.gguf.typeName === typeName) return f;
  return undefined;
}

/** The format a scheme names or selects when it has a GGUF encoding (ggml's Q8_0 and Q4_0), else undefined. */
export function ggufFormatOf(scheme: Pick<QuantScheme, 'profile' | 'dtype' | 'format'>): AffineFormat | undefined {
  const found = scheme.format !== undefined ? registry.get(scheme.format) : BUILTIN_FORMATS.find((f) => f.selects?.(scheme));
  return found?.gguf ? found : undefined;
}
