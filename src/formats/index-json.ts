// `model.safetensors.index.json`, the map transformers writes beside a sharded model:
// { "metadata": { "total_size": N, … }, "weight_map": { tensor name: shard file name } }.
// Shards lie in the index's own folder (transformers and vLLM open `folder/shard`), so a shard
// name with a path in it is refused rather than followed out of the folder.
import { FormatError } from '../errors.js';

/** A validated index: each tensor's shard, and the shards in the order their names sort. */
export interface SafetensorsIndex {
  metadata: Record<string, unknown>;
  weightMap: Map<string, string>;
  shards: string[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks an index's text; every problem names `file` and the field or tensor. */
export function parseSafetensorsIndex(file: string, text: string): SafetensorsIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`is not valid JSON (${(err as Error).message})`, { file });
  }
  if (!isPlainObject(json)) throw new FormatError('must be a JSON object with a weight_map', { file });
  const { weight_map: map, metadata } = json;
  if (!isPlainObject(map)) throw new FormatError('must be an object of tensor name → shard file name', { file, field: 'weight_map' });
  if (metadata !== undefined && !isPlainObject(metadata)) throw new FormatError('must be an object', { file, field: 'metadata' });
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard === '' || /[/\\]/.test(shard) || shard === '.' || shard === '..') {
      throw new FormatError(`must name a file in the index's folder; got ${JSON.stringify(shard)}`, { file, tensor, field: 'weight_map' });
    }
    weightMap.set(tensor, shard);
  }
  if (weightMap.size === 0) throw new FormatError('names no tensor', { file, field: 'weight_map' });
  return { metadata: metadata ?? {}, weightMap, shards: [...new Set(weightMap.values())].sort() };
}

/**
 * An index's text, as transformers writes one (two-space indent, `total_size` the sum of the
 * tensors' bytes, headers aside), for `shards` given as file name → tensor names.
 */
export function safetensorsIndexJson(totalSize: number, shards: [string, string[]][]): string {
  // Sorted by tensor name, as transformers sorts its weight_map; written by hand, since a JS
  // object would move a tensor named like an integer first.
  const entries = shards.flatMap(([file, tensors]) => tensors.map((t): [string, string] => [t, file]));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = entries.map(([tensor, file]) => `    ${JSON.stringify(tensor)}: ${JSON.stringify(file)}`);
  return `{\n  "metadata": {\n    "total_size": ${totalSize}\n  },\n  "weight_map": {\n${lines.join(',\n')}\n  }\n}\n`;
}

/** `model-00002-of-00005.safetensors`: transformers' shard names, numbered from 1 and padded to 5 digits. */
export function shardFileName(prefix: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}
