// The format readers against hostile files: a fixed-seed fuzzing run of bounded size, every saved
// corpus case replayed, and the hostile headers of the issue as explicit cases. Each must be
// rejected with a FormatError naming the file and field (or tensor), in bounded time, with no
// allocation past a small multiple of the file's size (see guard.ts for how that is measured).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeModel } from '../../src/cli/inspect.js';
import { readSafetensors } from '../../src/formats/safetensors.js';
import { check, loadCases } from './corpus.js';
import { AllocationBudgetExceeded, countingSource, DEFAULT_LIMITS, measure } from './guard.js';
import { type FuzzInput, inputsFor, model, READERS, type ReaderSpec, Writer } from './inputs.js';

const [SAFETENSORS, GGUF, INDEX] = READERS as [ReaderSpec, ReaderSpec, ReaderSpec];
/** Far below what any of the hostile headers below declares; above the readers' 64 KiB first read. */
const SMALL = 128 * 1024;

/** A safetensors file: the 8-byte length (the text's own unless given), the header text, `data` zero bytes. */
function st(text: string, data = 0, declared?: bigint): FuzzInput {
  const json = new TextEncoder().encode(text);
  const head = new Uint8Array(8 + json.length + data);
  new DataView(head.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  head.set(json, 8);
  return { head };
}

/** A GGUF v3 file written by `body` after the magic and version, padded with `padding` zero bytes. */
function gguf(body: (w: Writer) => void, padding = 64): FuzzInput {
  const w = new Writer(false);
  w.raw(new TextEncoder().encode('GGUF')).u32(3);
  body(w);
  w.raw(new Uint8Array(padding));
  return { head: Uint8Array.from(w.parts) };
}
const text = (s: string) => new TextEncoder().encode(s);
const V = { UINT8: 0, UINT32: 4, FLOAT32: 6, STRING: 8, ARRAY: 9 };

/** One F32 tensor info: name, dims (ggml order), type, offset. */
function tensorInfo(w: Writer, name: Uint8Array, ne: bigint[], type = 0, offset = 0n): void {
  w.str(name).u32(ne.length);
  for (const d of ne) w.u64(d);
  w.u32(type).u64(offset);
}

async function rejected(reader: ReaderSpec, input: FuzzInput, field: RegExp, message: RegExp) {
  const v = await check(reader, input);
  expect(v.problem).toBeUndefined();
  expect(v.outcome).toBe('rejected');
  expect(v.message).toMatch(new RegExp(`^hostile${reader.extension.replace('.', '\\.')}: `));
  expect(v.message).toMatch(field);
  expect(v.message).toMatch(message);
  expect(v.largestAllocation).toBeLessThan(SMALL);
  return v;
}

describe('the allocation guard', () => {
  // A reader that trusts the header: it allocates what the first 8 bytes declare.
  const naive = (make: (n: number) => unknown) => async (source: { read(o: number, l: number): Promise<Uint8Array> }) => {
    const prefix = await source.read(0, 8);
    make(Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true)));
  };
  const declaring = (n: bigint) => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };

  it('refuses, before it happens, an allocation a header declares: typed arrays, buffers and arrays', async () => {
    for (const make of [(n: number) => new Uint8Array(n), (n: number) => new Float32Array(n / 4), (n: number) => new ArrayBuffer(n), (n: number) => new Array(n)]) {
      // 2 GiB: a size the allocation would really get, so only the guard stands in the way.
      const v = await measure(countingSource('naive.bin', declaring(2n ** 31n)), naive(make));
      expect(v.problem).toMatch(/of \d+ bytes asked for; the budget for this file is \d+ bytes/);
      expect(v.largestAllocation).toBeGreaterThanOrEqual(2 ** 31);
    }
  });

  it('counts an allocation the reader converts into a FormatError as a failure all the same', async () => {
    const v = await measure(countingSource('naive.bin', declaring(2n ** 31n)), async (s) => {
      try {
        await naive((n) => new Uint8Array(n))(s);
      } catch (err) {
        expect(err).toBeInstanceOf(AllocationBudgetExceeded);
        throw new (await import('../../src/errors.js')).FormatError('too big', { file: 'naive.bin', field: 'length' });
      }
    });
    expect(v.problem).toMatch(/asked for; the budget/);
  });

  it('lets a reader allocate within the budget, and flags other exceptions, hangs and unnamed fields', async () => {
    const ok = await measure(countingSource('ok.bin', declaring(1024n)), naive((n) => new Uint8Array(n)));
    expect([ok.problem, ok.outcome, ok.largestAllocation]).toEqual([undefined, 'accepted', 1024]);
    const type = await measure(countingSource('t.bin', new Uint8Array(8)), async () => {
      throw new TypeError('x is undefined');
    });
    expect(type.problem).toMatch(/threw TypeError, not a FormatError/);
    const hang = await measure(countingSource('h.bin', new Uint8Array(8)), () => new Promise(() => {}), { ...DEFAULT_LIMITS, timeMs: 50 });
    expect(hang.problem).toMatch(/no answer within 50 ms/);
    const { FormatError } = await import('../../src/errors.js');
    const vague = await measure(countingSource('v.bin', new Uint8Array(8)), async () => {
      throw new FormatError('something is wrong', { file: 'v.bin' });
    });
    expect(vague.problem).toMatch(/names neither a field, a tensor nor a position/);
  });
});

