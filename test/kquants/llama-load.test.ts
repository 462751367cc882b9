// A real consumer: llama.cpp (node-llama-cpp 3.21.1's prebuilt linux-x64 binaries, llama.cpp release
// v0.4.0 as that package names it) loads every file type we write and runs it. Each file is compared
// with llama.cpp on an F32 file of the same model whose weights are llama.cpp's own decoding of ours
// (its dequantize_row_* from libggml-base.so): same model, same backend, so what differs is only how
// llama.cpp multiplies by quantized weights, never what the weights are.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../src/formats/gguf.js';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { LLAMA_FILE_TYPES, type LlamaFileTypeName } from '../../src/formats/llama-mix.js';
import { openModel } from '../../src/formats/model.js';
import { quantizeModel } from '../../src/model/quantize-model.js';
import { LLAMA_CPP_UNAVAILABLE } from '../gpu/llama-cpp.js';
import { dequantizedGguf, seededLlama, STORIES } from './llama-model.js';
import { disposeLlama, runLlama } from './llama-runner.js';

/** llama_model_ftype_name in llama.cpp's src/llama-model-loader.cpp: how llama.cpp names each file type it reads. */
const LLAMA_NAMES: Record<LlamaFileTypeName, string> = {
  Q4_0: 'Q4_0', Q8_0: 'Q8_0', Q2_K: 'Q2_K - Medium', Q3_K_M: 'Q3_K - Medium', Q4_K_S: 'Q4_K - Small',
  Q4_K_M: 'Q4_K - Medium', Q5_K_S: 'Q5_K - Small', Q5_K_M: 'Q5_K - Medium', Q6_K: 'Q6_K',
};

const PROMPT = 'Once upon a time there was a little girl named Lily. She loved to play with her toys';

/**
 * The bound on llama.cpp's logits on a quantized file against its logits on the F32 file of the
 * same weights, as an SQNR over every prompt position's logits (each less its mean, since
 * llama.cpp gives probabilities, whose logs are the logits up to a constant). The two runs differ
 * only in the activations: llama.cpp's CPU matmul with a quantized weight first rounds the
 * activations to int8 blocks (Q8_0 / Q8_1 blocks of 32 for Q4_0, Q5_x and Q8_0 weights; Q8_K
 * blocks of 256 for the K-quants), a step of amax/127. For Gaussian-like activations (amax ≈ 2–3σ
 * per block) that is an SQNR of 10·log10(12·127²/3²) ≈ 43 dB per matmul at worst; stories260K
 * chains 36 matmuls (5 layers of 7, and the output), whose independent errors add to at most
 * 43 − 10·log10(36) ≈ 27 dB before attention's softmax averages part of them away, and the seeded
 * model 15 (≈ 31 dB). Measured: 40–45 dB on stories260K, 35.5 dB on the seeded model. 30 dB lies
 * below both and above what a wrong weight costs: the F32 model against its Q4_K_M weights is
 * 16.6 dB (the seeded model) and 26 dB (stories260K), so weights that llama.cpp read differently
 * from what we decode would fail it.
 */
const MIN_LOGIT_SQNR_DB = 30;

/** SQNR in dB of `b` against `a`, over all positions, each position's logits less their mean. */
function logitSqnr(a: Float64Array[], b: Float64Array[]): number {
  expect(b.length).toBe(a.length);
  let signal = 0;
  let noise = 0;
  a.forEach((x, p) => {
    const y = b[p] as Float64Array;
    const mx = x.reduce((s, v) => s + v, 0) / x.length;
    const my = y.reduce((s, v) => s + v, 0) / y.length;
    x.forEach((v, i) => {
      signal += (v - mx) ** 2;
      noise += (v - mx - ((y[i] as number) - my)) ** 2;
    });
  });
  return 10 * Math.log10(signal / noise);
}

async function quantizeAs(input: Uint8Array, kind: LlamaFileTypeName): Promise<Uint8Array> {
  const sink = memorySink();
  await quantizeModel(await openModel(bytesSource(input, 'input.gguf')), sink, {
    scheme: { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }, backend: 'reference', ggufType: kind,
  });
  return sink.bytes();
}

