// Input the K-quant types cannot take as it is, through the built command line on the CPU and
// WebGPU backends and through the library: a GGUF already in K-quants (kept where its type is the
// one chosen, as llama-quantize keeps it, else refused naming the tensor, with no output left
// behind), rows of 100 under a K-quant type (llama.cpp's fallback, F16 where even blocks of 32 do
// not fit, as README says), and a 1-D tensor named *weight (kept in F32). Also: --type on WebGPU
// writes the same bytes as on the CPU.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizeK } from '../../src/cpu/kquants.js';
import { FormatError } from '../../src/errors.js';
import { type GgufFile, type GgufValue, readGguf } from '../../src/formats/gguf.js';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { openModel } from '../../src/formats/model.js';
import { blockFormatOf, quantize, QuantizationError, releaseDevice } from '../../src/index.js';
import { quantizeModel } from '../../src/model/quantize-model.js';
import { rng } from './fixtures.js';
import { f32Gguf, type F32Tensor } from './llama-model.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const BACKENDS = ['cpu', 'webgpu'] as const;
const Q8 = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' } as const;

let dir: string;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await releaseDevice();
});

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });
}

const metadata = new Map<string, GgufValue>([['general.architecture', { type: 8, value: 'llama' }]]);
const r = rng(100);
const seeded = (name: string, shape: number[]): F32Tensor => ({
  name, shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * 0.2),
});

/** Llama names with rows of 256 (Q4_K and Q6_K under Q4_K_M; Q3_K, Q5_K under Q3_K_M; Q2_K under Q2_K), rows of 96 (a fallback) and a norm. */
const LLAMA = [
  seeded('token_embd.weight', [8, 256]), seeded('output.weight', [8, 256]), seeded('blk.0.attn_norm.weight', [256]),
  seeded('blk.0.attn_q.weight', [8, 256]), seeded('blk.0.attn_v.weight', [4, 256]), seeded('blk.0.attn_output.weight', [8, 256]),
  seeded('blk.0.ffn_down.weight', [8, 256]), seeded('blk.0.ffn_up.weight', [4, 96]),
];
const ROWS_100 = [seeded('blk.0.attn_q.weight', [8, 100]), seeded('blk.0.ffn_down.weight', [4, 256])];
// Rows of 64 fall back to Q5_0 under Q4_K_M, so the WebGPU run compiles no K-quant kernel for this one.
const ONE_D = [seeded('blk.0.attn_q.weight', [4, 64]), seeded('blk.0.scale_weight', [256])];

const file = (name: string) => join(dir, name);
const gguf = (path: string): Promise<GgufFile> => readGguf(bytesSource(new Uint8Array(readFileSync(path)), path));
const tensorBytes = async (f: GgufFile, name: string): Promise<Uint8Array> => {
  const t = f.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return f.source.read(t.offset, t.byteLength);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wq-kquant-input-'));
  const llama = await f32Gguf(metadata, LLAMA);
  writeFileSync(file('llama.gguf'), llama);
  writeFileSync(file('rows100.gguf'), await f32Gguf(metadata, ROWS_100));
  writeFileSync(file('oned.gguf'), await f32Gguf(metadata, ONE_D));
  // A K-quant file made by our own writer, as the input a user might hand back to quantize.
  const sink = memorySink();
  await quantizeModel(await openModel(bytesSource(llama, 'llama.gguf')), sink, { scheme: Q8, backend: 'reference', ggufType: 'Q4_K_M' });
  writeFileSync(file('q4km.gguf'), sink.bytes());
});

describe('a GGUF already in K-quants as input', () => {
  it('holds Q4_K and Q6_K tensors (the fixture is what the tests below need)', async () => {
    const types = new Set((await gguf(file('q4km.gguf'))).tensors.map((t) => t.typeName));
    expect(types).toEqual(new Set(['Q4_K', 'Q6_K', 'Q5_0', 'F32']));
  });

  it.each(BACKENDS)('--backend %s: requantizing to another type exits 1 naming the file, the tensor and both types, and leaves no file', (backend) => {
    const before = readdirSync(dir).sort();
    for (const [args, target] of [[['--type', 'Q8_0'], 'Q8_0'], [['--type', 'Q5_K_M'], 'Q5_K'], [[], 'Q8_0']] as const) {
      const res = run('quantize', file('q4km.gguf'), '-o', file(`requantized-${backend}.gguf`), '--backend', backend, ...args);
      expect([args, res.status]).toEqual([args, 1]);
      expect(res.stderr).toMatch(new RegExp(`(^|\\n)webgpu-quantizer: .*q4km\\.gguf: tensor 'token_embd\\.weight': is Q4_K already; requantizing it to ${target} `));
      expect(readdirSync(dir).sort()).toEqual(before);
    }
  });

  it.each(BACKENDS)('--backend %s: the same file type keeps every tensor as it is (llama-quantize copies a tensor already of its type)', async (backend) => {
    const out = file(`same-${backend}.gguf`);
    const res = run('quantize', file('q4km.gguf'), '-o', out, '--backend', backend, '--type', 'Q4_K_M', '--force');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/token_embd\.weight .*passthrough \(already Q4_K, the type chosen for it: kept as it is\)/);
    expect(Buffer.from(readFileSync(out)).equals(readFileSync(file('q4km.gguf')))).toBe(true);
  });

  it('through the library: a FormatError naming the tensor, before anything is written; --exclude keeps it', async () => {
    const model = await openModel(bytesSource(new Uint8Array(readFileSync(file('q4km.gguf'))), 'q4km.gguf'));
    const sink = memorySink();
    const err = await quantizeModel(model, sink, { scheme: Q8, backend: 'reference' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err).toMatchObject({ file: 'q4km.gguf', tensor: 'token_embd.weight' });
    expect(sink.bytes().length).toBe(0);
    const report = await quantizeModel(model, memorySink(), { scheme: Q8, backend: 'reference', exclude: ['*'] });
    expect(report.tensors.every((t) => t.action === 'passthrough' && t.reason === 'excluded by --exclude')).toBe(true);
  });
});

