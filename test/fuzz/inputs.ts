// Hostile inputs for the format readers: real headers (the bundled models) mutated byte by byte
// and value by value, and files generated from each format's grammar with hostile counts,
// lengths, shapes, offsets and strings. Each reader is one entry of READERS; a new reader joins
// the fuzzing by adding an entry with its seeds and grammar.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describeModel } from '../../src/cli/inspect.js';
import { readGguf } from '../../src/formats/gguf.js';
import { safetensorsIndexJson, shardFileName } from '../../src/formats/index-json.js';
import { type ByteSource, bytesSource } from '../../src/formats/io.js';
import { type ModelFile, modelTensors, readTensorF32Range } from '../../src/formats/model.js';
import { readSafetensors } from '../../src/formats/safetensors.js';
import { openModelFolder } from '../../src/model/folder.js';
import { shardOf } from '../model/folder-fixture.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** One fuzz input: `head` (the part mutated or generated) then `tail` (a real file's untouched rest, or nothing). */
export interface FuzzInput {
  head: Uint8Array;
  /** The bundled model the tail comes from, and where in it the tail starts. */
  base?: { file: string; from: number };
}

export interface ReaderSpec {
  /** The reader's name, also the corpus subfolder and the CLI input's extension. */
  name: string;
  extension: string;
  /** The reader API, then what `inspect` and a first read of tensor data do with what it returns. */
  read(source: ByteSource): Promise<unknown>;
  /** Real files whose headers are mutated: path under the repository, and where the header ends. */
  seeds: { file: string; headerEnd: number }[];
  /** Files generated from the format's grammar. */
  grammar: fc.Arbitrary<Uint8Array>;
  /** A text format: JSON fragments spliced in as well, these and {@link JSON_SNIPPETS}. */
  snippets?: string[];
  /**
   * Files that lie beside the input in its folder (an index's shards), by name; the reader gets
   * them, the CLI finds them, and an error may name one of them rather than the input.
   */
  companions?: { names: string[]; files(): Promise<Map<string, Uint8Array>> };
}

const models = new Map<string, Uint8Array>();

/** A bundled model's bytes (read once), or a file made in memory from one ({@link GENERATED}). */
export function model(file: string): Uint8Array {
  let bytes = models.get(file);
  if (!bytes) {
    bytes = GENERATED.get(file)?.() ?? new Uint8Array(readFileSync(resolve(ROOT, file)));
    models.set(file, bytes);
  }
  return bytes;
}

/** The tail an input continues with: empty, or its base model from `from` on. */
export function tailOf(input: FuzzInput): Uint8Array {
  return input.base ? model(input.base.file).subarray(input.base.from) : new Uint8Array(0);
}

/** After the reader accepts a file: the inspect text, and the first elements of a float tensor. */
async function exercise(file: ModelFile): Promise<void> {
  describeModel(file);
  const tensor = modelTensors(file).find((t) => t.quantizable && t.byteLength > 0);
  if (tensor) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    await readTensorF32Range(file, tensor.name, 0, Math.min(elements, 4096));
  }
}

// ---------------------------------------------------------------------------------------------
// Values that break readers: the edges of 32 and 64 bits, 2^53, and small ones.

const INTERESTING = [
  0n, 1n, 2n, 7n, 8n, 31n, 32n, 33n, 48n, 64n, 127n, 128n, 255n, 256n, 4096n, 65535n, 65536n,
  2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n,
  2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 32n, 2n ** 64n - 1n,
];
const interesting = fc.constantFrom(...INTERESTING);

/** `arb` one time in nine, else null. */
function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

// ---------------------------------------------------------------------------------------------
// Mutations of a real file's header region.

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'int'; at: number; value: bigint; width: 4 | 8 }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'copy'; at: number; from: number; length: number };

/** Text spliced into a safetensors header: JSON fragments that reach the validator's corners. */
const JSON_SNIPPETS = [
  '{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '\\ud800', '0', '-1', '1.5', '1e400', '-0', '9007199254740993',
  '18446744073709551616', '2147483648', '[2147483648,2147483648]', '[[[[[[[[[[[[[[[[', '{"a":{"a":{"a":{"a":',
  '"__metadata__"', '"__proto__"', '"dtype":"F4"', '"dtype":"BF16"', '"shape":[]', '"shape":[0]',
  '"data_offsets":[0,0]', '"data_offsets":[18446744073709551615,0]', 'null', 'true', '\u00e9', '\uffff',
];