describe.skipIf(LLAMA_CPP_UNAVAILABLE !== undefined)('llama.cpp loads and runs the files we write', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wq-llama-'));
  const save = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const stories = readFile(STORIES).then((b) => new Uint8Array(b));
  afterAll(async () => {
    await disposeLlama();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of Object.keys(LLAMA_FILE_TYPES) as LlamaFileTypeName[]) {
    it(`${kind}: stories260K loads as llama.cpp's "${LLAMA_NAMES[kind]}", generates text greedily, and its logits are those of the same weights in F32`, async () => {
      const bytes = await quantizeAs(await stories, kind);
      const ours = await runLlama(save(`${kind}.gguf`, bytes), PROMPT, 24, true);
      const f32 = await runLlama(save(`${kind}.f32.gguf`, await dequantizedGguf(bytes)), PROMPT, 24, true);
      expect(ours.description).toBe(`llama ?B ${LLAMA_NAMES[kind]}`);
      expect(ours.tokens).toHaveLength(24);
      expect(ours.text).toMatch(/\w+ \w+ \w+/);
      expect(logitSqnr(f32.logProbs, ours.logProbs)).toBeGreaterThan(MIN_LOGIT_SQNR_DB);
    }, 60_000);
  }

  it('Q8_0: the greedy tokens equal llama.cpp\'s on its own dequantization of our file', async () => {
    const bytes = await quantizeAs(await stories, 'Q8_0');
    // 32 tokens: two sentences. Later the two runs may part where two candidates' logits lie closer
    // than the activations' int8 rounding moves them (at the 38th token of this prompt, with this build).
    const ours = await runLlama(save('q8.gguf', bytes), 'Once upon a time', 32);
    const f32 = await runLlama(save('q8.f32.gguf', await dequantizedGguf(bytes)), 'Once upon a time', 32);
    expect(ours.tokens).toHaveLength(32);
    expect(ours.tokens).toEqual(f32.tokens);
  }, 60_000);

  it('a seeded Llama with rows of 256: Q4_K and Q6_K tensors as Q4_K_M lays them out, and llama.cpp\'s logits on them within the bound of the same weights in F32', async () => {
    const original = await seededLlama(1);
    const bytes = await quantizeAs(original, 'Q4_K_M');
    const types = new Map((await readGguf(bytesSource(bytes, 'q4_k_m.gguf'))).tensors.map((t) => [t.name, t.typeName]));
    // use_more_bits(i, 2) holds for layer 1 only: its attn_v and ffn_down get Q6_K, as output does.
    expect(Object.fromEntries(['output.weight', 'token_embd.weight', 'blk.0.attn_v.weight', 'blk.1.attn_v.weight', 'blk.0.ffn_down.weight',
      'blk.1.ffn_down.weight', 'blk.1.attn_q.weight', 'blk.1.ffn_norm.weight'].map((n) => [n, types.get(n)]))).toEqual({
      'output.weight': 'Q6_K', 'token_embd.weight': 'Q4_K', 'blk.0.attn_v.weight': 'Q4_K', 'blk.1.attn_v.weight': 'Q6_K',
      'blk.0.ffn_down.weight': 'Q4_K', 'blk.1.ffn_down.weight': 'Q6_K', 'blk.1.attn_q.weight': 'Q4_K', 'blk.1.ffn_norm.weight': 'F32',
    });
    const ours = await runLlama(save('seeded.q4_k_m.gguf', bytes), PROMPT, 8, true);
    const same = await runLlama(save('seeded.q4_k_m.f32.gguf', await dequantizedGguf(bytes)), PROMPT, 8, true);
    const unquantized = await runLlama(save('seeded.f32.gguf', original), PROMPT, 8, true);
    expect(ours.description).toBe('llama ?B Q4_K - Medium');
    expect(logitSqnr(same.logProbs, ours.logProbs)).toBeGreaterThan(MIN_LOGIT_SQNR_DB);
    // The bound is tight enough to see a weight error of quantization's size.
    expect(logitSqnr(same.logProbs, unquantized.logProbs)).toBeLessThan(MIN_LOGIT_SQNR_DB);
  }, 60_000);
});
