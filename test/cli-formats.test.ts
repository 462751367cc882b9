// `webgpu-quantizer formats`: the registry as the command line shows it, and --profile's choices
// taken from it.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCalibrators, listFormats } from '../src/index.js';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

describe('webgpu-quantizer formats', () => {
  it('lists every registered format with its profile, file type and summary, and every calibration method', () => {
    const r = run('formats');
    expect(r.status).toBe(0);
    for (const f of listFormats()) {
      const file = f.gguf ? `GGUF ${f.gguf.typeName}` : f.blocks ? `GGUF ${f.blocks.gguf.typeName}` : 'safetensors';
      expect(r.stdout).toMatch(new RegExp(`^  ${f.name} +${f.profile} +${file} +${f.summary.replace(/[().*+?]/g, '\\$&')}$`, 'm'));
    }
    for (const c of listCalibrators()) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +${c.summary}`, 'm'));
    expect(r.stdout).toMatch(/^ {2}q8_0 +ggml +GGUF Q8_0 /m);
  });

  it('offers the registry\'s profiles to --profile and refuses others', () => {
    const help = run('quantize', '--help');
    expect(help.stdout).toMatch(/whose formulas: onnx, pytorch, ggml/);
    const bad = run('quantize', 'x.gguf', '-o', 'y.gguf', '--profile', 'tflite');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/must be one of onnx, pytorch, ggml/);
  });
});
