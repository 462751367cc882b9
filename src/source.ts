// Reading a tensor's elements on demand: what the CPU stream and the GPU stager share.
import { QuantizationError } from './errors.js';
import type { TensorSource } from './types.js';

/** `len` elements from `start` of `source`, or an error saying what it gave instead. */
export async function readExactly(source: TensorSource, start: number, len: number): Promise<Float32Array> {
  const values = await source.read(start, len);
  if (values?.length !== len) {
    throw new QuantizationError(`the source gave ${values?.length} elements from ${start}; ${len} were asked for`, {
      field: 'source',
    });
  }
  return values;
}
