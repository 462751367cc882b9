// What the fast engine does not know goes to the reference, never to different bits: a format a
// program registers (here one whose codes differ from every built-in rule), a calibration method
// with a refining pass (mse).
import { afterAll, describe, expect, it } from 'vitest';
import { compareQuantized, formatOf, quantize, quantizeStream, registerFormat, releaseWorkers } from '../../src/index.js';
import type { QuantFormat, QuantScheme } from '../../src/index.js';
import { fastPlan } from '../../src/fast/engine.js';
import { resolveScheme } from '../../src/schemes/resolve.js';
import { randomNormal } from '../../src/synthetic.js';

afterAll(async () => {
  await releaseWorkers();
});

const onnx = formatOf({ profile: 'onnx', dtype: 'int8' });
/** onnx's parameters, with every code negated: no built-in rule gives these codes. */
const negated: QuantFormat = {
  ...onnx,
  name: 'onnx_negated',
  summary: 'a test format: onnx codes negated',
  cpu: {
    params: onnx.cpu.params,
    quantizer(layout, scheme, params) {
      const inner = onnx.cpu.quantizer(layout, scheme, params);
      return (x, start) => inner(x, start).map((c) => -c);
    },
  },
};
delete (negated as { selects?: unknown }).selects;
registerFormat(negated);

const shape = [64, 300];
const x = randomNormal(64 * 300, 21);

describe('fast CPU engine falls back to the reference', () => {
  it.each([
    ['a registered format', { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'onnx', format: 'onnx_negated' }],
    ['the mse calibrator (a refining pass)', { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch', calibration: 'mse' }],
  ] as [string, QuantScheme][])('%s', async (_what, scheme) => {
    const { scheme: resolved, layout } = resolveScheme(shape, scheme);
    expect(fastPlan(resolved, layout)).toBeUndefined();
    const ref = await quantize(x, shape, scheme, { backend: 'reference' });
    for (const workers of [1, 3]) {
      const fast = await quantize(x, shape, scheme, { backend: 'cpu', workers });
      expect(compareQuantized(fast, ref, { input: x }).equal).toBe(true);
      let codes = new Int8Array(0);
      await quantizeStream({ read: async (s, n) => x.slice(s, s + n) }, shape, scheme, {
        backend: 'cpu', workers, chunkElements: 4096,
        onChunk: ({ codes: c }) => {
          codes = Int8Array.from([...codes, ...(c as Int8Array)]);
        },
      });
      expect(Buffer.from(codes.buffer).equals(Buffer.from(ref.codes.buffer))).toBe(true);
    }
    if (scheme.format === 'onnx_negated') {
      const plain = await quantize(x, shape, { ...scheme, format: 'onnx' }, { backend: 'cpu' });
      expect(Array.from(ref.codes.slice(0, 50))).toEqual(Array.from(plain.codes.slice(0, 50), (c) => -c || 0));
    }
  });

  it('the built-in formats it knows get a plan', () => {
    for (const scheme of [
      { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 7, profile: 'onnx' },
      { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
    ] as QuantScheme[]) {
      const { scheme: resolved, layout } = resolveScheme([4, 64], scheme);
      expect(fastPlan(resolved, layout)).toBeDefined();
    }
  });
});