function mutationArb(snippets: Uint8Array[] | undefined): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const bytes = snippets
    ? fc.oneof(fc.constantFrom(...snippets), fc.uint8Array({ minLength: 1, maxLength: 8 }))
    : fc.uint8Array({ minLength: 1, maxLength: 16 });
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at, value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('int' as const), at, value: interesting, width: fc.constantFrom(4 as const, 8 as const) }),
    fc.record({ op: fc.constant('insert' as const), at, bytes }),
    fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ op: fc.constant('copy' as const), at, from: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  );
}

function applyMutations(region: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = region.slice();
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'int': {
        if (at + m.width > b.length) break;
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (m.width === 8) view.setBigUint64(at, BigInt.asUintN(64, m.value), true);
        else view.setUint32(at, Number(BigInt.asUintN(32, m.value)), true);
        break;
      }
      case 'insert': {
        const next = new Uint8Array(b.length + m.bytes.length);
        next.set(b.subarray(0, at));
        next.set(m.bytes, at);
        next.set(b.subarray(at), at + m.bytes.length);
        b = next;
        break;
      }
      case 'delete': {
        const next = new Uint8Array(b.length - Math.min(m.length, b.length - at));
        next.set(b.subarray(0, at));
        next.set(b.subarray(at + m.length), at);
        b = next;
        break;
      }
      case 'copy': {
        if (b.length === 0) break;
        const from = m.from % b.length;
        const piece = b.slice(from, from + m.length);
        const next = new Uint8Array(b.length + piece.length);
        next.set(b.subarray(0, at));
        next.set(piece, at);
        next.set(b.subarray(at), at + piece.length);
        b = next;
        break;
      }
    }
  }
  return b;
}

/**
 * Mutations of a seed's header (plus a little data); the rest of the file follows unchanged, or is
 * cut. With `snippets`, JSON fragments are spliced in too.
 */
export function mutated(seed: { file: string; headerEnd: number }, snippets?: Uint8Array[]): fc.Arbitrary<FuzzInput> {
  const bytes = model(seed.file);
  const regionEnd = Math.min(bytes.byteLength, seed.headerEnd + 64);
  return fc.record({
    mutations: fc.array(mutationArb(snippets), { minLength: 1, maxLength: 8 }),
    cut: rarely(fc.nat()),
  }).map(({ mutations, cut }) => {
    const head = applyMutations(bytes.subarray(0, regionEnd), mutations);
    if (cut !== null) {
      // Truncated: the mutated header, then part of the rest of the file.
      const total = head.byteLength + (bytes.byteLength - regionEnd);
      const keep = cut % (total + 1);
      if (keep <= head.byteLength) return { head: head.slice(0, keep) };
      const tail = bytes.subarray(regionEnd, regionEnd + keep - head.byteLength);
      const joined = new Uint8Array(keep);
      joined.set(head);
      joined.set(tail, head.byteLength);
      return { head: joined };
    }
    // A seed mutated whole has no tail: the input stands alone.
    return regionEnd === bytes.byteLength ? { head } : { head, base: { file: seed.file, from: regionEnd } };
  });
}

// ---------------------------------------------------------------------------------------------
// safetensors from its grammar: an 8-byte length, a JSON object written as text (so that keys may
// repeat and numbers may be anything), then data.

const ST_DTYPES = ['F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F4', 'F6_E2M3', 'F8_E4M3', 'C64', 'F12', 'f32', ''];
const ST_SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, U8: 1, BOOL: 1, F4: 0.5, F6_E2M3: 0.75, F8_E4M3: 1, C64: 8 };

const numberText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 9 }).map(String) },
  { weight: 2, arbitrary: interesting.map(String) },
  { weight: 1, arbitrary: fc.constantFrom('-1', '1.5', '1e400', '-0', '1e2', '0.0', '"3"', 'null', '[]', '{}') },
);

