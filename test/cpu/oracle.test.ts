// The CPU reference against test/data/oracle-vectors.json, written by test/data/oracle.py: an
// independent implementation on exact rational arithmetic (see its docstring).
import { describe, expect, it } from 'vitest';
import { loadOracle } from '../data/oracle.js';
import { quantize } from '../../src/index.js';

const { cases } = loadOracle();

describe('CPU reference equals the independent oracle', () => {
  it('has the full matrix of cases', () => {
    expect(cases.length).toBe(348);
  });
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const x = new Float32Array(new Uint32Array(c.input).buffer);
    const q = await quantize(x, c.shape, c.scheme);
    expect(Array.from(new Uint32Array(q.scales.buffer))).toEqual(c.scales);
    expect(Array.from(q.zeroPoints)).toEqual(c.zeroPoints);
    expect(Array.from(q.codes)).toEqual(c.codes);
  });
});
