import { describe, expect, it } from 'vitest';
import { compareQuantized, quantize } from '../../src/index.js';
import type { QuantScheme, QuantizedTensor } from '../../src/index.js';

const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx' };
const x = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);

function clone(q: QuantizedTensor): QuantizedTensor {
  return { ...q, codes: q.codes.slice(), packed: q.packed.slice(), scales: q.scales.slice(), zeroPoints: q.zeroPoints.slice() };
}

describe('compareQuantized', () => {
  it('reports identical results as bit-identical', async () => {
    const a = await quantize(x, [3, 4], scheme);
    const report = compareQuantized(a, clone(a));
    expect(report.equal).toBe(true);
    expect(report.mismatchCount).toBe(0);
    expect(report.summary).toMatch(/bit-identical/);
  });

  it('locates a code mismatch: flat index, coordinates, channel, input, both codes and scales', async () => {
    const a = await quantize(x, [3, 4], scheme);
    const b = clone(a);
    b.codes[6] = (b.codes[6] as number) + 1;
    const report = compareQuantized(a, b, { input: x });
    expect(report.equal).toBe(false);
    expect(report.mismatchCount).toBe(1);
    expect(report.mismatches[0]).toMatchObject({
      index: 6, coords: [1, 2], param: 1, input: 0.5, codeA: a.codes[6], codeB: (a.codes[6] as number) + 1,
      scaleA: a.scales[1], scaleB: a.scales[1],
    });
    expect(report.mismatches[0]?.reason).toMatch(/same scale and zero point/);
    expect(report.summary).toMatch(/element 6 \[1, 2\] \(param 1\) input 0.5/);
  });

  it('tells a scale difference by bit pattern, even −0 against 0, and blames it for the codes', async () => {
    const a = await quantize(x, [3, 4], scheme);
    const b = clone(a);
    b.scales[2] = -0;
    a.scales[2] = 0;
    b.codes[8] = 99;
    const report = compareQuantized(a, b);
    expect(report.paramMismatchCount).toBe(1);
    expect(report.paramMismatches[0]).toMatchObject({ param: 2, coords: [2] });
    expect(report.mismatches[0]?.reason).toMatch(/scale or zero point of its parameter differs/);
    expect(report.summary).toMatch(/scale 0 vs -0/);
  });

  it('counts packed words and limits the list', async () => {
    const a = await quantize(x, [3, 4], scheme);
    const b = clone(a);
    for (let i = 0; i < 12; i++) b.codes[i] = 0;
    b.packed.fill(0);
    const report = compareQuantized(a, b, { limit: 2 });
    expect(report.mismatches.length).toBe(2);
    expect(report.mismatchCount).toBe(Array.from(a.codes).filter((c) => c !== 0).length);
    expect(report.packedMismatchCount).toBe(3);
  });

  it('refuses to compare different shapes or schemes element by element', async () => {
    const a = await quantize(x, [3, 4], scheme);
    const b = await quantize(x, [4, 3], scheme);
    const report = compareQuantized(a, b);
    expect(report.equal).toBe(false);
    expect(report.problems).toContain('shapes differ: [3,4] vs [4,3]');
    expect(report.problems.some((p) => p.startsWith('scales lengths differ'))).toBe(true);
    const c = await quantize(x, [3, 4], { ...scheme, profile: 'pytorch' });
    expect(compareQuantized(a, c).summary).toMatch(/not comparable: schemes differ/);
  });
});
