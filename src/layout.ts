import { QuantizationError } from './errors.js';
import type { Granularity, Profile, QuantDType } from './types.js';

/** Integer range of a storage type. */
export interface CodeRange {
  qmin: number;
  qmax: number;
}

const FULL_RANGES: Record<QuantDType, CodeRange> = {
  int8: { qmin: -128, qmax: 127 },
  uint8: { qmin: 0, qmax: 255 },
  int4: { qmin: -8, qmax: 7 },
  uint4: { qmin: 0, qmax: 15 },
};

const DTYPES = Object.keys(FULL_RANGES) as QuantDType[];
const PROFILES: readonly Profile[] = ['onnx', 'pytorch', 'ggml'];
export const GRANULARITIES: readonly Granularity[] = ['tensor', 'channel', 'group'];

/** The full range of `dtype`. */
export function fullRange(dtype: QuantDType): CodeRange {
  return FULL_RANGES[dtype];
}

export function isSigned(dtype: QuantDType): boolean {
  return dtype === 'int8' || dtype === 'int4';
}

/** Least common multiple of two positive integers (chunk sizes that suit two alignments). */
export function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

export function bitsOf(dtype: QuantDType): 4 | 8 {
  return dtype === 'int8' || dtype === 'uint8' ? 8 : 4;
}

export function checkDType(dtype: unknown, field = 'dtype'): QuantDType {
  if (!DTYPES.includes(dtype as QuantDType)) {
    throw new QuantizationError(`${field} must be one of ${DTYPES.join(', ')}; got ${String(dtype)}`, { field });
  }
  return dtype as QuantDType;
}

export function checkProfile(profile: unknown): Profile {
  if (!PROFILES.includes(profile as Profile)) {
    throw new QuantizationError(`profile must be one of ${PROFILES.join(', ')}; got ${String(profile)}`, {
      field: 'profile',
    });
  }
  return profile as Profile;
}

/** Checks that `shape` is a list of non-negative integers, and returns their product. */
export function shapeElements(shape: readonly number[]): number {
  if (!Array.isArray(shape)) {
    throw new QuantizationError('shape must be an array of non-negative integers', { field: 'shape' });
  }
  let numel = 1;
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) {
      throw new QuantizationError(`shape[${i}] must be a non-negative integer; got ${d}`, { field: 'shape' });
    }
    numel *= d;
  });
  return numel;
}

/** Checks that `shape` is a list of non-negative integers whose product is `length`. */
export function checkShape(shape: readonly number[], length: number): void {
  const numel = shapeElements(shape);
  if (numel !== length) {
    throw new QuantizationError(
      `shape [${shape.join(', ')}] holds ${numel} elements but the data has ${length}`,
      { field: 'shape' },
    );
  }
}

/** Row-major coordinates of flat index `index` in `shape`. */
export function unravel(index: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length).fill(0);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] ?? 1;
    coords[d] = rest % n;
    rest = Math.floor(rest / n);
  }
  return coords;
}

/** The error for a NaN or ±Infinity at flat `index` (`value` when known), naming its coordinates. */
export function nonFiniteError(value: number | undefined, index: number, shape: readonly number[]): QuantizationError {
  const coords = unravel(index, shape);
  return new QuantizationError(
    `x holds ${value === undefined ? 'a NaN or ±Infinity' : String(value)} at flat index ${index} ` +
      `(coordinates [${coords.join(', ')}]); only finite values can be quantized`,
    { field: 'x', index, coords },
  );
}

/** `axis` in [0, rank), accepting negative axes counted from the end. */
export function normalizeAxis(axis: number, rank: number, field: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new QuantizationError(
      rank === 0
        ? `${field} ${axis} is out of range: a 0-d tensor has no axes`
        : `${field} ${axis} is out of range for a tensor of rank ${rank} (valid: ${-rank}..${rank - 1})`,
      { field },
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Where each element's scale lives. Elements are visited as `(o, k, n)` over
 * `[outer, axisLen, inner]`; the parameter index is `rowBase(o, k) + n * innerStride`.
 * A per-tensor layout is one row of `inner = numel` elements that all share parameter 0.
 */
export interface Layout {
  granularity: Granularity;
  /** The quantized axis (0 for per-tensor). */
  axis: number;
  /** Block length along the axis; `axisLen` for per-channel and per-tensor. */
  blockSize: number;
  outer: number;
  axisLen: number;
  inner: number;
  numBlocks: number;
  innerStride: 0 | 1;
  paramCount: number;
  /** Shape of the scale and zero-point tensors (ONNX layout). */
  paramShape: number[];
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Builds the layout for `shape` quantized per tensor, per `axis` or in blocks along `axis`. */
export function makeLayout(
  shape: readonly number[],
  granularity: Granularity,
  axis: number,
  blockSize: number,
): Layout {
  const numel = product(shape);
  if (granularity === 'tensor') {
    return {
      granularity, axis: 0, blockSize: 1, outer: 1, axisLen: 1, inner: numel,
      numBlocks: 1, innerStride: 0, paramCount: 1, paramShape: [],
    };
  }
  const outer = product(shape.slice(0, axis));
  const axisLen = shape[axis] ?? 1;
  const inner = product(shape.slice(axis + 1));
  if (granularity === 'channel') {
    return {
      granularity, axis, blockSize: axisLen, outer, axisLen, inner,
      numBlocks: 1, innerStride: 0, paramCount: axisLen, paramShape: [axisLen],
    };
  }
  const numBlocks = Math.ceil(axisLen / blockSize);
  const paramShape = shape.slice();
  paramShape[axis] = numBlocks;
  return {
    granularity, axis, blockSize, outer, axisLen, inner,
    numBlocks, innerStride: 1, paramCount: outer * numBlocks * inner, paramShape,
  };
}

/** Parameter index of row `(o, k)`; add `n * layout.innerStride` for the element. */
export function rowBase(layout: Layout, o: number, k: number): number {
  switch (layout.granularity) {
    case 'tensor':
      return 0;
    case 'channel':
      return k;
    case 'group':
      return (o * layout.numBlocks + Math.floor(k / layout.blockSize)) * layout.inner;
  }
}

/** Parameter index (tensor, channel or block) of flat element `index`. */
export function paramIndexOf(layout: Layout, index: number): number {
  const n = index % layout.inner;
  const row = Math.floor(index / layout.inner);
  return rowBase(layout, Math.floor(row / layout.axisLen), row % layout.axisLen) + n * layout.innerStride;
}

/** The block length the ggml formats use. */
export const GGML_BLOCK = 32;