/** 'unique' becomes a name no other entry has; the rest may repeat. */
const stName = fc.oneof(
  { weight: 12, arbitrary: fc.constant('unique') },
  { weight: 2, arbitrary: fc.constantFrom('a.weight', 'b.weight', 'c.bias', 'w') },
  { weight: 1, arbitrary: fc.constantFrom('__metadata__', '__proto__', '', 'constructor', '\u00e9\u4e2d', 'x\\u0000y', '\\ud800') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s).slice(1, -1)) },
);

interface StEntry {
  name: string;
  dtype: string;
  dims: string[] | string;
  offsets: 'consistent' | [string, string] | string;
}

const stEntry: fc.Arbitrary<StEntry> = fc.record({
  name: stName,
  dtype: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('F32', 'F16', 'BF16', 'U8') }, { weight: 2, arbitrary: fc.constantFrom(...ST_DTYPES) }),
  dims: fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.integer({ min: 0, max: 6 }).map(String), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.array(numberText, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.constantFrom('[2147483648, 2147483648]', 'null', '"2"', '{}', '[[1,2]]') },
  ),
  offsets: fc.oneof(
    { weight: 6, arbitrary: fc.constant('consistent' as const) },
    { weight: 2, arbitrary: fc.tuple(numberText, numberText) },
    { weight: 1, arbitrary: fc.constantFrom('[0]', '[0,0,0]', 'null', '[-8,0]', '[18446744073709551615, 8]') },
  ),
});

/** JSON nested `depth` deep around `inner`: objects or arrays. */
function nest(depth: number, arrays: boolean, inner: string): string {
  return arrays ? '['.repeat(depth) + inner + ']'.repeat(depth) : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

export const safetensorsGrammar: fc.Arbitrary<Uint8Array> = fc.record({
  entries: fc.array(stEntry, { maxLength: 6 }),
  metadata: fc.option(fc.oneof(
    fc.constant('{"format":"pt"}'),
    fc.constant('{"a":1}'),
    fc.constant('[]'),
    fc.constant('{"quantization_config":"{\\"a\\":[[[[[[[[1]]]]]]]]}"}'),
    fc.constantFrom(100, 20_000).map((d) => `{"quantization_config":${JSON.stringify(nest(d, true, '1'))}}`),
  )),
  deep: rarely(fc.record({
    depth: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 300 }) }, { weight: 1, arbitrary: fc.constant(100_000) }),
    arrays: fc.boolean(),
    where: fc.constantFrom('entry', 'shape', 'offsets', 'metadata'),
  })),
  lengthField: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: interesting }),
  dataDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -16, max: 16 }) }),
  badUtf8: rarely(fc.tuple(fc.nat(), fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]))),
  padding: fc.constantFrom('', ' ', '       '),
}).map(({ entries, metadata, deep, lengthField, dataDelta, badUtf8, padding }) => {
  const parts: string[] = [];
  if (metadata !== null) parts.push(`"__metadata__":${deep?.where === 'metadata' ? nest(deep.depth, deep.arrays, metadata) : metadata}`);
  let offset = 0;
  for (const [i, e] of entries.entries()) {
    // Nesting goes into the first entry only: one deep spot is enough, many make the run slow.
    const nested = i === 0 ? deep : null;
    const dims = typeof e.dims === 'string' ? e.dims : `[${e.dims.join(',')}]`;
    let offsets: string;
    if (e.offsets === 'consistent') {
      // What the dims say if they are sane numbers, at most 4096 elements: hostile dims get a small tensor.
      const count = typeof e.dims === 'string' ? 1 : e.dims.reduce((n, d) => n * Math.max(0, Math.min(Number(d) || 0, 4096)), 1);
      const bytes = Math.ceil(Math.min(count, 4096) * (ST_SIZES[e.dtype] ?? 1));
      offsets = `[${offset},${offset + bytes}]`;
      offset += bytes;
    } else {
      offsets = typeof e.offsets === 'string' ? e.offsets : `[${e.offsets[0]},${e.offsets[1]}]`;
    }
    const shape = nested?.where === 'shape' ? nest(nested.depth, nested.arrays, dims) : dims;
    const dataOffsets = nested?.where === 'offsets' ? nest(nested.depth, nested.arrays, offsets) : offsets;
    const body = `{"dtype":${JSON.stringify(e.dtype)},"shape":${shape},"data_offsets":${dataOffsets}}`;
    const name = e.name === 'unique' ? `t${i}.weight` : e.name;
    parts.push(`"${name}":${nested?.where === 'entry' ? nest(nested.depth, nested.arrays, body) : body}`);
  }
  let json = new TextEncoder().encode(`{${parts.join(',')}}${padding}`);
  if (badUtf8 !== null) {
    const [at, bad] = badUtf8;
    const i = json.length === 0 ? 0 : at % json.length;
    json = Uint8Array.from([...json.subarray(0, i), ...bad, ...json.subarray(i)]);
  }
  const dataLength = Math.max(0, offset + dataDelta);
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, lengthField === undefined ? BigInt(json.length) : BigInt.asUintN(64, lengthField), true);
  out.set(json, 8);
  return out;
});

