// The report of a llama-quantize file type names the type, not the --dtype scheme that chose nothing.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { openModel } from '../../src/formats/model.js';
import { quantizeModel } from '../../src/model/quantize-model.js';
import { formatReport } from '../../src/model/report.js';
import { STORIES } from './llama-model.js';

describe('the report under a llama-quantize file type', () => {
  it('says Q4_K_M in its summary line and its JSON, and each tensor\'s own type in its row', async () => {
    const model = await openModel(bytesSource(new Uint8Array(await readFile(STORIES)), 'stories260K.gguf'));
    const report = await quantizeModel(model, memorySink(), {
      scheme: { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }, backend: 'reference', ggufType: 'Q4_K_M',
    });
    expect(report.ggufType).toBe('Q4_K_M');
    const text = formatReport(report);
    expect(text).toMatch(/^32 of 48 tensors quantized \(Q4_K_M: each tensor's type by llama\.cpp's rules\), backend reference$/m);
    expect(text).not.toMatch(/ggml int8/);
    // rows of 64 fall back from Q4_K to Q5_0; output.weight (Q6_K) to Q8_0; rows of 172 to F16.
    expect(text).toMatch(/^blk\.0\.attn_q\.weight .* Q5_0 /m);
    expect(text).toMatch(/^output\.weight .* Q8_0 /m);
  }, 60_000);

  it('names the scheme where no file type was asked for', async () => {
    const model = await openModel(bytesSource(new Uint8Array(await readFile(STORIES)), 'stories260K.gguf'));
    const report = await quantizeModel(model, memorySink(), {
      scheme: { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }, backend: 'reference',
    });
    expect(report.ggufType).toBeUndefined();
    expect(formatReport(report)).toMatch(/^32 of 48 tensors quantized \(ggml int4 symmetric group 32\), backend reference$/m);
  }, 60_000);
});
