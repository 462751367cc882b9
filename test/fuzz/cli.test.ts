// Hostile files through the command line, run as a user runs it (dist/cli.js, built by
// `npm run build`): `inspect` and `quantize` exit 0, or exit 1 with a message naming the file and
// the field or tensor; a failed `quantize` leaves nothing in the output folder.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { check, joined } from './corpus.js';
import { type FuzzInput, inputsFor, READERS, ROOT, Writer } from './inputs.js';

const CLI = resolve(ROOT, 'dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'wq-fuzz-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Runs inspect and quantize on `input` and checks the rules; returns the two exit codes. */
function checkCli(extension: string, input: FuzzInput, label: string): [number | null, number | null] {
  const dir = mkdtempSync(join(tmp, 'case-'));
  const file = join(dir, `hostile${extension}`);
  writeFileSync(file, joined(input));
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  const inspect = run('inspect', file);
  const quantize = run('quantize', file, '-o', join(outDir, `q${extension}`), '--backend', 'cpu');
  for (const [command, r] of [['inspect', inspect], ['quantize', quantize]] as const) {
    const where = `${label}: ${command}`;
    expect([where, r.signal, r.error?.message]).toEqual([where, null, undefined]);
    expect([where, r.status]).toEqual([where, expect.toBeOneOf([0, 1])]);
    if (r.status === 1) {
      const message = r.stderr.trim().split('\n').at(-1) ?? '';
      expect([where, message]).toEqual([where, expect.stringMatching(new RegExp(`^webgpu-quantizer: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(field|tensor) '`))]);
    }
  }
  const left = existsSync(outDir) ? readdirSync(outDir) : [];
  if (quantize.status === 0) expect(left).toContain(`q${extension}`);
  else expect([label, left]).toEqual([label, []]);
  rmSync(dir, { recursive: true, force: true });
  return [inspect.status, quantize.status];
}

const text = (s: string) => new TextEncoder().encode(s);

/** The hostile headers, as whole files. */
function hostile(): { name: string; extension: string; input: FuzzInput }[] {
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
    { name: 'GGUF: 2^40 tensors', extension: '.gguf', input: gguf((w) => w.u64(2n ** 40n).u64(0n)) },
    { name: 'GGUF: a 2^63 string length', extension: '.gguf', input: gguf((w) => w.u64(0n).u64(1n).str(text('k'), 2n ** 63n)) },
    { name: 'GGUF: shape [2^31, 2^31]', extension: '.gguf', input: gguf((w) => w.u64(1n).u64(0n).str(text('w')).u32(2).u64(2n ** 31n).u64(2n ** 31n).u32(0).u64(0n)) },
    { name: 'GGUF: alignment 2^31', extension: '.gguf', input: gguf((w) => w.u64(0n).u64(1n).str(text('general.alignment')).u32(4).u32(2 ** 31)) },
    { name: 'safetensors: shape [2^31, 2^31]', extension: '.safetensors', input: st('{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}}', 16) },
    { name: 'safetensors: JSON a million deep', extension: '.safetensors', input: st(`{"w":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`) },
    { name: 'safetensors: a tensor declared twice', extension: '.safetensors', input: st('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1) },
  ];
}

describe('hostile files through the command line', () => {
  it.each(hostile())('$name: exit 1 naming the file and field, nothing written', ({ name, extension, input }) => {
    expect(checkCli(extension, input, name)).toEqual([1, 1]);
  });

  for (const reader of READERS) {
    it(`${reader.name}: mutated and generated files (fixed seed), 3 the reader accepts and 5 it rejects`, async () => {
      // Most hostile files fail in the header; the accepted ones carry quantize on into the data.
      const accepted: FuzzInput[] = [];
      const rejected: FuzzInput[] = [];
      for (const input of fc.sample(inputsFor(reader), { seed: 7, numRuns: 400 })) {
        const pile = (await check(reader, input)).outcome === 'accepted' ? accepted : rejected;
        pile.push(input);
      }
      expect(accepted.length).toBeGreaterThanOrEqual(3);
      const codes = [...accepted.slice(0, 3), ...rejected.slice(0, 5)].map((input, i) => checkCli(reader.extension, input, `${reader.name} #${i}`));
      expect(codes.slice(0, 3).map(([inspect]) => inspect)).toEqual([0, 0, 0]);
      expect(codes.slice(3).map(([inspect, quantize]) => [inspect, quantize])).toEqual(Array(5).fill([1, 1]));
    });
  }
});