// ---------------------------------------------------------------------------------------------
// GGUF from its grammar: magic, version, counts, typed key/value pairs (arrays nest), tensor infos,
// padding and data. Counts, lengths, dims and offsets are sometimes hostile.

const GV = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 };
const SCALAR_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** GGUF bytes written by hand. */
export class Writer {
  parts: number[] = [];
  constructor(readonly v1: boolean) {}
  raw(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i] as number);
    return this;
  }
  u32(v: number | bigint) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, Number(BigInt.asUintN(32, BigInt(v))), true);
    return this.raw(b);
  }
  u64(v: number | bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    return this.raw(b);
  }
  /** A count or length: 32 bits in v1, 64 since. */
  len(v: number | bigint) {
    return this.v1 ? this.u32(v) : this.u64(v);
  }
  str(s: Uint8Array, declared?: bigint) {
    return this.len(declared ?? s.length).raw(s);
  }
}

type GgufString = { bytes: Uint8Array; declared: bigint | undefined };

const ggufString: fc.Arbitrary<GgufString> = fc.record({
  bytes: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('general.architecture', 'general.alignment', 'a.weight', 'b.weight', 'k', 'tok').map((s) => new TextEncoder().encode(s)) },
    { weight: 1, arbitrary: fc.constantFrom([], [0xff], [0xc0, 0x80], [0x61, 0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]).map((b) => Uint8Array.from(b)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
  ),
  declared: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: interesting }),
});

interface GgufValueSpec {
  type: number;
  /** Scalars: bytes; strings: a string; arrays: the item type, a declared length and items. */
  scalar?: Uint8Array;
  string?: GgufString;
  array?: { itemType: number; declared: bigint | undefined; items: GgufValueSpec[] };
}

const scalarType = fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12);
const { value: ggufValue } = fc.letrec<{ value: GgufValueSpec }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarType.chain((type) => fc.uint8Array({ minLength: SCALAR_BYTES[type] as number, maxLength: SCALAR_BYTES[type] as number }).map((scalar) => ({ type, scalar }))),
    ggufString.map((string) => ({ type: GV.STRING, string })),
    fc.record({
      itemType: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.values(GV)) }, { weight: 1, arbitrary: fc.constantFrom(13, 99, 2 ** 31) }),
      declared: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: interesting }),
      items: fc.array(tie('value'), { maxLength: 4 }),
    }).map(({ itemType, declared, items }) => ({
      type: GV.ARRAY,
      // Only items of the declared type are written; a declared length may still lie.
      array: { itemType, declared, items: items.filter((i) => i.type === itemType) },
    })),
    fc.constantFrom(13, 99, 2 ** 32 - 1).map((type) => ({ type })),
  ),
}));

function writeValue(w: Writer, v: GgufValueSpec): void {
  if (v.scalar) w.raw(v.scalar);
  else if (v.string) w.str(v.string.bytes, v.string.declared);
  else if (v.array) {
    w.u32(v.array.itemType).len(v.array.declared ?? v.array.items.length);
    for (const item of v.array.items) writeValue(w, item);
  }
}

/** Arrays of arrays `depth` deep, each holding one item, around a u8 array of `leaf` items. */
function nestedArrays(w: Writer, depth: number, leaf: bigint): void {
  for (let i = 0; i < depth; i++) w.u32(GV.ARRAY).len(1);
  w.u32(GV.UINT8).len(leaf);
}

interface TensorSpec {
  name: GgufString;
  nDims: number;
  ne: bigint[];
  type: number;
  offset: bigint | 'next';
}

