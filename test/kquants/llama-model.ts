// GGUF files for llama.cpp to run: F32 files written from values (a seeded Llama whose dimensions are
// whole super-blocks, or the weights llama.cpp decodes from one of our quantized files), and
// llama.cpp itself through node-llama-cpp's prebuilt linux-x64 binaries, never a build or a download.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { f16BitsToF32 } from '../../src/cpu/float.js';
import { GGML_TYPE, type GgufFile, type GgufValue, ggmlTypeInfo, planGgufOutput, readGguf, writeGguf } from '../../src/formats/gguf.js';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { llamaCpp } from '../gpu/llama-cpp.js';
import { rng } from './fixtures.js';

export const STORIES = join(import.meta.dirname, '..', '..', 'models', 'stories260K.gguf');

/** A tensor to write as F32: row-major shape, outermost first. */
export interface F32Tensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** An F32 GGUF v3 (`general.file_type` 0) with `metadata` in order and `tensors` in order, in memory. */
export async function f32Gguf(metadata: Map<string, GgufValue>, tensors: readonly F32Tensor[], alignment = 32): Promise<Uint8Array> {
  const file: GgufFile = {
    format: 'gguf', version: 3, source: bytesSource(new Uint8Array(0), 'generated'), metadata, alignment, dataOffset: 0,
    tensors: tensors.map((t) => ({
      name: t.name, shape: t.shape, ggmlType: GGML_TYPE.F32, typeName: 'F32', offset: 0, byteLength: t.values.byteLength, quantizable: true,
    })),
  };
  const layout = planGgufOutput(file, tensors.map(() => 'keep'), 0);
  const sink = memorySink();
  await writeGguf(sink, layout, (i) => {
    const v = (tensors[i] as F32Tensor).values;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  });
  return sink.bytes();
}

/**
 * The tensors of a GGUF file as llama.cpp decodes them: each block type through its own
 * `dequantize_row_*` (libggml-base.so), F16 widened exactly, F32 as stored.
 */
export async function llamaDequantized(bytes: Uint8Array): Promise<{ file: GgufFile; tensors: F32Tensor[] }> {
  const lib = await llamaCpp();
  const file = await readGguf(bytesSource(bytes, 'quantized.gguf'));
  const tensors: F32Tensor[] = [];
  for (const t of file.tensors) {
    const data = await file.source.read(t.offset, t.byteLength);
    let values: Float32Array;
    if (t.ggmlType === GGML_TYPE.F32) values = new Float32Array(data.slice().buffer);
    else if (t.ggmlType === GGML_TYPE.F16) {
      values = Float32Array.from(new Uint16Array(data.slice().buffer), (h) => f16BitsToF32(h));
    } else {
      const info = ggmlTypeInfo(t.ggmlType);
      if (!info) throw new Error(`${t.name}: ggml type ${t.ggmlType} has no layout`);
      // ggml spells its functions q4_0, q5_1, q4_K: lower case but for the K.
      const fn = info.name.toLowerCase().replace(/_k$/, '_K');
      values = lib.dequantizeBlocks(fn, info.blockSize, info.typeSize, data);
    }
    tensors.push({ name: t.name, shape: t.shape, values });
  }
  return { file, tensors };
}

/** The same model as F32, its weights what llama.cpp decodes from `bytes`, its metadata copied. */
export async function dequantizedGguf(bytes: Uint8Array): Promise<Uint8Array> {
  const { file, tensors } = await llamaDequantized(bytes);
  return f32Gguf(file.metadata, tensors, file.alignment);
}

const u32 = (value: number): GgufValue => ({ type: 4, value });

/**
 * A Llama model whose every matrix has rows that are whole super-blocks of 256: n_embd 256,
 * 4 heads of 64 with 2 KV heads, n_ff 768, `layers` blocks, and stories260K's tokenizer (vocabulary
 * 512) and metadata, with seeded Gaussian weights. Matrices are scaled by 1/√fan_in, so each keeps
 * the activations' size, and the output by 4/√256, so logits spread over several units and the
 * greedy choice is not a near tie.
 */
export async function seededLlama(seed: number, layers = 2): Promise<Uint8Array> {
  const stories = await readGguf(bytesSource(new Uint8Array(await readFile(STORIES)), 'stories260K.gguf'));
  const embd = 256;
  const ff = 768;
  const heads = 4;
  const kvHeads = 2;
  const headDim = embd / heads;
  const vocab = 512;
  const metadata = new Map(stories.metadata);
  for (const [key, value] of [
    ['llama.embedding_length', embd], ['llama.feed_forward_length', ff], ['llama.attention.head_count', heads],
    ['llama.attention.head_count_kv', kvHeads], ['llama.block_count', layers], ['llama.rope.dimension_count', headDim],
    ['llama.context_length', 256],
  ] as const) metadata.set(key, u32(value));
  metadata.set('general.name', { type: 8, value: 'seeded llama 256' });
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const matrix = (name: string, rows: number, cols: number, gain = 1): F32Tensor => ({
    name, shape: [rows, cols], values: Float32Array.from({ length: rows * cols }, () => (gain * gauss()) / Math.sqrt(cols)),
  });
  const norm = (name: string): F32Tensor => ({ name, shape: [embd], values: Float32Array.from({ length: embd }, () => 1 + 0.1 * gauss()) });
  const tensors: F32Tensor[] = [
    { name: 'token_embd.weight', shape: [vocab, embd], values: Float32Array.from({ length: vocab * embd }, gauss) },
    norm('output_norm.weight'),
    matrix('output.weight', vocab, embd, 4),
  ];
  for (let i = 0; i < layers; i++) {
    tensors.push(
      matrix(`blk.${i}.attn_q.weight`, embd, embd), matrix(`blk.${i}.attn_k.weight`, kvHeads * headDim, embd),
      matrix(`blk.${i}.attn_v.weight`, kvHeads * headDim, embd), matrix(`blk.${i}.attn_output.weight`, embd, embd),
      norm(`blk.${i}.attn_norm.weight`), matrix(`blk.${i}.ffn_gate.weight`, ff, embd), matrix(`blk.${i}.ffn_down.weight`, embd, ff),
      matrix(`blk.${i}.ffn_up.weight`, ff, embd), norm(`blk.${i}.ffn_norm.weight`),
    );
  }
  return f32Gguf(metadata, tensors, stories.alignment);
}
