// Model folders through the library: a sharded folder made from a bundled model (folder-fixture.ts)
// quantized into memory, its output read back from the bytes alone — the index against the shards'
// own headers, every input tensor found either unchanged or quantized, the quantized ones decoded
// by compressed-tensors' rules (compressed-tensors-decode.ts) and compared with what the CPU
// reference dequantizes; config.json compared key by key and as text; every other file byte for
// byte. Then each kind of broken folder, named in the error.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTensorF32 } from '../../src/formats/model.js';
import { dequantize, quantize, type QuantScheme } from '../../src/index.js';
import { type FolderSink, mergeQuantizationConfig, type ModelFolder, openModelFolder, quantizeFolder } from '../../src/model/folder.js';
import { readFolder } from '../../src/node/folder.js';
import { type Config, decode, type Entry, parseSafetensors } from './compressed-tensors-decode.js';
import { CONFIG_TEXT, type Fixture, mnist, OTHER_FILES, shardedFolder, singleFileFolder } from './folder-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'wq-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const freshDir = () => join(root, `m${count++}`);

const INT8_CHANNEL: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
const INT4_G32_ASYM: QuantScheme = { dtype: 'int4', symmetric: false, granularity: 'group', blockSize: 32, profile: 'pytorch' };

/** An output folder held in memory: path → bytes. */
function memoryFolder(): FolderSink & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async create(path) {
      if (files.has(path)) throw new Error(`${path} created twice`);
      const parts: Uint8Array[] = [];
      return {
        async write(chunk) {
          parts.push(chunk.slice());
        },
        async close() {
          files.set(path, new Uint8Array(Buffer.concat(parts)));
        },
      };
    },
  };
}

async function open(dir: string): Promise<{ folder: ModelFolder; close(): Promise<void> }> {
  const listing = await readFolder(dir);
  try {
    return { folder: await openModelFolder(dir, listing.files), close: listing.close };
  } catch (err) {
    await listing.close();
    throw err;
  }
}

