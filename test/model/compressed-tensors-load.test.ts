// compressed-tensors output as a loader sees it. A small Llama-like model (embedding, attention
// and MLP Linear weights, norms, lm_head) is made here in F32, F16 and BF16, quantized by
// quantizeModel and by the CLI, and each output is read back from its bytes alone, by the
// file-only decoder of compressed-tensors-decode.ts (compressed-tensors' own unpacking rules).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseDevice } from '../../src/index.js';
import type { QuantScheme } from '../../src/index.js';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { openModel } from '../../src/formats/model.js';
import { type OutputTensor, writeSafetensors } from '../../src/formats/safetensors.js';
import { type QuantizeModelOptions, quantizeModel } from '../../src/model/quantize-model.js';
import type { ModelReport } from '../../src/model/report.js';
import { randomNormal } from '../../src/synthetic.js';
import {
  type Config, decode, type Dtype, type Entry, f16Bits, parseSafetensors, toDtype, type WeightArgs,
} from './compressed-tensors-decode.js';

afterAll(async () => {
  await releaseDevice();
});

// ---- the fixture ----

/** Module classes of the fixture, as transformers builds LlamaForCausalLM. */
const CLASSES: Record<string, string> = {
  'model.embed_tokens': 'Embedding',
  'model.layers.0.self_attn.q_proj': 'Linear', 'model.layers.0.self_attn.k_proj': 'Linear',
  'model.layers.0.self_attn.v_proj': 'Linear', 'model.layers.0.self_attn.o_proj': 'Linear',
  'model.layers.0.mlp.gate_proj': 'Linear', 'model.layers.0.mlp.up_proj': 'Linear', 'model.layers.0.mlp.down_proj': 'Linear',
  'model.layers.0.input_layernorm': 'LlamaRMSNorm', 'model.layers.0.post_attention_layernorm': 'LlamaRMSNorm',
  'model.norm': 'LlamaRMSNorm', 'lm_head': 'Linear',
};

/** hidden 64, key/value 32, MLP 80 (not a multiple of 32: down_proj's rows fit no group of 32), vocabulary 100. */
const SPECS: [string, number[]][] = [
  ['model.embed_tokens.weight', [100, 64]],
  ['model.layers.0.input_layernorm.weight', [64]],
  ['model.layers.0.self_attn.q_proj.weight', [64, 64]],
  ['model.layers.0.self_attn.k_proj.weight', [32, 64]],
  ['model.layers.0.self_attn.v_proj.weight', [32, 64]],
  ['model.layers.0.self_attn.o_proj.weight', [64, 64]],
  ['model.layers.0.post_attention_layernorm.weight', [64]],
  ['model.layers.0.mlp.gate_proj.weight', [80, 64]],
  ['model.layers.0.mlp.up_proj.weight', [80, 64]],
  ['model.layers.0.mlp.down_proj.weight', [64, 80]],
  ['model.norm.weight', [64]],
  ['lm_head.weight', [100, 64]],
];

/** The fixture's values (already rounded to `dtype`) and its safetensors bytes. */
async function llamaLike(dtype: Dtype): Promise<{ bytes: Uint8Array; values: Map<string, Float64Array> }> {
  const values = new Map<string, Float64Array>();
  const data = SPECS.map(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Norms near 1, weights of varied spread, a few large elements so that rows differ in range.
    const x = Float64Array.from(randomNormal(n, 101 + i, shape.length === 1 ? 0.1 : 0.02 * (1 + (i % 3))), (v, j) =>
      toDtype((shape.length === 1 ? 1 : 0) + (j % 97 === 5 ? v * 9 : v), dtype));
    values.set(name, x);
    const bytes = new Uint8Array(n * (dtype === 'F32' ? 4 : 2));
    const view = new DataView(bytes.buffer);
    x.forEach((v, j) => {
      if (dtype === 'F32') view.setFloat32(j * 4, v, true);
      else if (dtype === 'F16') view.setUint16(j * 2, f16Bits(v), true);
      else {
        const f = new DataView(new ArrayBuffer(4));
        f.setFloat32(0, v);
        view.setUint16(j * 2, f.getUint32(0) >>> 16, true);
      }
    });
    return bytes;
  });
  const outputs: OutputTensor[] = SPECS.map(([name, shape], i) => ({ name, dtype, shape, byteLength: (data[i] as Uint8Array).byteLength }));
  const sink = memorySink();
  await writeSafetensors(sink, outputs, { format: 'pt' }, async (i) => data[i] as Uint8Array);
  return { bytes: sink.bytes(), values };
}


