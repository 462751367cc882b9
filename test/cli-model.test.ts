// The command-line tool on real model files, run as a user runs it (dist/cli.js).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { adapterFacts, releaseDevice } from '../src/index.js';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');
const GGUF = resolve(import.meta.dirname, '../models/stories260K.gguf');
const SAFETENSORS = resolve(import.meta.dirname, '../models/mnist.safetensors');

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wq-cli-'));
});

describe('quantize: GGUF', () => {
  it('writes Q8_0 by default, keeps norms in F32, falls back to F16 for rows of 172, and prints the report', () => {
    const out = join(dir, 'q8.gguf');
    const r = run('quantize', GGUF, '-o', out, '--backend', 'cpu');
    expect(r.status).toBe(0);
    // Without a terminal, one plain line per tensor as it starts, in order.
    const lines = r.stderr.split('\n').filter((l) => /\[\d+\/48\]/.test(l));
    expect(lines.length).toBe(48);
    expect(lines[0]).toMatch(/\[1\/48\] token_embd\.weight$/);
    expect(lines[47]).toMatch(/\[48\/48\] blk\.4\.ffn_norm\.weight$/);
    expect(r.stdout).toMatch(/Q8_0/);
    expect(r.stdout).toMatch(/32 of 48 tensors quantized \(ggml int8 symmetric group 32\), backend cpu/);
    expect(r.stdout).toMatch(/ratio \d+\.\d\d×/);
    const inspect = run('inspect', out);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toMatch(/general.file_type = 7/);
    // stories260K: 37 matrices, of which the 5 ffn_down have rows of 172 (F16), and 11 norms.
    expect(inspect.stdout).toMatch(/Q8_0 × 32/);
    expect(inspect.stdout).toMatch(/F16 × 5/);
    expect(inspect.stdout).toMatch(/F32 × 11/);
  });

  it('Q4_0 falls back to F16 for rows that are not a multiple of 32, and says so', () => {
    const out = join(dir, 'q4.gguf');
    const r = run('quantize', GGUF, '-o', out, '--dtype', 'int4', '--backend', 'cpu');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/blk\.0\.ffn_down\.weight .*f16-fallback \(rows of 172 are not a multiple of 32\)/);
    expect(run('inspect', out).stdout).toMatch(/general.file_type = 2/);
  });

  it('--backend webgpu --verify checks every tensor against the CPU reference, and --report writes JSON', () => {
    const out = join(dir, 'v.gguf');
    const report = join(dir, 'report.json');
    const r = run('quantize', GGUF, '-o', out, '--backend', 'webgpu', '--verify', '--report', report);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/verify: all 32 quantized tensors bit-identical to the CPU reference/);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { backend: string; tensors: { name: string; sqnrDb?: number }[] };
    expect(json.backend).toBe('webgpu');
    expect(json.tensors.length).toBe(48);
  });

  it('--backend auto (the default) says which backend it chose and why', async () => {
    const r = run('quantize', GGUF, '-o', join(dir, 'auto.gguf'));
    expect(r.status).toBe(0);
    const facts = await adapterFacts();
    await releaseDevice();
    if (facts.isFallback) {
      // SwiftShader (CI): a software fallback, so auto picks the CPU and says so.
      expect(r.stderr).toMatch(/backend: cpu \(the only WebGPU adapter, .*, is a software fallback that emulates a GPU on these same cores; the fast CPU engine, on every core, is faster; --backend webgpu uses the adapter anyway\)/);
      expect(r.stdout).toMatch(/backend cpu/);
    } else {
      expect(r.stderr).toMatch(/backend: webgpu \(/);
    }
  });

  it('a scheme the format cannot take fails before anything is written (exit 2)', () => {
    const gguf = run('quantize', GGUF, '-o', join(dir, 'a.gguf'), '--asymmetric', '--backend', 'cpu');
    expect([gguf.status, gguf.stderr]).toEqual([2, expect.stringMatching(/ggml profile supports only Q8_0 and Q4_0, which are symmetric/)]);
    const st = run('quantize', SAFETENSORS, '-o', join(dir, 'b.safetensors'), '--granularity', 'channel', '--block-size', '64', '--backend', 'cpu');
    expect([st.status, st.stderr]).toEqual([2, expect.stringMatching(/blockSize applies only to group granularity/)]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an existing --report file is refused before any work, and nothing is written', () => {
    const report = join(dir, 'r.json');
    writeFileSync(report, 'old');
    const r = run('quantize', GGUF, '-o', join(dir, 'new.gguf'), '--report', report, '--backend', 'cpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/r\.json: already exists/);
    expect(readdirSync(dir)).toEqual(['r.json']);
    expect(readFileSync(report, 'utf8')).toBe('old');
  });

  it('refuses to overwrite an existing output unless --force', () => {
    const out = join(dir, 'exists.gguf');
    writeFileSync(out, 'precious');
    const r = run('quantize', GGUF, '-o', out, '--backend', 'cpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already exists; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    expect(run('quantize', GGUF, '-o', out, '--backend', 'cpu', '--force').status).toBe(0);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('GGUF');
  });

  it('a truncated input fails with a named error and leaves no output behind', () => {
    const bad = join(dir, 'truncated.gguf');
    writeFileSync(bad, readFileSync(GGUF).subarray(0, 600_000));
    const out = join(dir, 'never.gguf');
    const r = run('quantize', bad, '-o', out, '--backend', 'cpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/truncated\.gguf/);
    expect(readdirSync(dir)).toEqual(['truncated.gguf']);
  });
});

describe('malformed inputs', () => {
  const gguf = readFileSync(GGUF);
  const safetensors = readFileSync(SAFETENSORS);
  const headerLength = Number(safetensors.readBigUInt64LE(0));
  const withHeader = (json: string) => {
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([head, Buffer.from(json)]);
  };
  it.each([
    ['bad.gguf', Buffer.concat([Buffer.from('GGUX'), gguf.subarray(4)]), /bad\.gguf.*magic/i],
    ['version.gguf', Buffer.concat([gguf.subarray(0, 4), Buffer.from([9, 0, 0, 0]), gguf.subarray(8)]), /version\.gguf.*version/i],
    ['short.safetensors', safetensors.subarray(0, 5), /short\.safetensors/],
    ['huge.safetensors', Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x10]), safetensors.subarray(8)]), /huge\.safetensors.*header/i],
    ['notjson.safetensors', withHeader('{"a": nope}'), /notjson\.safetensors.*JSON/],
    ['dtype.safetensors', withHeader('{"w": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}    '), /dtype\.safetensors.*'w'.*F31/],
    ['cut.safetensors', safetensors.subarray(0, 8 + headerLength + 1000), /cut\.safetensors/],
  ])('%s: a named error, exit code 1, no output left', (name, bytes, message) => {
    const input = join(dir, name);
    writeFileSync(input, bytes);
    const r = run('quantize', input, '-o', join(dir, `out-${name}`), '--backend', 'cpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(dir)).toEqual([name]);
  });
});

