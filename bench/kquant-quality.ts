// The quality of llama.cpp's file and block types as this library writes them, measured: README's
// K-quant tables come from this run. `npm run build && npx tsx bench/kquant-quality.ts` prints two
// Markdown tables, both made by quantizeModel with a llama-quantize file type (`--type`) on the
// built package, on the CPU reference, whose bytes equal llama.cpp's (test/kquants/llama-cpp.test.ts):
// 1. stories260K as each file type (its rows of 64 and 172 make every K-quant fall back): bits per
//    weight of the tensor data and of the whole file, and SQNR over all its matrices together and
//    at the worst matrix;
// 2. real weights whose rows are whole super-blocks — mnist's fc1.weight and silero's
//    lstm_cell.weight_ih, reshaped to rows of 256 — each written alone as a Llama attn_q matrix,
//    which every file type stores in its own base type (Q4_K_M's Q4_K, Q6_K's Q6_K, …).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as ModelLibrary from '../src/model/index.js';
import type { GgufFile } from '../src/model/index.js';

const built: string = '../dist/model.js';
const lib = (await import(built)) as typeof ModelLibrary;

/** llama-quantize's names, as `--type` takes them. */
const FILE_TYPES = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q5_K_S', 'Q4_K_M', 'Q4_K_S', 'Q4_0', 'Q3_K_M', 'Q2_K'] as const;
const GGML_F32 = 0;
const MODELS = join(import.meta.dirname, '..', 'models');
const db = (signal: number, noise: number) => (noise === 0 ? Infinity : 10 * Math.log10(signal / noise));
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

async function quantized(input: Uint8Array, kind: (typeof FILE_TYPES)[number]) {
  const sink = lib.memorySink();
  const report = await lib.quantizeModel(await lib.openModel(lib.bytesSource(input, 'input.gguf')), sink, {
    scheme: { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }, backend: 'reference', ggufType: kind,
  });
  const bytes = sink.bytes();
  return { report, bytes, file: await lib.readGguf(lib.bytesSource(bytes, `${kind}.gguf`)) };
}

/** stories260K as one file type: its sizes and its error over the quantized matrices. */
async function fileRow(input: Uint8Array, kind: (typeof FILE_TYPES)[number]) {
  const { report, file } = await quantized(input, kind);
  const weights = file.tensors.reduce((n, t) => n + numel(t.shape), 0);
  const dataBytes = file.tensors.reduce((n, t) => n + t.byteLength, 0);
  let signal = 0;
  let noise = 0;
  let worst = { name: '', sqnrDb: Infinity };
  for (const t of report.tensors) {
    if (t.mse === undefined || t.sqnrDb === undefined) continue;
    noise += t.mse * numel(t.shape);
    signal += t.mse * numel(t.shape) * 10 ** (t.sqnrDb / 10);
    if (t.sqnrDb < worst.sqnrDb) worst = { name: t.name, sqnrDb: t.sqnrDb };
  }
  const types = new Map<string, number>();
  for (const t of file.tensors) if (t.shape.length >= 2) types.set(t.typeName, (types.get(t.typeName) ?? 0) + 1);
  return {
    fileBpw: (file.source.size * 8) / weights, dataBpw: (dataBytes * 8) / weights, sqnrDb: db(signal, noise), worst,
    types: [...types].map(([name, count]) => `${name} × ${count}`).join(', '),
  };
}

/** A one-tensor Llama-named GGUF of `values` as rows of 256. */
async function oneMatrix(metadata: GgufFile['metadata'], values: Float32Array): Promise<Uint8Array> {
  const shape = [values.length / 256, 256];
  const file: GgufFile = {
    format: 'gguf', version: 3, source: lib.bytesSource(new Uint8Array(0), 'generated'), metadata, alignment: 32, dataOffset: 0,
    tensors: [{ name: 'blk.0.attn_q.weight', shape, ggmlType: GGML_F32, typeName: 'F32', offset: 0, byteLength: values.byteLength, quantizable: true }],
  };
  const sink = lib.memorySink();
  await lib.writeGguf(sink, lib.planGgufOutput(file, ['keep'], 0), () => new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return sink.bytes();
}

const stories = new Uint8Array(await readFile(join(MODELS, 'stories260K.gguf')));
const storiesFile = await lib.readGguf(lib.bytesSource(stories, 'stories260K.gguf'));
const storiesWeights = storiesFile.tensors.reduce((n, t) => n + numel(t.shape), 0);
console.log(`# stories260K (${storiesWeights} weights, ${stories.length} bytes in F32) as llama-quantize's file types\n`);
console.log('| file type | bits/weight, tensor data | bits/weight, whole file | SQNR dB, all matrices | worst matrix SQNR dB | matrices written as |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const kind of FILE_TYPES) {
  const r = await fileRow(stories, kind);
  console.log(`| ${kind} | ${r.dataBpw.toFixed(2)} | ${r.fileBpw.toFixed(2)} | ${r.sqnrDb.toFixed(2)} | ${r.worst.sqnrDb.toFixed(2)} (${r.worst.name}) | ${r.types} |`);
}

const real: [string, string][] = [['mnist.safetensors', 'fc1.weight'], ['silero_vad_16k.safetensors', 'lstm_cell.weight_ih']];
const tensors: { label: string; values: Float32Array }[] = [];
for (const [file, name] of real) {
  const model = await lib.openModel(lib.bytesSource(new Uint8Array(await readFile(join(MODELS, file))), file));
  const values = await lib.readTensorF32(model, name);
  if (values.length % 256 !== 0) throw new Error(`${file} ${name}: ${values.length} values are not whole rows of 256`);
  tensors.push({ label: `${file.replace(/\..*$/, '')} \`${name}\` (${values.length / 256} × 256)`, values });
}
console.log('\n# Real weights as rows of 256, one type for the whole matrix: SQNR dB / RMSE\n');
console.log(`| file type | matrix written as | bits/weight | ${tensors.map((t) => t.label).join(' | ')} |`);
console.log(`| --- | --- | --- | ${tensors.map(() => '---').join(' | ')} |`);
// One file type per base type: the _S and _M mixes differ only in the tensors they promote.
for (const kind of ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0', 'Q3_K_M', 'Q2_K'] as const) {
  const cells = [];
  const written = new Set<string>();
  let bpw = 0;
  for (const t of tensors) {
    const { report, file } = await quantized(await oneMatrix(storiesFile.metadata, t.values), kind);
    const [tensor] = file.tensors;
    const [row] = report.tensors;
    if (!tensor || row?.mse === undefined || row.sqnrDb === undefined) throw new Error(`${kind}: the matrix was not quantized`);
    written.add(tensor.typeName);
    bpw = (tensor.byteLength * 8) / t.values.length;
    cells.push(`${row.sqnrDb.toFixed(2)} / ${Math.sqrt(row.mse).toExponential(2)}`);
  }
  console.log(`| ${kind} | ${[...written].join(', ')} | ${bpw.toFixed(4).replace(/\.?0+$/, '')} | ${cells.join(' | ')} |`);
}