async function quantizeDir(dir: string, scheme: QuantScheme, maxShardBytes?: number) {
  const { folder, close } = await open(dir);
  const out = memoryFolder();
  try {
    const result = await quantizeFolder(folder, out, { scheme, backend: 'cpu', ...(maxShardBytes ? { maxShardBytes } : {}) });
    return { ...result, out: out.files };
  } finally {
    await close();
  }
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/**
 * Reads an output folder as a loader does and checks it against the input model: the index (when
 * there is one) names every entry of every shard and no other, each in the shard that holds it;
 * total_size is the shards' data bytes; every input tensor is in the output unchanged or as a
 * quantized weight targeted by the config, whose decoded values equal the CPU reference's.
 */
async function checkOutput(out: Map<string, Uint8Array>, scheme: QuantScheme, maxShardBytes: number, weights: string[]) {
  const shards = new Map(weights.map((w) => [w, parseSafetensors(out.get(w) as Uint8Array)]));
  const where = new Map<string, string>();
  let dataBytes = 0;
  for (const [name, shard] of shards) {
    let bytes = 0;
    for (const [tensor, e] of shard.entries) {
      expect([tensor, where.get(tensor)]).toEqual([tensor, undefined]);
      where.set(tensor, name);
      bytes += e.bytes.byteLength;
    }
    dataBytes += bytes;
    // A shard past the bound holds one tensor's entries only (transformers gives such a tensor its own shard).
    const modules = new Set([...shard.entries.keys()].map((t) => t.replace(/_(packed|scale|zero_point|shape)$/, '')));
    if (bytes > maxShardBytes) expect([name, modules.size]).toEqual([name, 1]);
  }
  if (weights.length > 1) {
    const index = JSON.parse(text(out.get('model.safetensors.index.json'))) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(dataBytes);
    expect(new Map(Object.entries(index.weight_map))).toEqual(where);
  }
  const config = (JSON.parse(text(out.get('config.json'))) as { quantization_config: Config }).quantization_config;
  expect([config.quant_method, config.format]).toEqual(['compressed-tensors', 'pack-quantized']);
  const group = config.config_groups.group_0 as Config['config_groups'][string];
  expect(group.weights).toMatchObject({ num_bits: scheme.dtype === 'int8' ? 8 : 4, symmetric: scheme.symmetric, strategy: scheme.granularity });
  // Every shard's metadata carries the same config, and the `format` transformers insists on.
  for (const shard of shards.values()) {
    expect(shard.metadata.format).toBe('pt');
    expect(JSON.parse(shard.metadata.quantization_config as string)).toEqual(config);
  }
  const entries = new Map<string, Entry>();
  for (const shard of shards.values()) for (const [k, e] of shard.entries) entries.set(k, e);
  const input = await mnist();
  const quantized: string[] = [];
  for (const t of input.file.tensors) {
    const kept = entries.get(t.name);
    if (kept) {
      expect(Buffer.compare(Buffer.from(kept.bytes), Buffer.from(input.bytes.subarray(t.offset, t.offset + t.byteLength)))).toBe(0);
      if (t.shape.length === 2) expect(config.ignore).toContain(t.name.replace(/\.weight$/, ''));
      continue;
    }
    const module = t.name.replace(/\.weight$/, '');
    quantized.push(module);
    expect(group.targets).toContain('Linear');
    expect(config.ignore).not.toContain(module);
    const d = decode(entries, module, group.weights, 'F32');
    const x = await readTensorF32(input.file, t.name);
    const reference = await dequantize(await quantize(x, t.shape, scheme, { backend: 'cpu' }));
    expect([module, d.rows, d.cols]).toEqual([module, ...t.shape]);
    let mismatches = 0;
    for (let i = 0; i < reference.length; i++) if (!Object.is(d.loaded[i], reference[i])) mismatches++;
    expect([module, mismatches]).toEqual([module, 0]);
  }
  // mnist's two Linear layers; the convolutions (4-D) and norms pass through.
  expect(quantized.sort()).toEqual(['fc1', 'fc2']);
  const accounted = new Set([...input.file.tensors.map((t) => t.name), ...quantized.flatMap((m) =>
    ['packed', 'scale', 'zero_point', 'shape'].map((p) => `${m}.weight_${p}`))]);
  expect([...entries.keys()].filter((k) => !accounted.has(k))).toEqual([]);
  return config;
}

function checkOthers(out: Map<string, Uint8Array>, dir: string) {
  for (const path of Object.keys(OTHER_FILES)) {
    expect([path, Buffer.compare(Buffer.from(out.get(path) ?? []), readFileSync(join(dir, path)))]).toEqual([path, 0]);
  }
}

/** config.json: every input key with its value, in order, then quantization_config; the input's text kept as it was. */
function checkConfig(out: Map<string, Uint8Array>) {
  const written = text(out.get('config.json'));
  const parsed = JSON.parse(written) as Record<string, unknown>;
  const original = JSON.parse(CONFIG_TEXT) as Record<string, unknown>;
  expect(Object.keys(parsed)).toEqual([...Object.keys(original), 'quantization_config']);
  for (const key of Object.keys(original)) expect([key, parsed[key]]).toEqual([key, original[key]]);
  // The order of keys as written (a JS object would list "9" and "0" first) and the spellings.
  const at = written.indexOf('"quantization_config"');
  expect(written.slice(0, at).replace(/,\s*$/, '')).toBe(CONFIG_TEXT.slice(0, CONFIG_TEXT.lastIndexOf('}')).trimEnd());
  expect(written.endsWith('\n}\n')).toBe(true);
  expect(written.slice(at - 2, at)).toBe('\n\t');
}

describe('a sharded folder', () => {
  it.each([['int8 per channel', INT8_CHANNEL], ['int4 groups of 32, asymmetric', INT4_G32_ASYM]])(
    '%s: shards within the bound, index consistent, every tensor accounted for and decoded as the CPU reference', async (_, scheme) => {
      const dir = freshDir();
      await shardedFolder(dir);
      const max = 100_000;
      const { out, files, report } = await quantizeDir(dir, scheme, max);
      const weights = files.filter((f) => f.role === 'weights').map((f) => f.path);
      expect(weights.length).toBeGreaterThan(1);
      expect(weights).toEqual(weights.map((_w, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(weights.length).padStart(5, '0')}.safetensors`));
      expect([...out.keys()].sort()).toEqual([...weights, 'model.safetensors.index.json', 'config.json', ...Object.keys(OTHER_FILES)].sort());
      for (const f of files) expect([f.path, f.bytes]).toEqual([f.path, out.get(f.path)?.byteLength]);
      expect(report.output.bytes).toBe(weights.reduce((n, w) => n + (out.get(w)?.byteLength ?? 0), 0));
      expect(report.input.bytes).toBe(['1', '2', '3'].reduce((n, i) => n + readFileSync(join(dir, `model-0000${i}-of-00003.safetensors`)).byteLength, 0));
      const config = await checkOutput(out, scheme, max, weights);
      expect(config).toEqual(report.quantizationConfig);
      checkOthers(out, dir);
      checkConfig(out);
    });

  it('by default (5 GB shards) the weights fit one shard, still named as a shard of a sharded model, with its index', async () => {
    const dir = freshDir();
    await shardedFolder(dir);
    const { out, files } = await quantizeDir(dir, INT8_CHANNEL);
    expect(files.filter((f) => f.role === 'weights').map((f) => f.path)).toEqual(['model-00001-of-00001.safetensors']);
    const index = JSON.parse(text(out.get('model.safetensors.index.json'))) as { weight_map: Record<string, string> };
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(['model-00001-of-00001.safetensors']));
    await checkOutput(out, INT8_CHANNEL, 5e9, ['model-00001-of-00001.safetensors']);
  });
});

describe('a single-file folder', () => {
  it('stays one model.safetensors when it fits, with no index', async () => {
    const dir = freshDir();
    singleFileFolder(dir);
    const { out, files } = await quantizeDir(dir, INT8_CHANNEL);
    expect(files.filter((f) => f.role === 'weights').map((f) => f.path)).toEqual(['model.safetensors']);
    expect(out.has('model.safetensors.index.json')).toBe(false);
    await checkOutput(out, INT8_CHANNEL, 5e9, ['model.safetensors']);
    checkOthers(out, dir);
    checkConfig(out);
  });

  it('is sharded with an index when it is larger than the bound', async () => {
    const dir = freshDir();
    singleFileFolder(dir);
    const { out, files } = await quantizeDir(dir, INT4_G32_ASYM, 50_000);
    const weights = files.filter((f) => f.role === 'weights').map((f) => f.path);
    expect(weights.length).toBeGreaterThan(1);
    expect(out.has('model.safetensors')).toBe(false);
    await checkOutput(out, INT4_G32_ASYM, 50_000, weights);
  });

  it('without config.json: the weights and a warning that loaders read the config from config.json', async () => {
    const dir = freshDir();
    singleFileFolder(dir);
    rmSync(join(dir, 'config.json'));
    const { out, report } = await quantizeDir(dir, INT8_CHANNEL);
    expect(out.has('config.json')).toBe(false);
    expect(report.warnings).toEqual([expect.stringMatching(/has no config\.json: the quantization_config is only in each shard's __metadata__/)]);
  });
});

describe('broken folders are named', () => {
  const cases: [string, (f: Fixture) => void, RegExp][] = [
    ['an index naming a missing shard', (f) => {
      f.weightMap['fc2.weight'] = 'model-00004-of-00003.safetensors';
    }, /model\.safetensors\.index\.json: field 'weight_map': names shard 'model-00004-of-00003\.safetensors' \(for tensor 'fc2\.weight'\), which is not in the folder/],
    ['a tensor in two shards', (f) => {
      f.shards.get('model-00002-of-00003.safetensors')?.push('fc1.weight');
    }, /model-0000[23]-of-00003\.safetensors: tensor 'fc1\.weight': is also in model-0000[123]-of-00003\.safetensors: a tensor must be in one shard/],
    ['a shard holding a tensor the index places elsewhere', (f) => {
      // fc1.weight is the 10th tensor in data order, so the round-robin dealt it to the first shard.
      expect(f.weightMap['fc1.weight']).toBe('model-00001-of-00003.safetensors');
      f.weightMap['fc1.weight'] = 'model-00002-of-00003.safetensors';
    }, /model-00001-of-00003\.safetensors: tensor 'fc1\.weight': is in this shard's header but .*model\.safetensors\.index\.json places it in model-00002-of-00003\.safetensors/],
    ['a shard holding a tensor the index does not list', (f) => {
      delete f.weightMap['fc2.bias'];
    }, /tensor 'fc2\.bias': is in this shard's header but not in .*model\.safetensors\.index\.json/],
    ['an index naming a tensor its shard does not hold', (f) => {
      f.weightMap['extra.weight'] = 'model-00001-of-00003.safetensors';
    }, /model-00001-of-00003\.safetensors: tensor 'extra\.weight': .*index\.json places this tensor here, but the shard's header does not hold it/],
    ['a shard name with a path in it', (f) => {
      f.weightMap['fc2.bias'] = '../model-00001-of-00003.safetensors';
    }, /tensor 'fc2\.bias': field 'weight_map': must name a file in the index's folder/],
  ];
  it.each(cases)('%s', async (_, edit, message) => {
    const dir = freshDir();
    await shardedFolder(dir, edit);
    await expect(open(dir)).rejects.toThrow(message);
  });

  it('a config.json that is not JSON, or not an object', async () => {
    const dir = freshDir();
    await shardedFolder(dir);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "mnist",}');
    await expect(open(dir)).rejects.toThrow(/config\.json: is not valid JSON/);
    writeFileSync(join(dir, 'config.json'), '[1]');
    await expect(open(dir)).rejects.toThrow(/config\.json: must be a JSON object/);
  });

  it('a config.json that has a quantization_config already: refused before anything is written', async () => {
    const dir = freshDir();
    await shardedFolder(dir);
    writeFileSync(join(dir, 'config.json'), '{"quantization_config": {"quant_method": "fp8"}}');
    const { folder, close } = await open(dir);
    const out = memoryFolder();
    await expect(quantizeFolder(folder, out, { scheme: INT8_CHANNEL, backend: 'cpu' }).finally(close))
      .rejects.toThrow(/config\.json: field 'quantization_config': already has a quantization_config \(fp8\)/);
    expect(out.files.size).toBe(0);
  });

  it('several .safetensors files and no index; no weights at all', async () => {
    const dir = freshDir();
    singleFileFolder(dir);
    writeFileSync(join(dir, 'other.safetensors'), readFileSync(join(dir, 'model.safetensors')));
    await expect(open(dir)).rejects.toThrow(/holds 2 \.safetensors files \(model\.safetensors, other\.safetensors\) and no \*?.*index\.json/);
    const empty = freshDir();
    singleFileFolder(empty);
    rmSync(join(empty, 'model.safetensors'));
    await expect(open(empty)).rejects.toThrow(/holds no \.safetensors\.index\.json and no \.safetensors file/);
  });

  it('a copied file named as an output shard: refused before anything is written', async () => {
    const dir = freshDir();
    await shardedFolder(dir);
    writeFileSync(join(dir, 'model-00001-of-00001.safetensors'), 'stale');
    const { folder, close } = await open(dir);
    const out = memoryFolder();
    await expect(quantizeFolder(folder, out, { scheme: INT8_CHANNEL, backend: 'cpu' }).finally(close))
      .rejects.toThrow(/model-00001-of-00001\.safetensors: would be replaced by the quantized weights' file of the same name/);
    expect(out.files.size).toBe(0);
  });
});

describe('mergeQuantizationConfig', () => {
  const config = { quant_method: 'compressed-tensors', ignore: [] };
  it.each([
    ['two-space indent', '{\n  "a": 1\n}\n', '{\n  "a": 1,\n  "quantization_config": {\n    "quant_method": "compressed-tensors",\n    "ignore": []\n  }\n}\n'],
    ['one line', '{"a":1e-05}', '{"a":1e-05,"quantization_config":{"quant_method":"compressed-tensors","ignore":[]}}'],
    ['an empty object', '{}', '{"quantization_config":{"quant_method":"compressed-tensors","ignore":[]}}'],
  ])('%s', (_, input, expected) => {
    expect(mergeQuantizationConfig(input, config)).toBe(expected);
  });
});