const dim = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(1n, 2n, 3n, 32n, 64n) }, { weight: 2, arbitrary: interesting });
const tensorSpec: fc.Arbitrary<TensorSpec> = fc.record({
  name: ggufString,
  nDims: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(5, 2 ** 31, 2 ** 32 - 1) }),
  ne: fc.array(dim, { minLength: 0, maxLength: 5 }),
  type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 8, 2, 30) }, { weight: 1, arbitrary: fc.constantFrom(4, 39, 2 ** 31) }),
  offset: fc.oneof({ weight: 6, arbitrary: fc.constant('next' as const) }, { weight: 1, arbitrary: interesting }),
});

const TYPE_BYTES: Record<number, [number, number]> = { 0: [1, 4], 1: [1, 2], 8: [32, 34], 2: [32, 18], 30: [1, 2] };

export const ggufGrammar: fc.Arbitrary<Uint8Array> = fc.record({
  magic: fc.oneof({ weight: 20, arbitrary: fc.constant('GGUF') }, { weight: 1, arbitrary: fc.constantFrom('GGUX', 'FUGG', 'GGU') }),
  version: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(1, 2, 3) }, { weight: 1, arbitrary: fc.constantFrom(0, 4, 0x03000000, 2 ** 32 - 1) }),
  tensorCount: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: interesting }),
  kvCount: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: interesting }),
  kvs: fc.array(fc.record({ key: ggufString, value: ggufValue }), { maxLength: 5 }),
  alignment: fc.option(fc.record({ type: fc.oneof({ weight: 8, arbitrary: fc.constant(GV.UINT32) }, { weight: 1, arbitrary: fc.constantFrom(GV.UINT64, GV.INT32, GV.STRING) }), value: fc.oneof(fc.constantFrom(0n, 1n, 3n, 8n, 32n, 48n, 64n, 4096n), interesting) })),
  nested: rarely(fc.record({ depth: fc.integer({ min: 1, max: 100 }), leaf: fc.oneof(fc.constantFrom(0n, 1n, 4n), interesting) })),
  tensors: fc.array(tensorSpec, { maxLength: 4 }),
  dataDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -40, max: 40 }) }),
}).map((g) => {
  const v1 = g.version === 1;
  const w = new Writer(v1);
  w.raw(new TextEncoder().encode(g.magic)).u32(g.version);
  const kvTotal = g.kvs.length + (g.alignment ? 1 : 0) + (g.nested ? 1 : 0);
  w.len(g.tensorCount ?? BigInt(g.tensors.length)).len(g.kvCount ?? BigInt(kvTotal));
  let alignment = 32;
  if (g.alignment) {
    w.str(new TextEncoder().encode('general.alignment')).u32(g.alignment.type);
    if (g.alignment.type === GV.UINT64) w.u64(g.alignment.value);
    else if (g.alignment.type === GV.STRING) w.str(new TextEncoder().encode('32'));
    else w.u32(g.alignment.value);
    const a = Number(BigInt.asUintN(32, g.alignment.value));
    if (g.alignment.type === GV.UINT32 && a > 0 && a <= 4096 && (a & (a - 1)) === 0) alignment = a;
  }
  if (g.nested) {
    w.str(new TextEncoder().encode('nested')).u32(GV.ARRAY);
    nestedArrays(w, g.nested.depth, g.nested.leaf);
    for (let i = 0; i < Math.min(Number(g.nested.leaf), 16); i++) w.raw([i]);
  }
  for (const kv of g.kvs) {
    w.str(kv.key.bytes, kv.key.declared).u32(kv.value.type);
    writeValue(w, kv.value);
  }
  let next = 0;
  for (const t of g.tensors) {
    w.str(t.name.bytes, t.name.declared).u32(t.nDims);
    const ne = t.ne.slice(0, Math.min(t.nDims, 5));
    for (const d of ne) w.len(d);
    w.u32(t.type);
    const [block, bytes] = TYPE_BYTES[t.type] ?? [1, 1];
    const elements = ne.reduce((a, b) => a * b, 1n);
    const size = elements > 4096n ? 4096 : Math.ceil((Number(elements) / block) * bytes);
    w.u64(t.offset === 'next' ? BigInt(next) : t.offset);
    next += Math.ceil(size / alignment) * alignment;
  }
  const padded = Math.ceil(w.parts.length / alignment) * alignment;
  w.raw(new Uint8Array(padded - w.parts.length));
  w.raw(new Uint8Array(Math.max(0, next + g.dataDelta)));
  return Uint8Array.from(w.parts);
});