/** A module matches a target by class name, by its own name, or by a `re:` pattern (compressed-tensors' and vLLM's rules). */
function matches(module: string, target: string): boolean {
  if (target.startsWith('re:')) return new RegExp(target.slice(3)).test(module);
  return target === module || CLASSES[module] === target;
}


type Decoded = ReturnType<typeof decode>;

interface Checked {
  config: Config;
  quantized: string[];
  decoded: Map<string, Decoded>;
  /** Largest |x − loaded| of each quantized tensor. */
  maxError: Map<string, number>;
}

/**
 * Reads an output as a loader does and checks that every tensor is either quantized and targeted
 * by a config group (and not ignored), or passed through byte for byte and, if a 2-D weight,
 * ignored; every entry of the file belongs to one or the other.
 */
function readOutput(file: Uint8Array, input: Uint8Array, values: Map<string, Float64Array>, dtype: Dtype, config?: Config): Checked {
  const { entries, metadata } = parseSafetensors(file);
  const inputEntries = parseSafetensors(input).entries;
  const cfg = config ?? (JSON.parse(metadata.quantization_config as string) as Config);
  expect([cfg.quant_method, cfg.format]).toEqual(['compressed-tensors', 'pack-quantized']);
  const quantized: string[] = [];
  const maxError = new Map<string, number>();
  const decoded = new Map<string, Decoded>();
  const seen = new Set<string>();
  for (const [name, shape] of SPECS) {
    const module = name.replace(/\.weight$/, '');
    const kept = entries.get(name);
    if (kept) {
      seen.add(name);
      expect(Buffer.compare(Buffer.from(kept.bytes), Buffer.from((inputEntries.get(name) as Entry).bytes))).toBe(0);
      if (shape.length === 2) expect([name, cfg.ignore.includes(module)]).toEqual([name, true]);
      continue;
    }
    quantized.push(module);
    for (const part of ['packed', 'scale', 'zero_point', 'shape']) if (entries.has(`${module}.weight_${part}`)) seen.add(`${module}.weight_${part}`);
    expect([module, cfg.ignore.includes(module)]).toEqual([module, false]);
    const groups = Object.values(cfg.config_groups).filter((g) => g.targets.some((t) => matches(module, t)));
    expect([module, groups.length]).toEqual([module, 1]);
    const w = (groups[0] as { weights: WeightArgs }).weights;
    expect(w.type).toBe('int');
    const d = decode(entries, module, w, dtype);
    expect([d.rows, d.cols]).toEqual(shape);
    const x = values.get(name) as Float64Array;
    let max = 0;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs((x[i] as number) - (d.loaded[i] as number)));
    maxError.set(module, max);
    decoded.set(module, d);
  }
  expect([...entries.keys()].filter((n) => !seen.has(n))).toEqual([]);
  // Every Linear of the model is quantized or ignored: a loader expects packed entries for the rest.
  for (const [module, cls] of Object.entries(CLASSES)) {
    if (cls === 'Linear') expect([module, quantized.includes(module) || cfg.ignore.includes(module)]).toEqual([module, true]);
  }
  return { config: cfg, quantized, decoded, maxError };
}

