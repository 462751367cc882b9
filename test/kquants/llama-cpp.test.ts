// The K-quant reference against llama.cpp's own quantize_row_qN_K_ref and dequantize_row_qN_K
// (node-llama-cpp's prebuilt libggml-base.so, through koffi): byte for byte and bit for bit.
import { describe, expect, it } from 'vitest';
import { dequantizeQ5, Q5_BLOCK_BYTES, quantizeQ5 } from '../../src/cpu/q5.js';
import { dequantizeK, KQUANTS, type KQuantType, quantizeK } from '../../src/cpu/kquants.js';
import { LLAMA_CPP_UNAVAILABLE, llamaCpp } from '../gpu/llama-cpp.js';
import { adversarialBlocks, realWeights } from './fixtures.js';

const TYPES = Object.keys(KQUANTS) as KQuantType[];
/** ggml's spelling in function names: Q4_K → q4_K. */
const ggmlName = (type: KQuantType): string => `q${type.slice(1)}`;

/** The first differing super-block, for a readable failure. */
function firstDiff(a: Uint8Array, b: Uint8Array, blockBytes: number): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `byte ${i} (super-block ${Math.floor(i / blockBytes)}, offset ${i % blockBytes}): ${a[i]} vs ${b[i]}`;
  }
  return undefined;
}

function sameBits(a: Float32Array, b: Float32Array): string | undefined {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return `element ${i}: ${a[i]} vs ${b[i]}`;
  return undefined;
}

describe.skipIf(LLAMA_CPP_UNAVAILABLE !== undefined)('K-quants equal llama.cpp', () => {
  const inputs = (async () => [
    ...(await realWeights('stories260K.gguf')),
    ...(await realWeights('mnist.safetensors')),
    ...(await realWeights('silero_vad_16k.safetensors')),
    ...adversarialBlocks().map((b) => ({ name: `adversarial: ${b.name}`, values: b.values })),
  ])();

  for (const type of TYPES) {
    it(`${type}: quantize_row_${ggmlName(type)}_ref and dequantize_row_${ggmlName(type)}, real weights and adversarial blocks`, async () => {
      const lib = await llamaCpp();
      const { blockBytes } = KQUANTS[type];
      let blocks = 0;
      for (const { name, values } of await inputs) {
        const ours = quantizeK(type, values);
        const theirs = lib.quantizeBlocks(ggmlName(type), 256, blockBytes, values);
        const diff = firstDiff(ours, theirs, blockBytes);
        expect(diff, `${type} ${name}`).toBeUndefined();
        const back = sameBits(dequantizeK(type, ours), lib.dequantizeBlocks(ggmlName(type), 256, blockBytes, theirs));
        expect(back, `${type} ${name} dequantized`).toBeUndefined();
        blocks += values.length / 256;
      }
      expect(blocks).toBeGreaterThan(1000);
    }, 120_000);
  }
});

describe.skipIf(LLAMA_CPP_UNAVAILABLE !== undefined)('Q5_0 and Q5_1 (llama.cpp\'s fallbacks for Q4_K and Q5_K) equal llama.cpp', () => {
  for (const type of ['Q5_0', 'Q5_1'] as const) {
    it(`${type}: quantize_row_${type.toLowerCase()}_ref and dequantize_row_${type.toLowerCase()}`, async () => {
      const lib = await llamaCpp();
      const inputs = [...(await realWeights('stories260K.gguf')), ...(await realWeights('mnist.safetensors')), ...adversarialBlocks()];
      for (const { name, values } of inputs) {
        const ours = quantizeQ5(type, values);
        const theirs = lib.quantizeBlocks(type.toLowerCase(), 32, Q5_BLOCK_BYTES[type], values);
        expect(firstDiff(ours, theirs, Q5_BLOCK_BYTES[type]), `${type} ${name}`).toBeUndefined();
        const back = lib.dequantizeBlocks(type.toLowerCase(), 32, Q5_BLOCK_BYTES[type], theirs);
        expect(sameBits(dequantizeQ5(type, ours), back), `${type} ${name} dequantized`).toBeUndefined();
      }
    }, 120_000);
  }
});