// ---------------------------------------------------------------------------------------------
// model.safetensors.index.json beside its shards: two bundled models, each split into shards by the
// library's own writers (an index as transformers writes one, shards written by writeSafetensors),
// all shards in one folder with the hostile index. Mutated: the two real indexes. Generated: an
// index built from a real one with entries dropped, repeated, moved to hostile shard names or
// non-string values, plus deep nesting, hostile total_size, many entries and broken text.

interface Sharding {
  model: string;
  prefix: string;
  count: number;
}
const SHARDINGS: Sharding[] = [
  { model: 'models/mnist.safetensors', prefix: 'model', count: 3 },
  { model: 'models/silero_vad_16k.safetensors', prefix: 'silero', count: 2 },
];

/** A bundled model's tensors in data order, and the bytes they hold, from its header read directly. */
function tensorsOf(file: string): { names: string[]; total: number } {
  const bytes = model(file);
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, { data_offsets: [number, number] }>;
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__').sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0]);
  return { names: entries.map(([name]) => name), total: entries.reduce((n, [, e]) => n + e.data_offsets[1] - e.data_offsets[0], 0) };
}

/** Shard file name → its tensors: the model's tensors dealt round-robin, so each shard holds a mix. */
function layout(s: Sharding): [string, string[]][] {
  const shards: [string, string[]][] = Array.from({ length: s.count }, (_, i) => [shardFileName(s.prefix, i, s.count), []]);
  tensorsOf(s.model).names.forEach((name, i) => shards[i % s.count]?.[1].push(name));
  return shards;
}

const indexSeed = (s: Sharding) => `generated/${s.prefix}.safetensors.index.json`;

/** Files made in memory, by name: the real indexes the index seeds are. */
const GENERATED = new Map<string, () => Uint8Array>(SHARDINGS.map((s) => [
  indexSeed(s), () => new TextEncoder().encode(safetensorsIndexJson(tensorsOf(s.model).total, layout(s))),
]));

let shardFiles: Promise<Map<string, Uint8Array>> | undefined;

/** Every shard of every sharding, by file name (written once). */
function indexShards(): Promise<Map<string, Uint8Array>> {
  shardFiles ??= (async () => {
    const out = new Map<string, Uint8Array>();
    for (const s of SHARDINGS) {
      const bytes = model(s.model);
      const file = await readSafetensors(bytesSource(bytes, s.model));
      for (const [name, tensors] of layout(s)) out.set(name, await shardOf(bytes, file, tensors));
    }
    return out;
  })();
  return shardFiles;
}

const SHARD_NAMES = SHARDINGS.flatMap((s) => layout(s).map(([name]) => name));

/** Shard names that must be refused or not found: paths out of the folder, the index itself, none. */
const HOSTILE_SHARDS = [
  '../model-00001-of-00003.safetensors', '../../../../etc/passwd', '/etc/passwd', '/tmp/model-00001-of-00003.safetensors',
  'sub/model-00001-of-00003.safetensors', './model-00001-of-00003.safetensors', '..\\model-00001-of-00003.safetensors',
  'C:\\Windows\\model.safetensors', 'C:model-00001-of-00003.safetensors', '\\\\server\\share\\model.safetensors', '..', '.', '',
  'model-00009-of-00009.safetensors', 'hostile.safetensors.index.json', 'model.safetensors', 'model-00001-of-00003.safetensors\u0000.txt',
  'MODEL-00001-OF-00003.SAFETENSORS', 'model-00001-of-00003.safetensors ', 'x'.repeat(5000),
];
/** weight_map values that are not strings. */
const NON_STRINGS = ['1', '-1', '1e400', 'null', 'true', '[]', '{}', '["model-00001-of-00003.safetensors"]', '{"file":"model-00001-of-00003.safetensors"}'];
/** Tensor names no model here holds, and names that trip up a JS object. */
const ODD_TENSORS = ['', '__proto__', 'constructor', 'toString', '0', '4294967295', 'é中', '\ud800', 'a\u0000b', 'x'.repeat(5000)];