async function run(bytes: Uint8Array, options: QuantizeModelOptions): Promise<{ report: ModelReport; file: Uint8Array }> {
  const sink = memorySink();
  const report = await quantizeModel(await openModel(bytesSource(bytes, 'llama.safetensors')), sink, options);
  return { report, file: sink.bytes() };
}

const INT8_CHANNEL: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
const INT4_G32_ASYM: QuantScheme = { dtype: 'int4', symmetric: false, granularity: 'group', blockSize: 32, profile: 'pytorch' };
const INT8_CHANNEL_ONNX: QuantScheme = { ...INT8_CHANNEL, profile: 'onnx' };
const INT4_G64_ONNX: QuantScheme = { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 64, profile: 'onnx' };
const Q8_0: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
const LINEARS = Object.entries(CLASSES).filter(([m, c]) => c === 'Linear' && m !== 'lm_head').map(([m]) => m);

describe('every tensor quantized and targeted, or listed in ignore', () => {
  it.each(['F32', 'F16', 'BF16'] as const)('by default (%s): Linear weights quantized; embed_tokens, lm_head and norms kept', async (dtype) => {
    const { bytes, values } = await llamaLike(dtype);
    const { report, file } = await run(bytes, { scheme: INT8_CHANNEL, backend: 'cpu' });
    const out = readOutput(file, bytes, values, dtype);
    expect(out.quantized.sort()).toEqual([...LINEARS].sort());
    expect(out.config.ignore.sort()).toEqual(['lm_head', 'model.embed_tokens']);
    expect(out.config.config_groups.group_0?.targets).toEqual(['Linear']);
    expect(report.tensors.find((t) => t.name === 'lm_head.weight')?.reason).toMatch(/output head: kept and listed in ignore.*--quantize-embeddings/);
    expect(report.tensors.find((t) => t.name === 'model.embed_tokens.weight')?.reason).toMatch(/^embedding: kept/);
    expect(report.warnings).toBeUndefined();
  });

  it('quantizeEmbeddings: embed_tokens and lm_head quantized too, the embedding targeted by name, with a warning for vLLM', async () => {
    const { bytes, values } = await llamaLike('BF16');
    const { report, file } = await run(bytes, { scheme: INT8_CHANNEL, backend: 'cpu', quantizeEmbeddings: true });
    const out = readOutput(file, bytes, values, 'BF16');
    expect(out.quantized.sort()).toEqual([...LINEARS, 'lm_head', 'model.embed_tokens'].sort());
    expect(out.config.ignore).toEqual([]);
    expect(out.config.config_groups.group_0?.targets).toEqual(['Linear', 'model.embed_tokens']);
    expect(report.warnings).toEqual([expect.stringMatching(/^model\.embed_tokens\.weight, lm_head\.weight quantized .*vLLM/)]);
  });

  it('groups that do not divide a row: that weight kept and ignored; --exclude likewise', async () => {
    const { bytes, values } = await llamaLike('F16');
    const { file } = await run(bytes, { scheme: INT4_G32_ASYM, backend: 'cpu', exclude: ['*.q_proj.*'] });
    const out = readOutput(file, bytes, values, 'F16');
    expect(out.config.ignore.sort()).toEqual(['lm_head', 'model.embed_tokens', 'model.layers.0.mlp.down_proj', 'model.layers.0.self_attn.q_proj']);
  });

  it('--profile ggml: rows that are not whole blocks pass through instead of failing the run', async () => {
    const { bytes, values } = await llamaLike('F32');
    const { report, file } = await run(bytes, { scheme: Q8_0, backend: 'cpu' });
    const out = readOutput(file, bytes, values, 'F32');
    expect(out.config.ignore).toContain('model.layers.0.mlp.down_proj');
    expect(report.tensors.find((t) => t.name === 'model.layers.0.mlp.down_proj.weight')?.reason).toMatch(/multiple of 32/);
    expect(out.quantized.length).toBe(LINEARS.length - 1);
  });

  it('a scheme no weight can take still fails before anything is written', async () => {
    const { bytes } = await llamaLike('F32');
    const sink = memorySink();
    const err = await quantizeModel(await openModel(bytesSource(bytes, 'llama.safetensors')), sink, {
      scheme: { ...Q8_0, symmetric: false }, backend: 'cpu',
    }).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/symmetric/);
    expect(sink.bytes().length).toBe(0);
  });
});

