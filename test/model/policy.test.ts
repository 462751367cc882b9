import { describe, expect, it } from 'vitest';
import { embeddingOrHead, passThroughReason } from '../../src/model/policy.js';

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

describe('embeddingOrHead: what llm-compressor leaves in float by default', () => {
  it.each([
    ['model.embed_tokens.weight', 'embedding'], // Llama, Mistral, Qwen
    ['transformer.wte.weight', 'embedding'], // GPT-2
    ['transformer.wpe.weight', 'embedding'],
    ['bert.embeddings.word_embeddings.weight', 'embedding'],
    ['bert.embeddings.position_embeddings.weight', 'embedding'],
    ['tok_embeddings.weight', 'embedding'], // Meta's original Llama
    ['gpt_neox.embed_in.weight', 'embedding'],
    ['lm_head.weight', 'head'],
    ['model.lm_head.weight', 'head'],
    ['embed_out.weight', 'head'], // GPT-NeoX
    ['output.weight', 'head'], // Meta's original Llama
    ['model.layers.0.self_attn.q_proj.weight', undefined],
    ['model.layers.0.mlp.down_proj.weight', undefined],
    ['bert.encoder.layer.0.attention.output.dense.weight', undefined],
    ['layers.0.output.weight', undefined],
  ] as const)('%s → %s', (name, kind) => {
    expect(embeddingOrHead(name)).toBe(kind);
  });
});