type IndexEdit =
  | { op: 'drop'; at: number }
  | { op: 'repeat'; at: number; shard: number }
  | { op: 'shard'; at: number; value: string }
  | { op: 'rename'; at: number; name: string };

const indexEdit: fc.Arbitrary<IndexEdit> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), shard: fc.nat() }),
  fc.record({
    op: fc.constant('shard' as const),
    at: fc.nat(),
    value: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...SHARD_NAMES).map((n) => JSON.stringify(n)) },
      { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_SHARDS).map((n) => JSON.stringify(n)) },
      { weight: 2, arbitrary: fc.constantFrom(...NON_STRINGS) },
    ),
  }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), name: fc.oneof(fc.constantFrom(...ODD_TENSORS), fc.string({ maxLength: 6 })) }),
);

/** `metadata`'s text: transformers' total_size, hostile ones, other keys, or not an object. */
const indexMetadata = fc.oneof(
  { weight: 4, arbitrary: fc.constant('real') },
  { weight: 2, arbitrary: numberText.map((n) => `{"total_size":${n}}`) },
  { weight: 1, arbitrary: fc.constantFrom('{}', '[]', 'null', '"pt"', '1', '{"total_size":1,"total_size":2}', '{"format":"pt","total_size":"3"}', '{"total_size":1e999999}') },
);

export const indexGrammar: fc.Arbitrary<Uint8Array> = fc.record({
  sharding: fc.constantFrom(...SHARDINGS),
  /** Which entries: the real map (shuffled), edited, or many made-up ones. */
  edits: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 5, arbitrary: fc.array(indexEdit, { minLength: 1, maxLength: 4 }) }),
  shuffle: fc.nat(),
  // 20 000 entries (a large model's index, 1 MB) cost a fifth of a second: rarely. The explicit
  // cases (readers.test.ts) try 100 000.
  many: rarely(fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 100, max: 2000 }) }, { weight: 1, arbitrary: fc.constant(20_000) })),
  metadata: fc.option(indexMetadata, { freq: 6 }),
  top: fc.oneof(
    { weight: 20, arbitrary: fc.constant('object') },
    { weight: 1, arbitrary: fc.constantFrom('', '[]', 'null', '"weight_map"', '1', 'true', '{}', '{"weight_map":null}', '{"weight_map":[]}', '{"weight_map":{}}') },
  ),
  extra: rarely(fc.constantFrom('"weight_map":{}', '"metadata":{}', '"__proto__":{"weight_map":{}}', '"format":"pt"', '"weight_map":{"a":"b"}')),
  deep: rarely(fc.record({
    depth: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 300 }) }, { weight: 1, arbitrary: fc.constant(100_000) }),
    arrays: fc.boolean(),
    where: fc.constantFrom('metadata', 'value', 'top'),
  })),
  badUtf8: rarely(fc.tuple(fc.nat(), fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf]))),
  bom: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  pretty: fc.boolean(),
}).map((g) => {
  const shards = layout(g.sharding);
  let entries: [string, string][] = shards.flatMap(([shard, tensors]) => tensors.map((t): [string, string] => [JSON.stringify(t), JSON.stringify(shard)]));
  // A rotation and a reversal: an order unlike the shards', cheaply.
  const r = g.shuffle % entries.length;
  entries = [...entries.slice(r), ...entries.slice(0, r)];
  if (g.shuffle % 2 === 1) entries.reverse();
  for (const e of g.edits) {
    if (entries.length === 0) break;
    const at = e.at % entries.length;
    const [name, shard] = entries[at] as [string, string];
    if (e.op === 'drop') entries.splice(at, 1);
    else if (e.op === 'repeat') entries.push([name, JSON.stringify(SHARD_NAMES[e.shard % SHARD_NAMES.length])]);
    else if (e.op === 'shard') entries[at] = [name, e.value];
    else entries[at] = [JSON.stringify(e.name), shard];
  }
  if (g.many !== null) {
    const shard = entries[0]?.[1] ?? '"model-00001-of-00003.safetensors"';
    for (let i = 0; i < g.many; i++) entries.push([`"t${i}.weight"`, shard]);
  }
  const nl = g.pretty ? '\n' : '';
  const indent = g.pretty ? '  ' : '';
  const value = (v: string, i: number) => (g.deep?.where === 'value' && i === 0 ? nest(g.deep.depth, g.deep.arrays, v) : v);
  const map = `{${nl}${entries.map(([n, v], i) => `${indent}${indent}${n}: ${value(v, i)}`).join(`,${nl}`)}${nl}${indent}}`;
  let text: string;
  if (g.top === 'object') {
    const parts: string[] = [];
    if (g.metadata !== null) {
      const m = g.metadata === 'real' ? `{"total_size":${tensorsOf(g.sharding.model).total}}` : g.metadata;
      parts.push(`"metadata": ${g.deep?.where === 'metadata' ? nest(g.deep.depth, g.deep.arrays, m) : m}`);
    }
    parts.push(`"weight_map": ${map}`);
    if (g.extra !== null) parts.push(g.extra);
    if (g.deep?.where === 'top') parts.push(`"deep": ${nest(g.deep.depth, g.deep.arrays, '1')}`);
    text = `{${nl}${parts.map((p) => indent + p).join(`,${nl}`)}${nl}}${nl}`;
  } else {
    text = g.top;
  }
  let bytes = new TextEncoder().encode((g.bom ? '\ufeff' : '') + text);
  if (g.badUtf8 !== null) {
    const [at, bad] = g.badUtf8;
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    bytes = Uint8Array.from([...bytes.subarray(0, i), ...bad, ...bytes.subarray(i)]);
  }
  return bytes;
});

