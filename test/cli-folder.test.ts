// Model folders through the built command line: a sharded folder made from a bundled model
// (test/model/folder-fixture.ts) quantized into a folder that appears only when complete; each
// broken input exits 1 naming the file and leaves nothing behind; usage errors exit 2.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byteSize } from '../src/cli/options.js';
import { type Fixture, OTHER_FILES, shardedFolder, singleFileFolder } from './model/folder-fixture.js';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });

const root = mkdtempSync(join(tmpdir(), 'wq-cli-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
/** A fresh place: `in` for the model folder, `out` for the output; nothing else is ever there. */
function place(): { base: string; input: string; output: string } {
  const base = join(root, `p${count++}`);
  mkdirSync(base);
  return { base, input: join(base, 'in'), output: join(base, 'out') };
}

describe('quantize MODEL_DIR -o OUT_DIR', () => {
  it('writes the folder: shards within --max-shard-size, index, config.json, every other file; --report; no temporary left', async () => {
    const { base, input, output } = place();
    await shardedFolder(input);
    const report = join(base, 'report.json');
    const r = cli('quantize', input, '-o', output, '--backend', 'cpu', '--max-shard-size', '100KB', '--report', report);
    expect([r.status, r.stderr]).toEqual([0, expect.not.stringMatching(/warning/)]);
    expect(r.stdout).toMatch(/wrote .*out: 3 weight files, 8 other files/);
    expect(readdirSync(base).sort()).toEqual(['in', 'out', 'report.json']);
    const names = readdirSync(output).sort();
    expect(names).toEqual(['README.md', 'config.json', 'generation_config.json', 'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json', 'original',
      'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    for (const path of Object.keys(OTHER_FILES)) expect(readFileSync(join(output, path))).toEqual(readFileSync(join(input, path)));
    const index = JSON.parse(readFileSync(join(output, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    expect(index.weight_map['fc1.weight_packed']).toMatch(/^model-0000[123]-of-00003\.safetensors$/);
    const config = JSON.parse(readFileSync(join(output, 'config.json'), 'utf8')) as { model_type: string; quantization_config: { quant_method: string } };
    expect([config.model_type, config.quantization_config.quant_method]).toEqual(['mnist', 'compressed-tensors']);
    const written = JSON.parse(readFileSync(report, 'utf8')) as { files: { path: string; role: string }[]; quantizationConfig: unknown };
    expect(written.files.filter((f) => f.role === 'weights').length).toBe(3);
    expect(written.quantizationConfig).toEqual(config.quantization_config);
  });

  it('the index as the input; a single-file folder; inspect and verify take a folder', async () => {
    const { base, input, output } = place();
    await shardedFolder(input);
    const r = cli('quantize', join(input, 'model.safetensors.index.json'), '-o', output, '--backend', 'cpu');
    expect(r.status).toBe(0);
    expect(existsSync(join(output, 'model-00001-of-00001.safetensors'))).toBe(true);
    const inspected = cli('inspect', output);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(/model folder, 1 shards named by model\.safetensors\.index\.json/);
    expect(inspected.stdout).toMatch(/fc1\.weight_packed\s+I32\s+\[32, 2904\]/);
    expect(inspected.stdout).toMatch(/quantization \(config\.json\): \{"quant_method":"compressed-tensors"/);
    const single = join(base, 'single');
    singleFileFolder(single);
    const s = cli('quantize', single, '-o', join(base, 'single-out'), '--backend', 'cpu');
    expect(s.status).toBe(0);
    expect(readdirSync(join(base, 'single-out'))).toContain('model.safetensors');
    const verified = cli('verify', input);
    // Every weight of rank ≥ 2 of the three shards, the convolutions too (verify does not ask what a format can hold).
    expect([verified.status, verified.stdout]).toEqual([0, expect.stringMatching(/fc1\.weight \[32, 11616\]: bit-identical[^]*5 tensors bit-identical between WebGPU and the CPU reference/)]);
  });

  it('an existing output folder is refused without --force and replaced with it', async () => {
    const { input, output } = place();
    await shardedFolder(input);
    mkdirSync(output);
    writeFileSync(join(output, 'keep.txt'), 'mine');
    const r = cli('quantize', input, '-o', output, '--backend', 'cpu');
    expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(/out: already exists; pass --force/)]);
    expect(readdirSync(output)).toEqual(['keep.txt']);
    expect(readdirSync(join(output, '..')).sort()).toEqual(['in', 'out']);
    const forced = cli('quantize', input, '-o', output, '--backend', 'cpu', '--force');
    expect(forced.status).toBe(0);
    expect(readdirSync(output)).not.toContain('keep.txt');
    expect(readdirSync(output)).toContain('config.json');
    expect(readdirSync(join(output, '..')).sort()).toEqual(['in', 'out']);
  });
});

describe('bad input: exit 1, named, nothing left behind', () => {
  const cases: [string, (f: Fixture) => void, (dir: string) => void, RegExp][] = [
    ['an index naming a missing shard', (f) => {
      f.weightMap['fc2.weight'] = 'model-00009-of-00003.safetensors';
    }, () => {}, /index\.json: field 'weight_map': names shard 'model-00009-of-00003\.safetensors'.*not in the folder/],
    ['a tensor in two shards', (f) => {
      // fc2.weight, the 18th tensor in data order, was dealt to the third shard; the first gets it too.
      expect(f.weightMap['fc2.weight']).toBe('model-00003-of-00003.safetensors');
      f.shards.get('model-00001-of-00003.safetensors')?.push('fc2.weight');
    }, () => {}, /model-00003-of-00003\.safetensors: tensor 'fc2\.weight': is also in model-00001-of-00003\.safetensors/],
    ['a shard whose header disagrees with the index', (f) => {
      f.weightMap['fc1.weight'] = 'model-00003-of-00003.safetensors';
    }, () => {}, /model-00001-of-00003\.safetensors: tensor 'fc1\.weight': is in this shard's header but .* places it in model-00003-of-00003\.safetensors/],
    ['a config.json that is not JSON', () => {}, (dir) => writeFileSync(join(dir, 'config.json'), '{"model_type": mnist}'),
      /config\.json: is not valid JSON/],
    ['a shard that is not safetensors', () => {}, (dir) => writeFileSync(join(dir, 'model-00002-of-00003.safetensors'), 'not a model'),
      /model-00002-of-00003\.safetensors: field 'header length'/],
  ];
  it.each(cases)('%s', async (_, edit, after, message) => {
    const { base, input, output } = place();
    await shardedFolder(input, edit);
    after(input);
    const r = cli('quantize', input, '-o', output, '--backend', 'cpu');
    expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(message)]);
    expect(readdirSync(base)).toEqual(['in']);
  });

  it('a failure part way (a copied file unreadable) removes the partial folder', async () => {
    const { base, input, output } = place();
    await shardedFolder(input);
    // A symbolic link to nothing cannot be copied: the weights are written, then the run fails.
    spawnSync('ln', ['-s', join(input, 'missing'), join(input, 'dangling')]);
    const r = cli('quantize', input, '-o', output, '--backend', 'cpu');
    expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(/dangling: is a symbolic link to nothing/)]);
    expect(readdirSync(base)).toEqual(['in']);
  });
});

describe('usage errors: exit 2', () => {
  it.each([
    ['GGUF from a folder', ['--format', 'gguf'], /a folder of safetensors shards is not converted to GGUF here/],
    ['a size that is not one', ['--max-shard-size', '5 parsecs'], /--max-shard-size <size>' argument '5 parsecs' is invalid\. must be a size such as 5GB/],
    ['a zero size', ['--max-shard-size', '0'], /must be at least one byte/],
  ])('%s', async (_, flags, message) => {
    const { base, input, output } = place();
    await shardedFolder(input);
    const r = cli('quantize', input, '-o', output, ...flags);
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(message)]);
    expect(readdirSync(base)).toEqual(['in']);
  });

  it('an output inside the input folder; --max-shard-size for one file', async () => {
    const { input } = place();
    await shardedFolder(input);
    const inside = cli('quantize', input, '-o', join(input, 'q'));
    expect([inside.status, inside.stderr]).toEqual([2, expect.stringMatching(/the output folder must be neither the input folder, nor inside it/)]);
    const file = cli('quantize', join(input, 'model-00001-of-00003.safetensors'), '-o', join(input, '..', 'x.safetensors'), '--max-shard-size', '1GB');
    expect([file.status, file.stderr]).toEqual([2, expect.stringMatching(/--max-shard-size applies to a model folder/)]);
  });
});

describe('--max-shard-size sizes', () => {
  it.each([
    ['5GB', 5_000_000_000], ['500MB', 500_000_000], ['100kb', 100_000], ['2GiB', 2 ** 31], ['1.5GB', 1_500_000_000], ['4096', 4096], ['10 MiB', 10 * 2 ** 20],
  ])('%s is %d bytes', (text, bytes) => {
    expect(byteSize(text)).toBe(bytes);
  });
  it.each(['', 'GB', '-1GB', '5XB', '0.1B'])('%j is refused', (text) => {
    expect(() => byteSize(text)).toThrow(/must be/);
  });
});
