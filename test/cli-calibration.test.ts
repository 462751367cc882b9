// --calibration on the command line (dist/cli.js, on a real model): the report's SQNR, clipped
// count and gain over min/max, the observer in the quantization_config, and the usage errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { adapterFacts, releaseDevice } from '../src/index.js';
import type { ModelReport } from '../src/model/index.js';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');
const GGUF = resolve(import.meta.dirname, '../models/stories260K.gguf');
const SAFETENSORS = resolve(import.meta.dirname, '../models/mnist.safetensors');
const INT4_G32 = ['--dtype', 'int4', '--granularity', 'group', '--block-size', '32', '--backend', 'cpu'];

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wq-cal-'));
});

function quantizeWith(...flags: string[]): { report: ModelReport; config: Record<string, unknown>; stdout: string } {
  const out = join(dir, `${flags.join('').replace(/\W/g, '')}.safetensors`);
  const reportPath = `${out}.report.json`;
  const r = run('quantize', SAFETENSORS, '-o', out, ...INT4_G32, '--report', reportPath, ...flags);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.status).toBe(0);
  return {
    report: JSON.parse(readFileSync(reportPath, 'utf8')) as ModelReport,
    config: JSON.parse(readFileSync(out.replace(/\.safetensors$/, '.quantization_config.json'), 'utf8')) as Record<string, unknown>,
    stdout: r.stdout,
  };
}

const weights = (config: Record<string, unknown>) =>
  (config as { config_groups: { group_0: { weights: Record<string, unknown> } } }).config_groups.group_0.weights;

describe('quantize --calibration', () => {
  it('mse: per tensor the SQNR, the clipped count and the gain over min/max measured in the same run', () => {
    const plain = quantizeWith();
    const mse = quantizeWith('--calibration', 'mse', '--mse-grid', '50', '--mse-norm', '2');
    expect(weights(plain.config)).toMatchObject({ observer: 'minmax', observer_kwargs: {} });
    expect(weights(mse.config)).toMatchObject({ observer: 'mse', observer_kwargs: { grid: 50, maxshrink: 0.2, norm: 2 } });
    expect(mse.report.scheme).toMatchObject({ calibration: 'mse', mse: { grid: 50, norm: 2 } });
    expect(mse.stdout).toMatch(/vs minmax dB/);
    expect(mse.stdout).toMatch(/int4 symmetric group 32, mse \(grid 50, max shrink 0\.2, norm 2\)\)/);
    expect(plain.stdout).not.toMatch(/vs minmax dB/);
    const quantized = mse.report.tensors.filter((t) => t.action === 'quantized');
    expect(quantized.length).toBeGreaterThan(0);
    for (const t of quantized) {
      // The baseline is the min/max run of the same tensor, which the plain run measured on its own.
      const base = plain.report.tensors.find((p) => p.name === t.name);
      expect(t.minmaxSqnrDb).toBe(base?.sqnrDb);
      expect(t.gainDb).toBeCloseTo((t.sqnrDb as number) - (base?.sqnrDb as number), 12);
      expect(t.clipped).toBeGreaterThanOrEqual(0);
    }
    // Clipping at 4 bits trades saturated outliers for a finer step: more clipped, a better SQNR.
    const fc1 = quantized.find((t) => t.name === 'fc1.weight');
    expect(fc1?.clipped).toBeGreaterThan(plain.report.tensors.find((p) => p.name === 'fc1.weight')?.clipped as number);
    expect(fc1?.gainDb).toBeGreaterThan(0);
  });

  it('percentile: the observer records its percentile, and the gain may be a loss', () => {
    const r = quantizeWith('--calibration', 'percentile', '--percentile', '99');
    expect(weights(r.config)).toMatchObject({ observer: 'percentile', observer_kwargs: { percentile: 99 } });
    expect(r.stdout).toMatch(/percentile 99\)/);
    for (const t of r.report.tensors.filter((v) => v.action === 'quantized')) expect(Number.isFinite(t.gainDb)).toBe(true);
  });

  it.each([
    [['--calibration', 'kl'], /--calibration.*must be one of minmax, mse, percentile/],
    [['--calibration', 'percentile', '--percentile', '0'], /scheme.percentile must be in \(0, 100\]; got 0/],
    [['--calibration', 'percentile', '--percentile', '101'], /scheme.percentile must be in \(0, 100\]/],
    [['--percentile', '99'], /scheme.percentile applies only to calibration 'percentile'/],
    [['--calibration', 'mse', '--mse-grid', '0'], /scheme.mse.grid must be an integer >= 1; got 0/],
    [['--calibration', 'mse', '--mse-norm', '0'], /scheme.mse.norm must be a finite number > 0; got 0/],
    [['--calibration', 'mse', '--mse-norm', 'x'], /--mse-norm.*must be a number/],
  ])('%j is a usage error naming the option', (flags, message) => {
    const r = run('quantize', SAFETENSORS, '-o', join(dir, 'o.safetensors'), ...INT4_G32, ...flags);
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(message)]);
  });

  it('--backend auto takes a software adapter for mse, whose search the CPU backend does not speed up, but not for percentile', async () => {
    const auto = INT4_G32.slice(0, -2);
    const mse = run('quantize', SAFETENSORS, '-o', join(dir, 'mse.safetensors'), ...auto, '--calibration', 'mse');
    const pct = run('quantize', SAFETENSORS, '-o', join(dir, 'pct.safetensors'), ...auto, '--calibration', 'percentile');
    expect([mse.status, pct.status]).toEqual([0, 0]);
    const facts = await adapterFacts();
    await releaseDevice();
    if (facts.isFallback) {
      expect(mse.stderr).toMatch(/backend: webgpu \(.* is a software fallback, but calibration mse runs faster on it than on the CPU backend; --backend cpu uses the CPU anyway\)/);
      expect(pct.stderr).toMatch(/backend: cpu \(the only WebGPU adapter, .*, is a software fallback/);
    } else {
      expect([mse.stderr, pct.stderr]).toEqual([expect.stringMatching(/backend: webgpu \(/), expect.stringMatching(/backend: webgpu \(/)]);
    }
  });

  it('GGUF Q8_0 / Q4_0 keep llama.cpp\'s formulas: mse is refused there', () => {
    const r = run('quantize', GGUF, '-o', join(dir, 'o.gguf'), '--calibration', 'mse', '--backend', 'cpu');
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/mse is not available for the ggml profile: Q8_0 keeps llama.cpp's formulas/)]);
  });
});
