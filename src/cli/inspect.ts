// `webgpu-quantizer inspect`: what a model file holds, for a person.
import { FormatError } from '../errors.js';
import { type ModelFile, modelTensors } from '../formats/model.js';
import type { ModelFolder } from '../model/folder.js';
import { formatBytes as size } from '../model/report.js';

function shortValue(value: unknown, depth = 0): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value.length > 80 ? `${JSON.stringify(value.slice(0, 77))}…` : JSON.stringify(value);
  // A hostile file's arrays may nest past the stack; a person reads a few levels.
  if (depth > 8 && value && typeof value === 'object') return '…';
  const short = (v: unknown) => shortValue(v, depth + 1);
  if (Array.isArray(value)) return value.length > 8 ? `[${value.length} items: ${value.slice(0, 4).map(short).join(', ')}, …]` : `[${value.map(short).join(', ')}]`;
  if (value && typeof value === 'object') {
    const items = (value as { items?: unknown }).items;
    if (Array.isArray(items)) return short(items);
    try {
      return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 120);
    } catch {
      // A hostile file's JSON (a quantization_config) may nest past the stack.
      return '(nested too deep to show)';
    }
  }
  return String(value);
}


/** Tensors, dtypes, shapes, sizes, metadata and any quantization found, as text. */
export function describeModel(model: ModelFile): string {
  const tensors = modelTensors(model);
  const lines = [`${model.source.name}: ${model.format}${model.format === 'gguf' ? ` v${model.version}` : ''}, ${size(model.source.size)}, ${tensors.length} tensors`];
  const metadata: [string, string][] = model.format === 'gguf'
    ? [...model.metadata].map(([k, v]) => [k, shortValue(v.value)])
    : Object.entries(model.metadata ?? {}).map(([k, v]) => [k, shortValue(v)]);
  if (metadata.length > 0) {
    lines.push('', 'metadata:');
    for (const [k, v] of metadata) lines.push(`  ${k} = ${v}`);
  }
  lines.push('', 'tensors:');
  const nameWidth = tensors.reduce((w, t) => Math.max(w, t.name.length), 4); // no spread: files may hold millions
  for (const t of tensors) {
    lines.push(`  ${t.name.padEnd(nameWidth)}  ${t.dtype.padEnd(5)}  [${t.shape.join(', ')}]  ${size(t.byteLength)}`);
  }
  const counts = new Map<string, number>();
  for (const t of tensors) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
  lines.push('', `dtypes: ${[...counts].map(([d, n]) => `${d} × ${n}`).join(', ')}`);
  lines.push(quantizationFound(model, tensors.map((t) => t.dtype)));
  return lines.join('\n');
}

/**
 * A model folder: its files (the shards with their tensor counts, the index, config.json and the
 * rest), then its weights as one model, the quantization found being config.json's when it has one.
 */
export function describeFolder(folder: ModelFolder): string {
  const lines = [`${folder.name}: model folder, ${folder.index ? `${folder.shards.length} shards named by ${folder.index}` : 'one weights file'}`, '', 'files:'];
  for (const s of folder.shards) lines.push(`  ${s.path}  ${size(s.file.source.size)}  ${s.file.tensors.length} tensors`);
  if (folder.index) lines.push(`  ${folder.index}  index`);
  if (folder.config) lines.push(`  ${folder.config.path}  config`);
  for (const f of folder.others) lines.push(`  ${f.path}  ${size(f.source.size)}`);
  const model = describeModel(folder.model).split('\n');
  lines.push(...model.slice(1, -1));
  const config = folder.config && (JSON.parse(folder.config.text) as Record<string, unknown>).quantization_config;
  lines.push(config === undefined ? (model.at(-1) as string) : `quantization (${folder.config?.path}): ${shortValue(config)}`);
  return lines.join('\n');
}

function quantizationFound(model: ModelFile, dtypes: string[]): string {
  if (model.format === 'safetensors') {
    const config = model.metadata?.quantization_config;
    if (config) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(config);
      } catch {
        throw new FormatError('is not JSON', { file: model.source.name, field: '__metadata__.quantization_config' });
      }
      return `quantization: compressed-tensors ${shortValue(parsed)}`;
    }
    return model.tensors.some((t) => /_packed$|_scale$/.test(t.name))
      ? 'quantization: quantized tensors found (names end in _packed / _scale) but no quantization_config'
      : 'quantization: none (float weights)';
  }
  const quantized = dtypes.filter((d) => !['F32', 'F16', 'BF16', 'F64', 'I8', 'I16', 'I32', 'I64'].includes(d));
  const fileType = model.metadata.get('general.file_type');
  return quantized.length > 0
    ? `quantization: ${[...new Set(quantized)].join(', ')} tensors; general.file_type = ${shortValue(fileType?.value)}`
    : 'quantization: none (float weights)';
}
