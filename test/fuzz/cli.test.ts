// Hostile files through the command line, run as a user runs it (dist/cli.js, built by
// `npm run build`): `inspect` and `quantize` exit 0, or exit 1 with a message naming the file and
// the field or tensor (the reader's own message, for a file the reader rejects); a failed
// `quantize` leaves nothing in the output folder. A model index is given with its shards beside it,
// and its output is a folder.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { check, joined } from './corpus.js';
import { PLACE } from './guard.js';
import { type FuzzInput, inputsFor, model, READERS, type ReaderSpec, ROOT, Writer } from './inputs.js';

const CLI = resolve(ROOT, 'dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'wq-fuzz-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Runs inspect and quantize on `input` (in a folder of its own, with `reader`'s companion files
 * beside it but for those in `omit`) and checks the rules; `expected`, the reader's message for
 * an input it rejects, is what inspect must say. Returns the two exit codes and inspect's message.
 */
async function checkCli(
  reader: ReaderSpec, input: FuzzInput, label: string, options: { expected?: string; omit?: string[] } = {},
): Promise<[number | null, number | null, string]> {
  const { extension } = reader;
  const dir = mkdtempSync(join(tmp, 'case-'));
  const inDir = join(dir, 'in');
  mkdirSync(inDir);
  const file = join(inDir, `hostile${extension}`);
  writeFileSync(file, joined(input));
  for (const [name, bytes] of (await reader.companions?.files()) ?? []) {
    if (!options.omit?.includes(name)) writeFileSync(join(inDir, name), bytes);
  }
  const names = [`hostile${extension}`, ...(reader.companions?.names ?? [])];
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  // A model index is quantized into a folder.
  const output = reader.companions ? 'q' : `q${extension}`;
  const inspect = run('inspect', file);
  const quantize = run('quantize', file, '-o', join(outDir, output), '--backend', 'cpu');
  const messages: string[] = [];
  for (const [command, r] of [['inspect', inspect], ['quantize', quantize]] as const) {
    const where = `${label}: ${command}`;
    expect([where, r.signal, r.error?.message]).toEqual([where, null, undefined]);
    expect([where, r.status]).toEqual([where, expect.toBeOneOf([0, 1])]);
    const message = r.stderr.trim().split('\n').at(-1) ?? '';
    messages.push(message);
    if (r.status === 1) {
      const named = new RegExp(`^webgpu-quantizer: ${escape(inDir)}/(${names.map(escape).join('|')}): `);
      expect([where, message, PLACE.test(message)]).toEqual([where, expect.stringMatching(named), true]);
    }
  }
  if (options.expected !== undefined) {
    // The reader's message, with the files named by their paths.
    expect([label, (messages[0] as string).replaceAll(`${inDir}/`, '')]).toEqual([label, `webgpu-quantizer: ${options.expected}`]);
  }
  const left = existsSync(outDir) ? readdirSync(outDir) : [];
  if (quantize.status === 0) expect(left).toContain(output);
  else expect([label, left]).toEqual([label, []]);
  rmSync(dir, { recursive: true, force: true });
  return [inspect.status, quantize.status, messages[0] as string];
}

const text = (s: string) => new TextEncoder().encode(s);

const [SAFETENSORS, GGUF, INDEX] = READERS as [ReaderSpec, ReaderSpec, ReaderSpec];

/** mnist's index, for model-0000{1,2,3}-of-00003.safetensors, with `edit` applied to its text. */
function index(edit: (text: string) => string): FuzzInput {
  return { head: text(edit(new TextDecoder().decode(model((INDEX.seeds[0] as { file: string }).file)))) };
}

/** The hostile headers, as whole files. */
function hostile(): { name: string; reader: ReaderSpec; input: FuzzInput }[] {
  const st = (json: string, data = 0) => {
    const b = text(json);
    const head = new Uint8Array(8 + b.length + data);
    new DataView(head.buffer).setBigUint64(0, BigInt(b.length), true);
    head.set(b, 8);
    return { head };
  };
  const gguf = (body: (w: Writer) => void) => {
    const w = new Writer(false);
    w.raw(text('GGUF')).u32(3);
    body(w);
    w.raw(new Uint8Array(64));
    return { head: Uint8Array.from(w.parts) };
  };
  return [
    { name: 'GGUF: 2^40 tensors', reader: GGUF, input: gguf((w) => w.u64(2n ** 40n).u64(0n)) },
    { name: 'GGUF: a 2^63 string length', reader: GGUF, input: gguf((w) => w.u64(0n).u64(1n).str(text('k'), 2n ** 63n)) },
    { name: 'GGUF: shape [2^31, 2^31]', reader: GGUF, input: gguf((w) => w.u64(1n).u64(0n).str(text('w')).u32(2).u64(2n ** 31n).u64(2n ** 31n).u32(0).u64(0n)) },
    { name: 'GGUF: alignment 2^31', reader: GGUF, input: gguf((w) => w.u64(0n).u64(1n).str(text('general.alignment')).u32(4).u32(2 ** 31)) },
    { name: 'safetensors: shape [2^31, 2^31]', reader: SAFETENSORS, input: st('{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}}', 16) },
    { name: 'safetensors: JSON a million deep', reader: SAFETENSORS, input: st(`{"w":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`) },
    { name: 'safetensors: a tensor declared twice', reader: SAFETENSORS, input: st('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1) },
  ];
}

describe('hostile files through the command line', () => {
  it.each(hostile())('$name: exit 1 naming the file and field, nothing written', async ({ name, reader, input }) => {
    expect((await checkCli(reader, input, name)).slice(0, 2)).toEqual([1, 1]);
  });

  it.each([
    ['a shard named by a path out of the folder', index((t) => t.replace('"model-00002-of-00003.safetensors"', '"../model-00002-of-00003.safetensors"')),
      /tensor '[^']+': field 'weight_map': must name a file in the index's folder; got "\.\.\/model-00002-of-00003\.safetensors"$/],
    ['an absolute shard path', index((t) => t.replace('"model-00001-of-00003.safetensors"', '"/etc/passwd"')), /field 'weight_map': must name a file in the index's folder; got "\/etc\/passwd"$/],
    // The 127th '[' (at column 21 + 127) would be the 129th level, counting the index and its weight_map.
    ['JSON a million deep', { head: text(`{"weight_map": {"a": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}}`) },
      /tensor 'a': field 'weight_map': JSON nests more than 128 deep, at line 1, column 148$/],
    ['a tensor listed twice', index((t) => t.replace('"weight_map": {\n', '"weight_map": {\n    "a": "model-00001-of-00003.safetensors",\n    "a": "model-00002-of-00003.safetensors",\n')),
      /tensor 'a': field 'weight_map': is listed more than once in the weight_map, at line 7, column 5$/],
    ['text that is not JSON', index((t) => t.slice(0, 60)), /is not valid JSON: .*, at line \d+, column \d+$/],
  ])('index, %s: exit 1 naming the index and the field, nothing written', async (name, input, message) => {
    const [inspect, quantize, said] = await checkCli(INDEX, input, name);
    expect([inspect, quantize]).toEqual([1, 1]);
    expect(said).toMatch(/^webgpu-quantizer: .*\/in\/hostile\.safetensors\.index\.json: /);
    expect(said).toMatch(message);
  });

  it('index with a shard missing from the folder (the index itself is sound): exit 1 naming the shard, nothing written', async () => {
    const [inspect, quantize, said] = await checkCli(INDEX, index((t) => t), 'a shard missing', { omit: ['model-00002-of-00003.safetensors'] });
    expect([inspect, quantize]).toEqual([1, 1]);
    expect(said).toMatch(/hostile\.safetensors\.index\.json: field 'weight_map': names shard 'model-00002-of-00003\.safetensors' \(for tensor '[^']+' and \d+ more\), which is not in the folder$/);
  });

  for (const reader of READERS) {
    it(`${reader.name}: mutated and generated files (fixed seed), 3 the reader accepts and 5 it rejects`, async () => {
      // Most hostile files fail in the header; the accepted ones carry quantize on into the data.
      const accepted: FuzzInput[] = [];
      const rejected: { input: FuzzInput; message: string }[] = [];
      for (const input of fc.sample(inputsFor(reader), { seed: 7, numRuns: 400 })) {
        const v = await check(reader, input);
        if (v.outcome === 'accepted') accepted.push(input);
        else rejected.push({ input, message: v.message as string });
      }
      expect(accepted.length).toBeGreaterThanOrEqual(3);
      const codes = [];
      for (const [i, input] of accepted.slice(0, 3).entries()) codes.push(await checkCli(reader, input, `${reader.name} accepted #${i}`));
      for (const [i, { input, message }] of rejected.slice(0, 5).entries()) {
        codes.push(await checkCli(reader, input, `${reader.name} rejected #${i}`, { expected: message }));
      }
      expect(codes.slice(0, 3).map(([inspect]) => inspect)).toEqual([0, 0, 0]);
      expect(codes.slice(3).map(([inspect, quantize]) => [inspect, quantize])).toEqual(Array(5).fill([1, 1]));
    });
  }
});
