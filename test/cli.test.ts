// The built command-line tool, run as a user runs it.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

describe('webgpu-quantizer CLI', () => {
  it('demo quantizes a generated matrix with every profile and prints the report', () => {
    const r = run('demo', '--rows', '4', '--cols', '64');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Generated weight \[4, 64\]/);
    for (const s of ['onnx int8 sym tensor', 'pytorch uint8 asym channel', 'ggml int4 sym group 32 \\(Q4_0\\)']) {
      expect(r.stdout).toMatch(new RegExp(s));
    }
    expect(r.stdout).toMatch(/SQNR dB/);
  });

  it('--help lists the commands', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/demo/);
  });

  it('a usage error exits with 2', () => {
    const bad = run('demo', '--rows', 'many');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--rows <n>' argument 'many' is invalid. must be an integer/);
    expect(run('demo', '--rows', '0').stderr).toMatch(/must be a positive integer/);
    expect(run('frobnicate').status).toBe(2);
  });

  it('a failure exits with 1 and says why', () => {
    const r = run('demo', '--cols', '40');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/webgpu-quantizer: .*multiple of 32/);
  });
});
