// A ggml scale past float16 warns, in the report object, its table and on the CLI's stderr, naming
// the tensor and its first such block; a block of values too tiny to scale is not "clipped".
// The model is a GGUF written here byte by byte (GGUF v3, F32 tensors), independently of src/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { openModel } from '../../src/formats/model.js';
import { quantizeModel } from '../../src/model/quantize-model.js';
import { formatReport, scaleWarnings } from '../../src/model/report.js';
import type { QuantScheme } from '../../src/index.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const Q8: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
const Q4: QuantScheme = { ...Q8, dtype: 'int4' };

/** A GGUF v3 file of F32 tensors [rows, cols] (ggml lists dimensions innermost first), 32-byte aligned. */
function gguf(tensors: { name: string; rows: number; cols: number; values: Float32Array }[]): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: number) => (u32(v), u32(0));
  const str = (s: string) => (u64(s.length), parts.push(...Buffer.from(s, 'utf8')));
  parts.push(...Buffer.from('GGUF'));
  u32(3);
  u64(tensors.length);
  u64(1);
  str('general.architecture');
  u32(8); // string
  str('llama');
  let offset = 0;
  for (const t of tensors) {
    str(t.name);
    u32(2);
    u64(t.cols);
    u64(t.rows);
    u32(0); // F32
    u64(offset);
    offset += Math.ceil((t.values.byteLength) / 32) * 32;
  }
  while (parts.length % 32 !== 0) parts.push(0);
  const header = Uint8Array.from(parts);
  const out = new Uint8Array(header.length + offset);
  out.set(header);
  let at = header.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), at);
    at += Math.ceil(t.values.byteLength / 32) * 32;
  }
  return out;
}

/**
 * [2, 64] values in [0.5, 1.5], with `set` applied (flat index → value). One sign, so that no
 * ordinary block clips under Q4_0 either (its codes reach −8·d but only +7·d).
 */
function tensor(name: string, set: Record<number, number>) {
  const values = Float32Array.from({ length: 128 }, (_, i) => 0.5 + (i % 7) / 7);
  for (const [i, v] of Object.entries(set)) values[Number(i)] = v;
  return { name, rows: 2, cols: 64, values };
}

/** Block 1 (elements 32…63) of values below 1e-37, with signed zeros among them. */
function tinyBlock(): Record<number, number> {
  return Object.fromEntries(Array.from({ length: 32 }, (_, j) => [32 + j, j % 4 === 0 ? -0 : (j % 2 ? -1 : 1) * 1e-38 * (1 + j)]));
}

/** Values past the float16 edge of each type's d, in blocks 2 and 3 (elements 64… and 96…). */
const HUGE = { Q8_0: 9e6, Q4_0: 6e5 };

function model(type: 'Q8_0' | 'Q4_0'): Uint8Array {
  return gguf([
    tensor('blk.0.attn_q.weight', {}),
    tensor('blk.0.attn_k.weight', { 70: HUGE[type], 100: -HUGE[type] }),
    tensor('blk.0.attn_v.weight', tinyBlock()),
  ]);
}

describe.each([['Q8_0', Q8], ['Q4_0', Q4]] as const)('%s', (type, scheme) => {
  it('the report names the tensor whose block scales overflow float16, and its first block', async () => {
    const report = await quantizeModel(await openModel(bytesSource(model(type), 'm.gguf')), memorySink(), {
      scheme, format: 'gguf', backend: 'cpu',
    });
    const byName = Object.fromEntries(report.tensors.map((t) => [t.name, t]));
    expect(byName['blk.0.attn_q.weight']?.scaleOverflow).toBeUndefined();
    expect(byName['blk.0.attn_k.weight']?.scaleOverflow).toEqual({ count: 2, first: 2 });
    const warning = 'warning: blk.0.attn_k.weight: the scale of block 2 overflows float16 (|d| > 65504), and 1 more; ' +
      'its elements dequantize to ±Inf or NaN';
    expect(scaleWarnings(report)).toEqual([warning]);
    expect(formatReport(report).split('\n')).toContain(warning);
  });

  it('a block too tiny to scale (float16 d of 0) counts no clipped elements', async () => {
    const report = await quantizeModel(await openModel(bytesSource(model(type), 'm.gguf')), memorySink(), {
      scheme, format: 'gguf', backend: 'cpu',
    });
    const v = report.tensors.find((t) => t.name === 'blk.0.attn_v.weight');
    // The other blocks' scales come from their own data, which clips none of them.
    expect(v?.clipped).toBe(0);
    expect(v?.scaleOverflow).toBeUndefined();
  });
});

describe('the CLI', () => {
  it('prints the warning on stderr and in the report on stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wq-scale-'));
    const input = join(dir, 'm.gguf');
    writeFileSync(input, model('Q4_0'));
    const r = spawnSync(process.execPath, [CLI, 'quantize', input, '-o', join(dir, 'out.gguf'), '--dtype', 'int4', '--backend', 'cpu'], {
      encoding: 'utf8', env: process.env,
    });
    expect(r.status).toBe(0);
    const warning = 'warning: blk.0.attn_k.weight: the scale of block 2 overflows float16 (|d| > 65504), and 1 more; ' +
      'its elements dequantize to ±Inf or NaN';
    expect(r.stderr.split('\n')).toContain(warning);
    expect(r.stdout.split('\n')).toContain(warning);
  });
});