describe('quantize: safetensors', () => {
  it('writes the compressed-tensors layout with its quantization_config, in the file and beside it', () => {
    const out = join(dir, 'mnist.safetensors');
    const r = run('quantize', SAFETENSORS, '-o', out, '--backend', 'cpu');
    expect(r.status).toBe(0);
    // mnist: fc1.weight [32, 11616] and fc2.weight [10, 32] are the 2-D weights; 4-D convolutions,
    // biases, norms and the I64 counters pass through.
    expect(r.stdout).toMatch(/2 of 20 tensors quantized \(pytorch int8 symmetric channel\)/);
    expect(r.stdout).toMatch(/conv1\.weight .*passthrough/);
    const sidecar = JSON.parse(readFileSync(join(dir, 'mnist.quantization_config.json'), 'utf8')) as Record<string, unknown>;
    expect(sidecar.quant_method).toBe('compressed-tensors');
    const inspect = run('inspect', out);
    expect(inspect.stdout).toMatch(/quantization: compressed-tensors/);
    expect(inspect.stdout).toMatch(/fc1\.weight_scale\s+F32\s+\[32, 1\]/);
  });

  it('asking for GGUF from a safetensors input is a usage error that says why', () => {
    const r = run('quantize', SAFETENSORS, '-o', join(dir, 'x.gguf'), '--format', 'gguf', '--backend', 'cpu');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/writing gguf from a safetensors input is not supported/);
  });
});

describe('inspect and verify', () => {
  it('inspect lists tensors, dtypes, shapes, sizes and metadata', () => {
    const r = run('inspect', GGUF);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/gguf v3/);
    expect(r.stdout).toMatch(/general.architecture = "llama"/);
    expect(r.stdout).toMatch(/F32 × 48/);
    expect(r.stdout).toMatch(/quantization: none/);
    const s = run('inspect', SAFETENSORS);
    expect(s.stdout).toMatch(/fc1\.weight\s+F32\s+\[32, 11616\]/);
    expect(s.stdout).toMatch(/norm1\.num_batches_tracked\s+I64\s+\[\]/);
  });

  it('verify quantizes every tensor on WebGPU and the CPU and reports them bit-identical', () => {
    const r = run('verify', GGUF);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/blk\.0\.attn_q\.weight \[64, 64\]: bit-identical/);
    expect(r.stdout).toMatch(/tensors bit-identical between WebGPU and the CPU reference/);
  });

  it('a missing file is a failure that names it', () => {
    const r = run('inspect', join(dir, 'nope.gguf'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.gguf: no such file/);
  });
});

describe('usage errors exit with 2', () => {
  it.each([
    [['quantize', GGUF]],
    [['quantize', GGUF, '-o', 'x.gguf', '--dtype', 'int3']],
    [['quantize', GGUF, '-o', 'x.gguf', '--backend', 'tpu']],
    [['quantize', GGUF, '-o', 'x.gguf', '--block-size', '0']],
    [['inspect']],
  ])('%j', (args) => {
    expect(run(...args).status).toBe(2);
  });

  it('--symmetric with --asymmetric, and an output that is the input', () => {
    const copy = join(dir, 'in.gguf');
    copyFileSync(GGUF, copy);
    const both = run('quantize', copy, '-o', join(dir, 'o.gguf'), '--symmetric', '--asymmetric');
    expect([both.status, both.stderr]).toEqual([2, expect.stringMatching(/exclude each other/)]);
    const same = run('quantize', copy, '-o', join(dir, '.', 'in.gguf').replace(dir, `${dir}/./`));
    expect(same.status).toBe(2);
    expect(readFileSync(copy).equals(readFileSync(GGUF))).toBe(true);
  });

  it('--help documents every command', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    // Each command on its own line of the Commands list, not just anywhere in the text.
    for (const c of ['quantize', 'inspect', 'verify', 'demo']) expect(r.stdout).toMatch(new RegExp(`^  ${c} [[<]`, 'm'));
    expect(run('quantize', '--help').stdout).toMatch(/--block-size/);
  });
});
