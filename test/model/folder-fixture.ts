// A Hugging Face-style model folder made from a bundled model (models/mnist.safetensors, see
// models/README.md): its tensors dealt into three shards with an index, beside a config.json whose
// text a parse and stringify would not keep (integer-like keys, 1e-05, tab indents), a
// generation_config.json, tokenizer-like files and a nested file.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { readSafetensors, type SafetensorsFile, writeSafetensors } from '../../src/formats/safetensors.js';

export const MNIST = resolve(import.meta.dirname, '../../models/mnist.safetensors');

/** config.json as transformers might have written it, with what a rewrite would disturb. */
export const CONFIG_TEXT = `{
\t"architectures": ["MnistNet"],
\t"id2label": {
\t\t"10": "ten",
\t\t"0": "zero",
\t\t"2": "two"
\t},
\t"model_type": "mnist",
\t"layer_norm_eps": 1e-05,
\t"torch_dtype": "float32",
\t"9": "an integer-like top-level key, which a JS object would move first"
}
`;

/** Files copied unchanged: path → contents. */
export const OTHER_FILES: Record<string, string> = {
  'generation_config.json': '{\n  "do_sample": false,\n  "max_length": 20\n}\n',
  'tokenizer.json': JSON.stringify({ version: '1.0', model: { type: 'WordLevel', vocab: { '[UNK]': 0, '0': 1 } } }),
  'tokenizer_config.json': '{"model_max_length": 784, "tokenizer_class": "PreTrainedTokenizerFast"}',
  'special_tokens_map.json': '{"unk_token": "[UNK]"}',
  'README.md': '# mnist, sharded\n',
  'original/params.json': '{"dim": 32}\n',
};

/** The bundled model's header, and its bytes. */
export async function mnist(): Promise<{ bytes: Uint8Array; file: SafetensorsFile }> {
  const bytes = new Uint8Array(readFileSync(MNIST));
  return { bytes, file: await readSafetensors(bytesSource(bytes, MNIST)) };
}

/** A safetensors file of `names`, copied from `file` (whose bytes are `bytes`). */
export async function shardOf(bytes: Uint8Array, file: SafetensorsFile, names: string[]): Promise<Uint8Array> {
  const tensors = names.map((n) => file.tensors.find((t) => t.name === n) as SafetensorsFile['tensors'][number]);
  const sink = memorySink();
  await writeSafetensors(sink, tensors.map(({ name, dtype, shape, byteLength }) => ({ name, dtype, shape, byteLength })), { format: 'pt' },
    async (i) => bytes.subarray((tensors[i] as { offset: number }).offset, (tensors[i] as { offset: number }).offset + (tensors[i] as { byteLength: number }).byteLength));
  return sink.bytes();
}

function write(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

export interface Fixture {
  dir: string;
  /** Shard file name → the tensors it holds. */
  shards: Map<string, string[]>;
  /** Index weight_map. */
  weightMap: Record<string, string>;
}

/**
 * Writes the sharded folder to `dir`: mnist's tensors dealt round-robin into three shards (so
 * that each shard holds a mix, in an order unlike the file's). `edit` may change the weight map
 * or the shards before they are written, to make a broken folder.
 */
export async function shardedFolder(dir: string, edit?: (f: Fixture) => void): Promise<Fixture> {
  const { bytes, file } = await mnist();
  const names = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];
  const shards = new Map<string, string[]>(names.map((n) => [n, []]));
  file.tensors.forEach((t, i) => shards.get(names[i % 3] as string)?.push(t.name));
  const weightMap: Record<string, string> = {};
  for (const [shard, tensors] of shards) for (const t of tensors) weightMap[t] = shard;
  const fixture = { dir, shards, weightMap };
  edit?.(fixture);
  for (const [shard, tensors] of fixture.shards) write(join(dir, shard), await shardOf(bytes, file, tensors));
  const total = file.tensors.reduce((n, t) => n + t.byteLength, 0);
  write(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: fixture.weightMap }, null, 2));
  write(join(dir, 'config.json'), CONFIG_TEXT);
  for (const [path, text] of Object.entries(OTHER_FILES)) write(join(dir, path), text);
  return fixture;
}

/** The same model as one `model.safetensors` in a folder with the same other files. */
export function singleFileFolder(dir: string): void {
  write(join(dir, 'model.safetensors'), readFileSync(MNIST));
  write(join(dir, 'config.json'), CONFIG_TEXT);
  for (const [path, text] of Object.entries(OTHER_FILES)) write(join(dir, path), text);
}
