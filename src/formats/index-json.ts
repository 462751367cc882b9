// `model.safetensors.index.json`, the map transformers writes beside a sharded model:
// { "metadata": { "total_size": N, … }, "weight_map": { tensor name: shard file name } }.
// Shards lie in the index's own folder (transformers and vLLM open `folder/shard`), so a shard
// name with a path in it is refused rather than followed out of the folder.
import { FormatError } from '../errors.js';
import type { ByteSource } from './io.js';

/** A validated index: each tensor's shard, and the shards in the order their names sort. */
export interface SafetensorsIndex {
  metadata: Record<string, unknown>;
  weightMap: Map<string, string>;
  shards: string[];
}

/**
 * The safetensors reference's limit on a header, here on the whole index: an index of a million
 * tensors is about 80 MB, and the largest published ones hold under 100 000.
 */
const MAX_INDEX_BYTES = 100_000_000;
/** serde_json's recursion limit, as for a safetensors header; a valid index nests three deep. */
const MAX_JSON_DEPTH = 128;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A name or value as it appears in a message, cut short: a hostile file may hold megabytes of one. */
function short(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function preview(value: unknown): string {
  return short(JSON.stringify(value) ?? String(value));
}

/** Offset of the first byte that is not valid UTF-8 (per the WHATWG decoder's rules), or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    const more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (more === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    const second = b[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= more; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += more + 1;
  }
  return -1;
}

/** One open container while scanning: an object's keys so far and its current key, or an array's index. */
interface Frame {
  keys: Set<string> | null;
  key: string | undefined;
  index: number;
}

/**
 * Where the scan stands, as a FormatError's place: inside `weight_map` the tensor and field
 * 'weight_map', elsewhere the path of keys (cut after six), at the top level nothing (the
 * message gives the line and column).
 */
function place(stack: Frame[]): { field?: string; tensor?: string } {
  const top = stack[0];
  if (top?.keys && top.key === 'weight_map' && stack.length >= 2 && stack[1]?.keys && stack[1].key !== undefined) {
    return { tensor: short(stack[1].key), field: 'weight_map' };
  }
  const path: string[] = [];
  for (const f of stack) {
    if (f.keys === null) path.push(`[${f.index}]`);
    else if (f.key !== undefined) path.push(`${path.length > 0 ? '.' : ''}${short(f.key)}`);
    else break;
  }
  if (path.length === 0) return {};
  return { field: path.slice(0, 6).join('') + (path.length > 6 ? '…' : '') };
}

/** "line 3, column 7" of character `at` of `text`. */
function position(text: string, at: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${at - start + 1}`;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// Sticky expressions step over a run of whitespace, or of a string's plain text, in one call.
const SPACE = /[ \t\n\r]*/y;
// A string's plain run stops at its end, an escape, or a control character (which JSON forbids raw).
// eslint-disable-next-line no-control-regex
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Checks `text` against JSON's grammar without recursion, so that every problem has a place:
 * the first syntax error by line and column (and the key it lies under), nesting past
 * MAX_JSON_DEPTH, and a key given twice in one object (JSON.parse keeps the last silently, so a
 * tensor could be listed in two shards). Text that passes is JSON.parse's to read.
 */
function checkJson(file: string, text: string): void {
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new FormatError(`${message}, at ${position(text, at)}`, { file, ...place(stack) });
  };
  const found = () => (i >= n ? 'the text ends' : `found ${JSON.stringify(text[i])}`);
  const space = () => {
    SPACE.lastIndex = i;
    SPACE.test(text);
    i = SPACE.lastIndex;
  };
  const string = (): string => {
    const start = i++;
    let escaped = false;
    for (;;) {
      PLAIN.lastIndex = i;
      PLAIN.test(text);
      i = PLAIN.lastIndex;
      if (i >= n) fail('is not valid JSON: a string is not closed', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('is not valid JSON: a control character in a string (it must be escaped)');
      if (c === 0x5c) {
        escaped = true;
        const e = text[i + 1];
        if (e === 'u' && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('is not valid JSON: a bad escape in a string');
      }
    }
    i++;
    return escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
  };
  const key = (frame: Frame) => {
    // Until the key is read, a problem lies under the object, not under its previous key.
    frame.key = undefined;
    space();
    if (text[i] !== '"') fail(`is not valid JSON: expected a key in double quotes, ${found()}`);
    const at = i;
    const name = string();
    frame.key = name;
    if (frame.keys?.has(name)) {
      if (stack.length === 2 && stack[0]?.key === 'weight_map') fail('is listed more than once in the weight_map', at);
      fail(`key ${preview(name)} appears twice in one object`, at);
    }
    frame.keys?.add(name);
    space();
    if (text[i] !== ':') fail(`is not valid JSON: expected ':' after a key, ${found()}`);
    i++;
  };
  for (;;) {
    // A value is due.
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (stack.length >= MAX_JSON_DEPTH) fail(`JSON nests more than ${MAX_JSON_DEPTH} deep`);
      i++;
      const frame: Frame = { keys: c === '{' ? new Set() : null, key: undefined, index: 0 };
      stack.push(frame);
      space();
      if (text[i] !== (c === '{' ? '}' : ']')) {
        if (frame.keys) key(frame);
        continue;
      }
      i++;
      stack.pop();
    } else if (c === '"') {
      string();
    } else if (c === 't' || c === 'f' || c === 'n') {
      const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      if (!text.startsWith(word, i)) fail(`is not valid JSON: expected a value, ${found()}`);
      i += word.length;
    } else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail(`is not valid JSON: expected a value, ${found()}`);
      i = NUMBER.lastIndex;
    }
    // After a value: a comma, the container's end, or (at the top) the end of the text.
    for (;;) {
      space();
      const frame = stack.at(-1);
      if (!frame) {
        if (i < n) fail(`is not valid JSON: text after the end of the JSON value, ${found()}`);
        return;
      }
      if (text[i] === ',') {
        i++;
        if (frame.keys) key(frame);
        else frame.index++;
        break;
      }
      const close = frame.keys ? '}' : ']';
      if (text[i] !== close) fail(`is not valid JSON: expected ',' or '${close}', ${found()}`);
      i++;
      stack.pop();
    }
  }
}

/**
 * Reads an index from `source` and checks it ({@link parseSafetensorsIndex}): at most 100 MB,
 * UTF-8 (a bad byte is named by its offset).
 */
export async function readSafetensorsIndex(source: ByteSource): Promise<SafetensorsIndex> {
  const file = source.name;
  if (source.size > MAX_INDEX_BYTES) {
    throw new FormatError(`is ${source.size} bytes; an index past ${MAX_INDEX_BYTES} bytes is refused as corrupt`, { file, field: 'file size' });
  }
  const bytes = await source.read(0, source.size);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(`is not valid UTF-8, at byte ${firstInvalidUtf8(bytes)}`, { file });
  }
  return parseSafetensorsIndex(file, text);
}

/**
 * Parses and checks an index's text; every problem names `file` and the field or tensor (a JSON
 * syntax error, its line and column).
 */
export function parseSafetensorsIndex(file: string, text: string): SafetensorsIndex {
  checkJson(file, text);
  const json: unknown = JSON.parse(text);
  if (!isPlainObject(json)) throw new FormatError(`must be a JSON object with a weight_map; got ${preview(json)}`, { file, field: 'weight_map' });
  const { weight_map: map, metadata } = json;
  if (!isPlainObject(map)) {
    throw new FormatError(`must be an object of tensor name → shard file name; got ${preview(map)}`, { file, field: 'weight_map' });
  }
  if (metadata !== undefined && !isPlainObject(metadata)) throw new FormatError(`must be an object; got ${preview(metadata)}`, { file, field: 'metadata' });
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard === '' || /[/\\]/.test(shard) || shard === '.' || shard === '..') {
      throw new FormatError(`must name a file in the index's folder; got ${preview(shard)}`, { file, tensor: short(tensor), field: 'weight_map' });
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