describe('vLLM warnings', () => {
  it.each([
    ['per tensor', { ...INT8_CHANNEL, granularity: 'tensor' } as QuantScheme, /^per-tensor scales: vLLM's weight-only int scheme .* channel or group/],
    ['groups of 16', { ...INT4_G32_ASYM, blockSize: 16 }, /^groups of 16: vLLM's weight-only int kernels \(Marlin\) serve groups of 32, 64, 128/],
  ])('%s', async (_, scheme, warning) => {
    const { bytes } = await llamaLike('F32');
    const { report } = await run(bytes, { scheme, backend: 'cpu' });
    expect(report.warnings).toEqual([expect.stringMatching(warning)]);
  });

  it.each([['per channel', INT8_CHANNEL], ['groups of 32', INT4_G32_ASYM], ['groups of 64', INT4_G64_ONNX]])('none for %s', async (_, scheme) => {
    const { bytes } = await llamaLike('F32');
    expect((await run(bytes, { scheme, backend: 'cpu' })).report.warnings).toBeUndefined();
  });
});

describe('half-precision weights: codes chosen with the scales the file stores', () => {
  const schemes: [string, QuantScheme][] = [
    ['int8 per channel (pytorch)', INT8_CHANNEL], ['int4 groups of 32, asymmetric', INT4_G32_ASYM],
    ['int8 per channel (onnx)', INT8_CHANNEL_ONNX], ['int4 groups of 64 (onnx)', INT4_G64_ONNX], ['ggml Q8_0', Q8_0],
  ];
  describe.each(['F16', 'BF16', 'F32'] as const)('%s', (dtype) => {
    it.each(schemes)('%s: decoded error within half a step plus the rounding of the product; the report says the decoded error', async (_, scheme) => {
      const { bytes, values } = await llamaLike(dtype);
      const { report, file } = await run(bytes, { scheme, backend: 'cpu' });
      const out = readOutput(file, bytes, values, dtype);
      // Under ggml a float32 model keeps llama.cpp's rule (codes from the float32 d, the file
      // holding d rounded to float16), so the half-step bound is for the other cases only.
      const bounded = !(scheme.profile === 'ggml' && dtype === 'F32');
      for (const module of out.quantized) {
        const x = values.get(`${module}.weight`) as Float64Array;
        const d = out.decoded.get(module) as Decoded;
        let worst = 0;
        for (let i = 0; i < x.length; i++) {
          const xi = x[i] as number;
          // The pytorch rule multiplies by the float32 reciprocal of the scale: x·(1/s) is off x/s by
          // at most |x/s|·2^-23 ≤ 2^-16 of a step for |x/s| ≤ 128, so a code may sit that much past half.
          const half = (d.step[i] as number) * (0.5 + 2 ** -16);
          const product = Math.abs((d.loaded[i] as number) - (d.exact[i] as number));
          worst = Math.max(worst, Math.abs(xi - (d.exact[i] as number)) / half);
          if (bounded) expect(Math.abs(xi - (d.loaded[i] as number))).toBeLessThanOrEqual(half + product);
        }
        if (bounded) expect([module, worst <= 1]).toEqual([module, true]);
        expect([module, report.tensors.find((t) => t.name === `${module}.weight`)?.maxAbsError]).toEqual([module, out.maxError.get(module)]);
      }
    });
  });

  it('BF16 int8 per channel: with float32 scales the half-step bound would not hold (the case this guards)', async () => {
    // The same weights, the codes chosen with the float32 pytorch scale amax / 127.5 and decoded
    // with that scale rounded to bfloat16 (what a loader did with the earlier files).
    const { values } = await llamaLike('BF16');
    const x = values.get('model.layers.0.self_attn.q_proj.weight') as Float64Array;
    let worst = 0;
    for (let r = 0; r < 64; r++) {
      const row = x.subarray(r * 64, (r + 1) * 64);
      const s = Math.fround(Math.max(...row.map(Math.abs)) / 127.5);
      const stored = toDtype(s, 'BF16');
      const inv = Math.fround(1 / s);
      for (const v of row) {
        const q = Math.max(-128, Math.min(127, Math.round(Math.fround(v * inv))));
        worst = Math.max(worst, Math.abs(v - toDtype(stored * q, 'BF16')) / (stored * 0.5));
      }
    }
    expect(worst).toBeGreaterThan(1.1);
  });

  it.each([['BF16', INT8_CHANNEL], ['F16', INT4_G32_ASYM], ['BF16', Q8_0]] as const)('%s on WebGPU with verify: the CPU file bit for bit', async (dtype, scheme) => {
    const { bytes } = await llamaLike(dtype);
    const cpu = await run(bytes, { scheme, backend: 'cpu' });
    const gpu = await run(bytes, { scheme, backend: 'webgpu', verify: true, chunkElements: 200 });
    expect(Buffer.compare(Buffer.from(gpu.file), Buffer.from(cpu.file))).toBe(0);
    const quantized = gpu.report.tensors.filter((t) => t.action === 'quantized');
    expect(quantized.length).toBeGreaterThan(0);
    for (const t of quantized) {
      expect([t.name, t.verify?.equal, t.maxAbsError]).toEqual([t.name, true, cpu.report.tensors.find((c) => c.name === t.name)?.maxAbsError]);
    }
  });
});

describe('the CLI', () => {
  const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });

  it('writes a file every tensor of which loads, with the config beside it; warnings on stderr; --quantize-embeddings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wq-ct-'));
    const { bytes, values } = await llamaLike('BF16');
    const input = join(dir, 'llama.safetensors');
    writeFileSync(input, bytes);

    const plain = cli('quantize', input, '-o', join(dir, 'a.safetensors'), '--backend', 'cpu');
    expect([plain.status, plain.stderr]).toEqual([0, expect.not.stringMatching(/warning/)]);
    const sidecar = JSON.parse(readFileSync(join(dir, 'a.quantization_config.json'), 'utf8')) as Config;
    const a = readOutput(new Uint8Array(readFileSync(join(dir, 'a.safetensors'))), bytes, values, 'BF16', sidecar);
    expect(a.config.ignore.sort()).toEqual(['lm_head', 'model.embed_tokens']);
    expect(plain.stdout).toMatch(/lm_head\.weight .*passthrough \(output head: kept and listed in ignore/);

    const all = cli('quantize', input, '-o', join(dir, 'b.safetensors'), '--backend', 'cpu', '--quantize-embeddings', '--dtype', 'int4',
      '--granularity', 'tensor');
    expect(all.status).toBe(0);
    const b = readOutput(new Uint8Array(readFileSync(join(dir, 'b.safetensors'))), bytes, values, 'BF16');
    expect(b.quantized.length).toBe(LINEARS.length + 2);
    expect(all.stderr).toMatch(/warning: per-tensor scales: vLLM's weight-only int scheme/);
    expect(all.stderr).toMatch(/warning: model\.embed_tokens\.weight, lm_head\.weight quantized \(--quantize-embeddings\)/);

    const ggml = cli('quantize', input, '-o', join(dir, 'c.safetensors'), '--backend', 'cpu', '--profile', 'ggml');
    expect([ggml.status, ggml.stdout]).toEqual([0, expect.stringMatching(/mlp\.down_proj\.weight .*passthrough .*multiple of 32/)]);
    readOutput(new Uint8Array(readFileSync(join(dir, 'c.safetensors'))), bytes, values, 'BF16');
  });
});
