// forEachRunIn visits the same (element, parameter) pairs as forEachElementIn, in the same order,
// for every granularity and axis, over every sub-range of small awkward shapes.
import { describe, expect, it } from 'vitest';
import { forEachElementIn, forEachRunIn } from '../../src/cpu/reduce.js';
import { makeLayout } from '../../src/layout.js';
import type { Granularity } from '../../src/types.js';

const LAYOUTS: [string, number[], Granularity, number, number][] = [
  ['tensor', [3, 5], 'tensor', 0, 1],
  ['channel axis 0', [3, 5], 'channel', 0, 1],
  ['channel axis 1 (last)', [3, 5], 'channel', 1, 1],
  ['channel axis 1 of 3-D', [2, 3, 4], 'channel', 1, 1],
  ['group 2 along axis 0', [5, 3], 'group', 0, 2],
  ['group 4 along the last axis, a short last block', [3, 6], 'group', 1, 4],
  ['group 3 along axis 1 of 3-D', [2, 5, 2], 'group', 1, 3],
];

describe('forEachRunIn', () => {
  it.each(LAYOUTS)('%s: the pairs of forEachElementIn, on every range', (_name, shape, granularity, axis, blockSize) => {
    const layout = makeLayout(shape, granularity, axis, blockSize);
    const numel = shape.reduce((a, b) => a * b, 1);
    for (let start = 0; start <= numel; start++) {
      for (let end = start; end <= numel; end++) {
        const want: number[][] = [];
        forEachElementIn(layout, start, end, (i, p) => want.push([i, p]));
        const got: number[][] = [];
        forEachRunIn(layout, start, end, (a, b, p, step) => {
          for (let i = a, q = p; i < b; i++, q += step) got.push([i, q]);
        });
        expect(got, `[${start}, ${end})`).toEqual(want);
      }
    }
  });
});
