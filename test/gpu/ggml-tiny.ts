// Adversarial ggml blocks — magnitudes so small that 1/d overflows, signed zeros, subnormals, and
// values at the edge of float16 — quantized by the CPU reference and by every WebGPU path the ggml
// profile reaches. Written once and run twice: in Node through Dawn (test/gpu/ggml-tiny.test.ts)
// and inside headless Chromium (test/browser/ggml-tiny-in-browser.test.ts), both of which compare
// the bytes against llama.cpp's own quantizers.
import { quantize, quantizeStream, quantizeWithParams } from '../../src/index.js';
import type { QuantDType, QuantizedTensor, QuantScheme } from '../../src/index.js';
import { encodeQ4_0, encodeQ8_0 } from '../../src/formats/ggml-blocks.js';

export interface TinyBlock {
  name: string;
  /** 32 float32 bit patterns (bits, so that signed zeros and subnormals survive any transport). */
  bits: number[];
}

const QK = 32;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => ((f32[0] = x), u32[0] as number);
const fromBits = (b: number): number => ((u32[0] = b), f32[0] as number);
const NEG_ZERO = 0x80000000;

/** A deterministic stream of numbers in [0, 1) (a 32-bit LCG; no dependence on src/). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Values log-uniform in ±[lo, hi], each with a random sign, as float32 bits. */
function logUniform(seed: number, lo: number, hi: number): number[] {
  const rand = lcg(seed);
  return Array.from({ length: QK }, () => {
    const v = Math.fround(lo * (hi / lo) ** rand());
    return bitsOf(rand() < 0.5 ? -v : v);
  });
}

function block(values: number[]): number[] {
  const out = new Array<number>(QK).fill(0);
  values.forEach((v, i) => (out[i] = bitsOf(v)));
  return out;
}

/**
 * Q8_0's float16 d overflows when amax/127 rounds to 65520 or more (amax ≥ 8 321 040); Q4_0's when
 * |max|/8 does (|max| ≥ 524 160). Both are listed with their float32 neighbours on either side.
 */
const Q8_EDGE = 65520 * 127;
const Q4_EDGE = 65520 * 8;

/** The adversarial blocks, every one of 32 elements. */
export function tinyBlocks(): TinyBlock[] {
  const blocks: TinyBlock[] = [
    { name: 'all in ±[1e-45, 1e-36]', bits: logUniform(1, 1e-45, 1e-36) },
    { name: 'all in ±[1e-45, 1e-38] (subnormal)', bits: logUniform(2, 1e-45, 1e-38) },
    { name: 'all in ±[1e-40, 1e-37]', bits: logUniform(3, 1e-40, 1e-37) },
    {
      name: 'tiny mixed with +0 and -0',
      bits: logUniform(4, 1e-45, 1e-36).map((b, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? NEG_ZERO : b)),
    },
    { name: 'one positive subnormal among zeros', bits: block([0, 0, 0, 0, 0, 3e-42]) },
    { name: 'one negative subnormal among zeros', bits: block([0, 0, 0, 0, 0, 0, 0, -3e-42]) },
    { name: 'the smallest subnormal among -0', bits: new Array<number>(QK).fill(NEG_ZERO).map((b, i) => (i === 9 ? 1 : b)) },
    { name: 'five times the smallest subnormal, negative', bits: block([0, -7e-45]) },
    { name: 'all -0', bits: new Array<number>(QK).fill(NEG_ZERO) },
    { name: 'peak 2^-125, the last Q4_0 peak whose 1/d overflows', bits: block([2 ** -125, -(2 ** -127), 2 ** -140, 1e-45]) },
    { name: 'peak -2^-124: Q4_0 d subnormal, 1/d finite', bits: block([1e-39, -(2 ** -124), 2 ** -125, 3 * 2 ** -126]) },
    { name: 'peak 3.7e-37, about where Q8_0\'s 1/d overflows', bits: block([3.7e-37, -2e-37, 1e-37, 5e-38]) },
    { name: 'peak 4e-37: Q8_0 1/d finite, subnormal elements', bits: block([4e-37, 1e-38, -5e-39, 1e-45, 2e-38]) },
    { name: 'peak 1e-36 with tiny elements', bits: block([1e-36, -2e-37, 4e-38, -1.2e-38, 1e-40]) },
  ];
  // Peaks of random significands with exponent fields 1 to 4, where Q4_0's d = max/-8 is a
  // rounded subnormal and 1/d may or may not overflow, over elements down to the subnormals.
  const rand = lcg(5);
  for (let i = 0; i < 24; i++) {
    const peak = (((1 + (i % 4)) << 23) | Math.floor(rand() * 0x800000)) >>> 0;
    const bits = Array.from({ length: QK }, () => bitsOf((rand() < 0.5 ? -1 : 1) * fromBits(peak) * rand() ** 8));
    bits[Math.floor(rand() * QK)] = (peak | (rand() < 0.5 ? NEG_ZERO : 0)) >>> 0;
    blocks.push({ name: `random peak ${i}, exponent field ${1 + (i % 4)}`, bits });
  }
  for (const [label, edge] of [['Q8_0', Q8_EDGE], ['Q4_0', Q4_EDGE]] as const) {
    const below = Math.fround(edge - 1); // a float32 just below: d rounds to 65504
    const at = Math.fround(edge);
    const above = Math.fround(edge * (1 + 2 ** -20));
    for (const [where, v] of [['just below', below], ['at', at], ['just above', above]] as const) {
      blocks.push({ name: `${label} float16 edge, ${where}, positive`, bits: block([1, v, -0.5, 3, -v / 2]) });
      blocks.push({ name: `${label} float16 edge, ${where}, negative`, bits: block([-v, 1000, -2, v / 3]) });
    }
  }
  return blocks;
}