describe('rows that are not whole super-blocks, and a 1-D weight', () => {
  it.each(BACKENDS)('--backend %s: rows of 100 under Q4_K_M and Q6_K fall back to F16 (not even blocks of 32 fit); rows of 256 are the reference\'s Q6_K', async (backend) => {
    for (const type of ['Q4_K_M', 'Q6_K']) {
      const out = file(`rows100-${type}-${backend}.gguf`);
      const res = run('quantize', file('rows100.gguf'), '-o', out, '--backend', backend, '--type', type, '--force');
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(/blk\.0\.attn_q\.weight +\[8, 100\] +f16-fallback \(rows of 100 are not a multiple of Q[46]_K's block of 256: F16, llama\.cpp's fallback\)/);
      const f = await gguf(out);
      expect(f.tensors.map((t) => t.typeName)).toEqual(['F16', 'Q6_K']);
      // F16 keeps each value to float16's precision (11 significant bits).
      const half = new Uint16Array((await tensorBytes(f, 'blk.0.attn_q.weight')).slice().buffer);
      const x = (ROWS_100[0] as F32Tensor).values;
      half.forEach((h, i) => {
        const e = (h >> 10) & 0x1f;
        const v = (h & 0x8000 ? -1 : 1) * (e === 0 ? (h & 0x3ff) * 2 ** -24 : (1 + (h & 0x3ff) / 1024) * 2 ** (e - 15));
        expect(Math.abs(v - (x[i] as number))).toBeLessThanOrEqual(Math.max(Math.abs(x[i] as number) * 2 ** -11, 2 ** -25));
      });
      const q6 = await tensorBytes(f, 'blk.0.ffn_down.weight');
      expect(Buffer.from(q6).equals(Buffer.from(quantizeK('Q6_K', (ROWS_100[1] as F32Tensor).values)))).toBe(true);
    }
  }, 300_000);

  it.each(BACKENDS)('--backend %s: a 1-D tensor named *weight stays F32, byte for byte', async (backend) => {
    const out = file(`oned-${backend}.gguf`);
    const res = run('quantize', file('oned.gguf'), '-o', out, '--backend', backend, '--type', 'Q4_K_M', '--force');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/blk\.0\.scale_weight +\[256\] +passthrough \(rank 1/);
    const f = await gguf(out);
    expect(f.tensors.map((t) => t.typeName)).toEqual(['Q5_0', 'F32']);
    const v = (ONE_D[1] as F32Tensor).values;
    expect(Buffer.from(await tensorBytes(f, 'blk.0.scale_weight')).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength))).toBe(true);
  });

  it.each(['reference', 'cpu', 'webgpu'] as const)('the library, backend %s: a K-quant scheme on rows of 100 is a QuantizationError naming the shape', async (backend) => {
    for (const format of ['q4_k', 'q6_k']) {
      const scheme = blockFormatOf({ format, profile: 'ggml', dtype: 'int8' })?.blocks.scheme;
      if (!scheme) throw new Error(`no block format ${format}`);
      const err = await quantize(new Float32Array(800), [8, 100], scheme, { backend }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuantizationError);
      expect(err).toMatchObject({ field: 'shape', message: expect.stringMatching(/rows of whole super-blocks of 256; the last axis has length 100/) });
    }
  });
});

describe('--type on WebGPU through the command line', () => {
  it.each([
    ['Q3_K_M', ['Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q4_0', 'F32']],
    ['Q2_K', ['Q2_K', 'Q3_K', 'Q6_K', 'Q4_0', 'F32']],
  ] as const)('%s writes the same bytes as --backend cpu (between them, every K-quant kernel)', async (type, types) => {
    const outs = BACKENDS.map((backend) => {
      const out = file(`${type}-${backend}.gguf`);
      const res = run('quantize', file('llama.gguf'), '-o', out, '--backend', backend, '--type', type, '--force');
      expect([backend, res.status]).toEqual([backend, 0]);
      expect(res.stdout).toMatch(new RegExp(`backend ${backend}`));
      return readFileSync(out);
    });
    expect(new Set((await gguf(file(`${type}-webgpu.gguf`))).tensors.map((t) => t.typeName))).toEqual(new Set(types));
    expect(outs[1]?.equals(outs[0] as Buffer)).toBe(true);
  }, 600_000);
});