/** Text spliced into an index: its keys, shard names (real and hostile) and a real tensor name. */
const INDEX_SNIPPETS = [
  '"weight_map"', '"metadata"', '"total_size"', '{"weight_map":', '"model-00002-of-00003.safetensors"', '"silero-00001-of-00002.safetensors"',
  '"../model-00001-of-00003.safetensors"', '"/etc/passwd"', '"C:\\\\x.safetensors"', '"fc1.weight"', '\\/', '\ufeff',
];

// ---------------------------------------------------------------------------------------------

const GGUF_HEADER_END = 14176; // stories260K.gguf's data offset (readGguf on the unmodified file)

export const READERS: ReaderSpec[] = [
  {
    name: 'safetensors',
    extension: '.safetensors',
    read: async (source) => exercise(await readSafetensors(source)),
    seeds: [
      { file: 'models/mnist.safetensors', headerEnd: 8 + 1520 },
      { file: 'models/silero_vad_16k.safetensors', headerEnd: 8 + 1208 },
    ],
    grammar: safetensorsGrammar,
    snippets: [],
  },
  {
    name: 'gguf',
    extension: '.gguf',
    read: async (source) => exercise(await readGguf(source)),
    seeds: [{ file: 'models/stories260K.gguf', headerEnd: GGUF_HEADER_END }],
    grammar: ggufGrammar,
  },
  {
    // The index opened as a folder is: beside the shards, each checked against it, then read.
    name: 'index',
    extension: '.safetensors.index.json',
    read: async (source) => {
      const shards = [...(await indexShards())].map(([path, bytes]) => ({ path, source: bytesSource(bytes, path) }));
      await exercise((await openModelFolder('hostile', [{ path: source.name, source }, ...shards])).model);
    },
    seeds: SHARDINGS.map((s) => ({ file: indexSeed(s), headerEnd: model(indexSeed(s)).byteLength })),
    grammar: indexGrammar,
    snippets: INDEX_SNIPPETS,
    companions: { names: SHARD_NAMES, files: indexShards },
  },
];

/** Every input a reader is fuzzed with: mutated seeds (bytes, and text for JSON formats) and its grammar. */
export function inputsFor(reader: ReaderSpec): fc.Arbitrary<FuzzInput> {
  const snippets = reader.snippets && [...JSON_SNIPPETS, ...reader.snippets].map((s) => new TextEncoder().encode(s));
  return fc.oneof(
    ...reader.seeds.map((s) => mutated(s)),
    ...(snippets ? reader.seeds.map((s) => mutated(s, snippets)) : []),
    reader.grammar.map((head): FuzzInput => ({ head })),
  );
}