/** The blocks as one [blocks, 32] tensor. */
export function tinyTensor(blocks: TinyBlock[]): Float32Array {
  return new Float32Array(Uint32Array.from(blocks.flatMap((b) => b.bits)).buffer);
}

export const GGML_SCHEMES: Record<'Q8_0' | 'Q4_0', QuantScheme> = {
  Q8_0: { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: QK, profile: 'ggml' },
  Q4_0: { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: QK, profile: 'ggml' },
};

function encode(type: 'Q8_0' | 'Q4_0', q: QuantizedTensor): Uint8Array {
  return type === 'Q8_0' ? encodeQ8_0(q) : encodeQ4_0(q);
}

const hex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');

/** Each block's bytes (float16 d, then the codes) as hex, one string per block. */
export function blockHex(bytes: Uint8Array, type: 'Q8_0' | 'Q4_0'): string[] {
  const size = type === 'Q8_0' ? 34 : 18;
  return Array.from({ length: bytes.length / size }, (_, b) => hex(bytes.subarray(b * size, (b + 1) * size)));
}

/**
 * The file bytes of the blocks, per path: the CPU reference, WebGPU's one-pass blocks, WebGPU's
 * general passes (reached by a streamed tensor), each as hex per block.
 */
export async function ggmlBlockBytes(blocks: TinyBlock[], type: 'Q8_0' | 'Q4_0'): Promise<Record<string, string[]>> {
  const x = tinyTensor(blocks);
  const shape = [blocks.length, QK];
  const scheme = GGML_SCHEMES[type];
  const cpu = await quantize(x, shape, scheme, { backend: 'cpu' });
  const fused = await quantize(x, shape, scheme, { backend: 'webgpu' });
  const codes = new Int8Array(x.length); // ggml codes are signed at either width
  const streamed = await quantizeStream({ read: async (start, length) => x.slice(start, start + length) }, shape, scheme, {
    backend: 'webgpu', chunkElements: 4 * QK, alignElements: QK,
    onChunk: ({ start, codes: c }) => codes.set(c, start),
  });
  return {
    cpu: blockHex(encode(type, cpu), type),
    'webgpu one-pass blocks': blockHex(encode(type, fused), type),
    'webgpu general passes (streamed)': blockHex(encode(type, { ...streamed, codes, packed: new Uint32Array(0) }), type),
  };
}

/**
 * Codes from caller-supplied ggml scales, where 1/d is infinite, zero or finite: the CPU's and
 * WebGPU's codes as arrays, one per block.
 */
export async function givenScaleCodes(dtype: QuantDType): Promise<{ scales: number[]; cpu: number[][]; webgpu: number[][] }> {
  const blocks = tinyBlocks();
  const x = tinyTensor(blocks);
  const shape = [blocks.length, QK];
  // Scales whose reciprocals overflow (±2^-130, the smallest subnormal), are zero, are finite but
  // large enough for a subnormal x to reach a code (2^-126, the subnormal -2^-127), or ordinary.
  const choices = [2 ** -130, -(2 ** -130), 1e-45, 0, -0, 2 ** -126, -(2 ** -127), 2 ** -100, -1e-30, 65504];
  const scales = blocks.map((_, i) => choices[i % choices.length] as number);
  const params = { dtype, scales, profile: 'ggml' as const, axis: 1, blockSize: QK };
  const cpu = await quantizeWithParams(x, shape, params, { backend: 'cpu' });
  const webgpu = await quantizeWithParams(x, shape, params, { backend: 'webgpu' });
  const perBlock = (codes: Int8Array | Uint8Array) => blocks.map((_, b) => Array.from(codes.subarray(b * QK, (b + 1) * QK)));
  return { scales, cpu: perBlock(cpu.codes), webgpu: perBlock(webgpu.codes) };
}