describe('hostile safetensors headers, each rejected before any large allocation', () => {
  const entry = (shape: string, offsets = '[0,0]', dtype = 'F32') => `{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;

  it('a header length of 2^63 and of 2^64 − 1', async () => {
    await rejected(SAFETENSORS, st('{}', 0, 2n ** 63n), /field 'header length'/, /header length 9223372036854775808 exceeds the limit/);
    await rejected(SAFETENSORS, st('{}', 0, 2n ** 64n - 1n), /field 'header length'/, /exceeds the limit/);
  });

  it('a shape of [2^31, 2^31], and dims whose product overflows 2^53', async () => {
    await rejected(SAFETENSORS, st(`{"w":${entry('[2147483648,2147483648]', '[0,16]')}}`, 16), /tensor 'w': field 'data_offsets'/,
      /needs 18446744073709551616 bytes but data_offsets \[0, 16\] hold 16/);
    await rejected(SAFETENSORS, st(`{"w":${entry('[134217728,134217728]', '[0,4]')}}`, 4), /field 'data_offsets'/, /needs 72057594037927936 bytes/);
  });

  it('a shape of 100 000 huge dims costs no more than a short one', async () => {
    const dims = Array.from({ length: 100_000 }, () => '4503599627370495').join(',');
    const v = await rejected(SAFETENSORS, st(`{"w":${entry(`[${dims}]`)}}`), /tensor 'w': field 'shape'/, /larger than any file/);
    expect(v.message?.length).toBeLessThan(400);
  });

  it('dims past 2^53, negative or fractional, and offsets that wrap or pass 2^53', async () => {
    await rejected(SAFETENSORS, st(`{"w":${entry('[9007199254740993]')}}`), /field 'shape'/, /non-negative integers/);
    await rejected(SAFETENSORS, st(`{"w":${entry('[1]', '[18446744073709551615,4]')}}`, 4), /field 'data_offsets'/, /two non-negative integers/);
    await rejected(SAFETENSORS, st(`{"w":${entry('[1]', '[0,9007199254740996]')}}`, 4), /field 'data_offsets'/, /two non-negative integers/);
    await rejected(SAFETENSORS, st(`{"w":${entry('[2]', '[8,0]', 'U8')}}`, 8), /field 'data_offsets'/, /end before they begin/);
  });

  it('a tensor declared twice, and a key twice inside an entry', async () => {
    await rejected(SAFETENSORS, st(`{"w":${entry('[1]', '[0,4]')},"w":${entry('[1]', '[0,4]')}}`, 4), /tensor 'w'/, /declared more than once/);
    await rejected(SAFETENSORS, st(`{"\\u0077":${entry('[1]', '[0,4]')},"w":${entry('[1]', '[0,4]')}}`, 4), /tensor 'w'/, /declared more than once/);
    await rejected(SAFETENSORS, st('{"w":{"dtype":"F32","dtype":"U8","shape":[4],"data_offsets":[0,4]}}', 4),
      /tensor 'w': field 'header'/, /key "dtype" appears twice/);
    await rejected(SAFETENSORS, st('{"__metadata__":{"a":"1","a":"2"}}'), /field 'header'/, /key "a" appears twice/);
  });

  it('an empty tensor name is named in the message', async () => {
    await rejected(SAFETENSORS, st(`{"":${entry('[1]', '[0,5]')}}`, 5), /tensor '': field 'data_offsets'/, /needs 4 bytes/);
  });

  it('deep JSON: in the metadata, an entry, a shape, and a million levels of arrays', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    await rejected(SAFETENSORS, st(`{"__metadata__":${deep(200)}}`), /field 'header'/, /nests more than 128 deep/);
    await rejected(SAFETENSORS, st(`{"w":${'{"a":'.repeat(300)}1${'}'.repeat(300)}}`), /field 'header'/, /nests more than 128 deep/);
    await rejected(SAFETENSORS, st(`{"w":${entry(deep(1_000_000))}}`), /field 'header'/, /nests more than 128 deep/);
    // Nested within the limit, the message shows a bounded preview of the value.
    const v = await rejected(SAFETENSORS, st(`{"w":${entry(deep(100))}}`), /tensor 'w': field 'shape'/, /non-negative integers/);
    expect(v.message?.length).toBeLessThan(400);
  });

  it('invalid UTF-8: a stray continuation byte, an overlong encoding, a surrogate, a cut sequence', async () => {
    for (const bad of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const json = text('{"w":{}}');
      const input = st(`${' '.repeat(json.length + bad.length)}`);
      input.head.set([...json.subarray(0, 2), ...bad, ...json.subarray(2)], 8);
      await rejected(SAFETENSORS, input, /field 'header'/, /not valid UTF-8/);
    }
  });

  it('inspect of a quantization_config nested 100 000 deep, and of 200 000 tensors', async () => {
    const config = JSON.stringify('['.repeat(100_000) + ']'.repeat(100_000));
    const deep = await check(SAFETENSORS, st(`{"__metadata__":{"quantization_config":${config}}}`));
    expect([deep.problem, deep.outcome]).toEqual([undefined, 'accepted']);
    const many = Array.from({ length: 200_000 }, (_, i) => `"t${i}":${entry('[0]')}`).join(',');
    const file = await readSafetensors(countingSource('many.safetensors', st(`{${many}}`).head));
    expect(describeModel(file)).toMatch(/200000 tensors/);
  });
});

describe('hostile GGUF headers, each rejected before any large allocation', () => {
  it('2^40 tensors, 2^40 metadata pairs', async () => {
    await rejected(GGUF, gguf((w) => w.u64(2n ** 40n).u64(0n)), /field 'tensor_count'/, /tensor count 1099511627776 is absurd/);
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(2n ** 40n)), /field 'kv_count'/, /metadata count 1099511627776 is absurd/);
  });

  it('a string length of 2^63: in a key, a value, a tensor name', async () => {
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(1n).str(text('k'), 2n ** 63n)), /field 'metadata #0 key'/, /string length 9223372036854775808 is absurd/);
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(1n).str(text('k')).u32(V.STRING).str(text('v'), 2n ** 63n)), /field 'k'/, /string length 9223372036854775808/);
    await rejected(GGUF, gguf((w) => w.u64(1n).u64(0n).str(text('t'), 2n ** 63n)), /field 'tensor #0 name'/, /string length 9223372036854775808/);
  });

  it('a shape of [2^31, 2^31], and dims whose product overflows 2^53', async () => {
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), text('w'), [2n ** 31n, 2n ** 31n])), /tensor 'w': field 'ne'/, /too many elements/);
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), text('w'), [2n ** 27n, 2n ** 27n])), /tensor 'w': field 'ne'/, /too many elements/);
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), text('w'), [2n ** 63n])), /tensor 'w': field 'ne'/, /out of range/);
    // Within 2^53 elements but far past the file.
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), text('w'), [2n ** 20n, 2n ** 20n])), /tensor 'w': field 'offset'/, /runs past the end of the file/);
  });

  it('offsets that wrap, or lie past 2^53 or the file', async () => {
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), text('w'), [8n], 0, 2n ** 64n - 32n)), /tensor 'w': field 'offset'/, /out of range/);
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), text('w'), [8n], 0, 2n ** 53n - 32n)), /tensor 'w': field 'offset'/, /past the end of the file/);
  });

  it('duplicate tensor names and keys', async () => {
    await rejected(GGUF, gguf((w) => {
      w.u64(2n).u64(0n);
      tensorInfo(w, text('w'), [8n]);
      tensorInfo(w, text('w'), [8n], 0, 32n);
    }), /tensor 'w'/, /duplicate tensor name/);
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(2n).str(text('k')).u32(V.UINT8).raw([1]).str(text('k')).u32(V.UINT8).raw([2])), /field 'k'/, /duplicate key/);
  });

  it('alignment 0, not a power of two, or so large the data section starts past the end', async () => {
    const align = (a: number) => gguf((w) => w.u64(0n).u64(1n).str(text('general.alignment')).u32(V.UINT32).u32(a));
    await rejected(GGUF, align(0), /field 'general.alignment'/, /0 is not a power of two/);
    await rejected(GGUF, align(48), /field 'general.alignment'/, /48 is not a power of two/);
    await rejected(GGUF, align(2 ** 31), /field 'general.alignment'/, /data section starts at 2147483648 .* past the end of the file/);
  });

  it('arrays of arrays: a huge inner length, nesting past the limit', async () => {
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(1n).str(text('a')).u32(V.ARRAY).u32(V.ARRAY).u64(1n).u32(V.UINT8).u64(2n ** 62n)),
      /field 'a'/, /array length 4611686018427387904 is absurd/);
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(1n).str(text('a')).u32(V.ARRAY).u32(V.ARRAY).u64(2n ** 40n)), /field 'a'/, /array length 1099511627776 is absurd/);
    await rejected(GGUF, gguf((w) => {
      w.u64(0n).u64(1n).str(text('a')).u32(V.ARRAY);
      for (let i = 0; i < 100; i++) w.u32(V.ARRAY).u64(1n);
      w.u32(V.UINT8).u64(0n);
    }), /field 'a'/, /nested more than 64 deep/);
  });

  it('invalid UTF-8 in a key or a tensor name', async () => {
    await rejected(GGUF, gguf((w) => w.u64(0n).u64(1n).str(Uint8Array.from([0x6b, 0xff])).u32(V.UINT8).raw([1])), /field 'metadata #0 key'/, /not valid UTF-8/);
    await rejected(GGUF, gguf((w) => tensorInfo(w.u64(1n).u64(0n), Uint8Array.from([0xed, 0xa0, 0x80]), [8n])), /field 'tensor #0 name'/, /not valid UTF-8/);
  });

  it('a string value with invalid UTF-8 is kept byte for byte', async () => {
    const v = await check(GGUF, gguf((w) => w.u64(0n).u64(1n).str(text('k')).u32(V.STRING).str(Uint8Array.from([0x61, 0xff]))));
    expect([v.problem, v.outcome]).toEqual([undefined, 'accepted']);
  });
});

describe('hostile model indexes, each rejected naming the file and the field, tensor or position', () => {
  // mnist's index as the library writes it, for model-0000{1,2,3}-of-00003.safetensors beside it.
  const realText = new TextDecoder().decode(model((INDEX.seeds[0] as { file: string }).file));
  const real = JSON.parse(realText) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const [first, second] = Object.keys(real.weight_map) as [string, string];
  const index = (s: string): FuzzInput => ({ head: text(s) });
  const withMap = (edit: (map: Record<string, unknown>) => void, metadata: unknown = real.metadata) => {
    const map: Record<string, unknown> = { ...real.weight_map };
    edit(map);
    return index(JSON.stringify({ metadata, weight_map: map }, null, 2));
  };

  it('the real index opens with its shards, and with total_size huge, negative or not a number (it is not used)', async () => {
    for (const total of [real.metadata.total_size, 2 ** 64, -1, '3', null]) {
      const v = await check(INDEX, withMap(() => {}, { total_size: total }));
      expect([total, v.problem, v.outcome]).toEqual([total, undefined, 'accepted']);
    }
    const v = await check(INDEX, index(realText.replace(`"total_size": ${real.metadata.total_size}`, '"total_size": 1e400')));
    expect([v.problem, v.outcome]).toEqual([undefined, 'accepted']);
  });

  it('text that is not JSON: by line and column, and under which key', async () => {
    await rejected(INDEX, index(''), /^hostile\.safetensors\.index\.json: is not valid JSON/, /expected a value, the text ends, at line 1, column 1$/);
    await rejected(INDEX, index('{\n  "weight_map": {\n    "a": "b" "c": "d"'), /: tensor 'a': field 'weight_map': /, /expected ',' or '}', found "\\"", at line 3, column 14$/);
    await rejected(INDEX, index('{"metadata": {"total_size": 1e}}'), /: field 'metadata.total_size': /, /expected ',' or '}', found "e", at line 1, column 30$/);
    await rejected(INDEX, index('{"weight_map": {"a": "b\u0001"}}'), /tensor 'a': field 'weight_map'/, /a control character in a string/);
    await rejected(INDEX, index('{"weight_map": {"a": "b"}} {}'), /^hostile\.safetensors\.index\.json: is not/, /text after the end of the JSON value, found "\{", at line 1, column 28$/);
  });

  it('JSON nested past 128 levels, up to a million, is refused before it is parsed', async () => {
    await rejected(INDEX, index(`{"metadata": ${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`), /field 'metadata\.a\.a\.a\.a\.a…'/, /JSON nests more than 128 deep/);
    const v = await rejected(INDEX, index(`{"weight_map": {"a": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}}`), /tensor 'a': field 'weight_map'/, /JSON nests more than 128 deep/);
    expect(v.message?.length).toBeLessThan(200);
  });

  it('a tensor listed twice (JSON.parse would keep the second silently), and a key twice', async () => {
    const twice = realText.replace(`"${second}": `, `"${first}": "model-00003-of-00003.safetensors",\n    "${second}": `);
    await rejected(INDEX, index(twice), new RegExp(`tensor '${first.replace(/\./g, '\\.')}': field 'weight_map'`), /is listed more than once in the weight_map/);
    await rejected(INDEX, index('{"weight_map": {"a": "b"}, "weight_map": {"c": "d"}}'), /field 'weight_map'/, /key "weight_map" appears twice/);
  });

  it('shard names that leave the folder (relative, absolute, Windows paths) or name none', async () => {
    for (const shard of ['../model-00001-of-00003.safetensors', '../../../../etc/passwd', '/etc/passwd', 'sub/model-00001-of-00003.safetensors',
      'C:\\Windows\\model.safetensors', '\\\\server\\share\\m.safetensors', '..', '.', '']) {
      await rejected(INDEX, withMap((m) => (m[first] = shard)), new RegExp(`tensor '${first.replace(/\./g, '\\.')}': field 'weight_map'`),
        /must name a file in the index's folder/);
    }
  });

  it('weight_map values that are not strings, and an index that is not an object or maps nothing', async () => {
    for (const value of [1, null, true, [], {}, ['model-00001-of-00003.safetensors']]) {
      await rejected(INDEX, withMap((m) => (m[first] = value)), /field 'weight_map'/, /must name a file in the index's folder; got /);
    }
    await rejected(INDEX, index('[]'), /field 'weight_map'/, /must be a JSON object with a weight_map; got \[\]/);
    await rejected(INDEX, index('{"weight_map": []}'), /field 'weight_map'/, /must be an object of tensor name → shard file name/);
    await rejected(INDEX, index('{"weight_map": {}}'), /field 'weight_map'/, /names no tensor/);
    await rejected(INDEX, index('{"metadata": 1, "weight_map": {"a": "b"}}'), /field 'metadata'/, /must be an object; got 1/);
  });

  it('a shard the folder does not hold, and a tensor its shard does not hold', async () => {
    await rejected(INDEX, withMap((m) => (m[first] = 'model-00009-of-00009.safetensors')), /field 'weight_map'/,
      new RegExp(`names shard 'model-00009-of-00009\\.safetensors' \\(for tensor '${first.replace(/\./g, '\\.')}'\\), which is not in the folder`));
    // A name of 5 000 characters is cut short in the message.
    const long = 'x'.repeat(5000);
    const v = await rejected(INDEX, withMap((m) => (m[long] = 'model-00009-of-00009.safetensors')), /field 'weight_map'/, /names shard/);
    expect(v.message?.length).toBeLessThan(400);
    const moved = await check(INDEX, withMap((m) => (m[first] = real.weight_map[second])));
    expect(moved.problem).toBeUndefined();
    expect(moved.message).toMatch(/^model-0000\d-of-00003\.safetensors: tensor '.*': is in this shard's header but hostile\.safetensors\.index\.json places it in/);
  });

  it('invalid UTF-8, named by its byte offset', async () => {
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const at = realText.indexOf(first);
      const head = Uint8Array.from([...text(realText.slice(0, at)), ...bad, ...text(realText.slice(at))]);
      await rejected(INDEX, { head }, /^hostile\.safetensors\.index\.json: is not valid UTF-8/, new RegExp(`at byte ${text(realText.slice(0, at)).length}$`));
    }
  });

  it('an index past 100 MB is refused before it is read; 100 000 entries are read in bounded time', async () => {
    const huge = { name: 'hostile.safetensors.index.json', size: 2 ** 40, bytesRead: 0, read: () => Promise.reject(new Error('read')) };
    const v = await measure(huge, (s) => INDEX.read(s), DEFAULT_LIMITS, INDEX.companions?.names);
    expect([v.problem, v.message]).toEqual([undefined, expect.stringMatching(/field 'file size': is 1099511627776 bytes; an index past 100000000 bytes is refused/)]);
    const many = withMap((m) => {
      for (let i = 0; i < 100_000; i++) m[`model.layers.${i}.weight`] = 'model-00001-of-00003.safetensors';
    });
    const v100k = await check(INDEX, many);
    expect([v100k.problem, v100k.message]).toEqual([undefined,
      "model-00001-of-00003.safetensors: tensor 'model.layers.0.weight': hostile.safetensors.index.json places this tensor here, but the shard's header does not hold it"]);
  });
});

describe('saved corpus cases', () => {
  for (const reader of READERS) {
    const cases = loadCases(reader);
    it.runIf(cases.length > 0)(`${reader.name}: every case in test/fuzz-corpus/${reader.name}/ holds the properties`, async () => {
      for (const c of cases) expect({ path: c.path, problem: (await check(reader, c.input)).problem }).toEqual({ path: c.path, problem: undefined });
    });
  }
});

describe('fixed-seed fuzzing (npm run fuzz runs the same properties longer)', () => {
  for (const reader of READERS) {
    it(`${reader.name}: 3000 mutated and generated files`, async () => {
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(inputsFor(reader), async (input) => {
          const v = await check(reader, input);
          if (v.outcome === 'accepted') accepted++;
          if (v.problem) throw new Error(v.problem);
        }),
        { seed: 20_240_517, numRuns: 3000 },
      );
      // The inputs reach past the first checks: some files are accepted whole.
      expect(accepted).toBeGreaterThan(30);
    });
  }
});
