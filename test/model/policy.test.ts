import { describe, expect, it } from 'vitest';
import { passThroughReason } from '../../src/model/policy.js';

const weight = { name: 'model.layers.0.mlp.down_proj.weight', shape: [64, 172], quantizable: true };

describe('which tensors are quantized', () => {
  it('by default, float weights of rank ≥ 2', () => {
    expect(passThroughReason(weight, {})).toBeUndefined();
    expect(passThroughReason({ ...weight, shape: [4, 3, 3] }, {})).toBeUndefined();
  });

  it('biases, norms and scalars pass through, and so does anything not float', () => {
    expect(passThroughReason({ ...weight, name: 'norm.weight', shape: [64] }, {})).toMatch(/rank 1/);
    expect(passThroughReason({ ...weight, shape: [] }, {})).toMatch(/rank 0/);
    expect(passThroughReason({ ...weight, quantizable: false }, {})).toBe('not a float tensor');
  });

  it('--exclude wins over everything; --include selects, even 1-D tensors', () => {
    expect(passThroughReason(weight, { exclude: ['*.mlp.*'] })).toBe('excluded by --exclude');
    expect(passThroughReason(weight, { include: ['*.attn.*'] })).toBe('not matched by --include');
    expect(passThroughReason({ ...weight, name: 'lm_head.bias', shape: [10] }, { include: ['lm_head.*'] })).toBeUndefined();
    expect(passThroughReason(weight, { include: ['model.layers.*.mlp.*'], exclude: ['*down_proj*'] })).toBe('excluded by --exclude');
  });
});
