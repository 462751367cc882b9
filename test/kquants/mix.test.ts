// llama-quantize's file types: the per-tensor choice (llama.cpp's llama_tensor_get_type rules for
// Llama names) and the file written from stories260K, whose rows of 64 and 172 all fall back.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseTypes } from '../../src/formats/llama-mix.js';
import { type ByteSink, bytesSource } from '../../src/formats/io.js';
import { readGguf } from '../../src/formats/gguf.js';
import { openModel } from '../../src/formats/model.js';
import { quantizeModel } from '../../src/model/quantize-model.js';

const layers = 8;
const names = ['token_embd.weight', 'output.weight', ...Array.from({ length: layers }, (_, i) => [`blk.${i}.attn_v.weight`, `blk.${i}.ffn_down.weight`, `blk.${i}.attn_q.weight`]).flat()];

describe('llama-quantize file types', () => {
  it('Q4_K_M: output Q6_K; attn_v and ffn_down Q6_K on layers 0, 3, 6, 7 of 8 (use_more_bits), others Q4_K', () => {
    const types = chooseTypes('Q4_K_M', names.map((name) => ({ name, rowLength: 256, quantizable: true })), 1).map((c) => c.type);
    // use_more_bits(i, 8): i < 1 || i >= 7 || (i − 1) % 3 == 2 → 0, 3, 6, 7.
    const more = new Set([0, 3, 6, 7]);
    const expected = ['Q4_K', 'Q6_K', ...Array.from({ length: layers }, (_, i) => [more.has(i) ? 'Q6_K' : 'Q4_K', more.has(i) ? 'Q6_K' : 'Q4_K', 'Q4_K']).flat()];
    expect(types).toEqual(expected);
  });

  it('Q3_K_M and Q4_K_S bump the first attn_v layers; rows not whole super-blocks fall back as llama.cpp does', () => {
    const t = (kind: Parameters<typeof chooseTypes>[0], rowLength: number) =>
      chooseTypes(kind, names.map((name) => ({ name, rowLength, quantizable: true })), 1);
    expect(t('Q3_K_M', 256).filter((_, i) => names[i]?.includes('attn_v')).map((c) => c.type)).toEqual(['Q5_K', 'Q5_K', 'Q4_K', 'Q4_K', 'Q4_K', 'Q4_K', 'Q4_K', 'Q4_K']);
    expect(t('Q4_K_S', 256).filter((_, i) => names[i]?.includes('attn_v')).map((c) => c.type)).toEqual(['Q5_K', 'Q5_K', 'Q5_K', 'Q5_K', 'Q4_K', 'Q4_K', 'Q4_K', 'Q4_K']);
    const q = t('Q4_K_M', 64);
    expect(q[2]).toEqual({ type: 'Q8_0', reason: expect.stringMatching(/Q6_K's block of 256: Q8_0/) });
    expect(q[4]?.type).toBe('Q5_0');
    expect(t('Q5_K_S', 64)[4]?.type).toBe('Q5_1');
    expect(t('Q2_K', 64)[4]?.type).toBe('Q4_0');
    expect(t('Q4_K_M', 100)[4]?.type).toBe('F16');
  });

  it('stories260K as Q4_K_M: every tensor falls back (rows of 64 and 172), file_type 15, and the report says why', async () => {
    const input = await readFile(join(import.meta.dirname, '..', '..', 'models', 'stories260K.gguf'));
    const model = await openModel(bytesSource(new Uint8Array(input), 'stories260K.gguf'));
    const chunks: Uint8Array[] = [];
    const sink: ByteSink = { write: async (b) => { chunks.push(b.slice()); } };
    const report = await quantizeModel(model, sink, {
      scheme: { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }, backend: 'reference', ggufType: 'Q4_K_M',
    });
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    const file = await readGguf(bytesSource(out, 'out.gguf'));
    expect(file.metadata.get('general.file_type')?.value).toBe(15);
    const quantized = report.tensors.filter((t) => t.action !== 'passthrough');
    expect(quantized.length).toBeGreaterThan(30);
    for (const t of quantized) {
      expect(['Q5_0', 'Q8_0', 'F16']).toContain(t.output);
      expect(t.reason).toMatch(/not a multiple of Q[46]_K's block of 256|^output\.weight: Q8_0/);
    }
    expect(report.tensors.find((t) => t.name === 'output.weight')?.output).toBe('Q8_0');
  });
});
