#!/usr/bin/env node
import { stat } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { adapterFacts, adapterName, dequantize, errorMetrics, quantize, releaseDevice } from '../index.js';
import { QuantizationError } from '../errors.js';
import { calibratorOf, ggufFormatOf, listCalibrators, listFormats } from '../schemes/registry.js';
import { resolveScheme } from '../schemes/resolve.js';
import { type ModelFile, modelTensors, openModel, readTensorF32Range } from '../formats/model.js';
import { type ModelFolder, openModelFolder, quantizeFolder } from '../model/folder.js';
import { type ModelProgress, quantizeModel } from '../model/quantize-model.js';
import { passThroughReason } from '../model/policy.js';
import { formatReport, scaleWarnings } from '../model/report.js';
import { compareBackendsStreamed } from '../model/verify.js';
import { type AtomicFile, createAtomicFile, openFileSource } from '../node/files.js';
import { createAtomicFolder, readFolder } from '../node/folder.js';
import { syntheticWeights } from '../synthetic.js';
import type { Backend, QuantScheme } from '../types.js';
import { describeFolder, describeModel } from './inspect.js';
import { LLAMA_FILE_TYPES, type LlamaFileTypeName } from '../formats/llama-mix.js';
import { byteSize, choice, finiteNumber, integer, positiveInt, type SchemeFlags, schemeFromFlags } from './options.js';

/** Exit codes: 0 success, 1 failure, 2 usage. */
class UsageError extends Error {}

interface QuantizeFlags extends SchemeFlags {
  output: string;
  backend: 'auto' | 'webgpu' | 'cpu' | 'reference';
  verify?: boolean;
  report?: string;
  force?: boolean;
  include?: string[];
  exclude?: string[];
  quantizeEmbeddings?: boolean;
  maxShardSize?: number;
  type?: LlamaFileTypeName;
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * `auto` takes whichever is faster for the adapter there is, and says which and why: a hardware
 * GPU outruns the CPU; a software fallback emulates a GPU on the same cores the fast CPU engine
 * uses, and loses to it, except for a calibration whose search the CPU backend does not speed up
 * (bench/README.md has the figures).
 */
async function chooseBackend(requested: QuantizeFlags['backend'], scheme: QuantScheme): Promise<Backend> {
  if (requested !== 'auto') return requested;
  const calibrator = calibratorOf(scheme);
  if (!calibrator.gpu) {
    say(`backend: cpu (calibration ${calibrator.name} runs on the CPU backends only)`);
    return 'cpu';
  }
  try {
    const facts = await adapterFacts();
    const name = adapterName(facts);
    if (!facts.isFallback) {
      say(`backend: webgpu (${name}, a hardware GPU: faster than the CPU)`);
      return 'webgpu';
    }
    if (calibrator.fasterOnSoftwareAdapter) {
      say(`backend: webgpu (${name} is a software fallback, but calibration ${calibrator.name} runs faster on it ` +
        'than on the CPU backend; --backend cpu uses the CPU anyway)');
      return 'webgpu';
    }
    say(`backend: cpu (the only WebGPU adapter, ${name}, is a software fallback that emulates a GPU on these same cores; ` +
      'the fast CPU engine, on every core, is faster; --backend webgpu uses the adapter anyway)');
  } catch (err) {
    say(`backend: cpu (${err instanceof Error ? err.message : String(err)})`);
  }
  return 'cpu';
}

function progressReporter(label: string): { update(p: ModelProgress): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {percentage}% | tensor {value}/{total} {tensor}`,
      stream: process.stderr,
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(p) {
        if (!started) {
          bar.start(p.tensorCount, 0, { tensor: '' });
          started = true;
        }
        bar.update(p.tensorIndex, { tensor: p.tensorName });
      },
      stop: () => bar.stop(),
    };
  }
  return {
    update(p) {
      if (p.phase === 'start') say(`${label} [${p.tensorIndex + 1}/${p.tensorCount}] ${p.tensorName}`);
    },
    stop() {},
  };
}

async function writeJson(file: AtomicFile, value: unknown): Promise<void> {
  await file.sink.write(new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

/** Where the compressed-tensors quantization_config goes beside a safetensors output. */
function sidecarPath(output: string): string {
  return `${output.replace(/\.safetensors$/, '')}.quantization_config.json`;
}

/**
 * A model folder as the input names it: the folder itself, or an index `.json` in it (which
 * says which file holds the weights); undefined for a model file.
 */
async function folderInput(input: string): Promise<{ dir: string; index?: string } | undefined> {
  const info = await stat(input).catch(() => undefined);
  if (info?.isDirectory()) return { dir: input };
  if (info?.isFile() && /\.json$/i.test(input)) return { dir: dirname(input), index: basename(input) };
  return undefined;
}

/** Opens a model folder; `close` releases its files. */
async function openFolder(where: { dir: string; index?: string }): Promise<{ folder: ModelFolder; close(): Promise<void> }> {
  const listing = await readFolder(where.dir);
  try {
    const folder = await openModelFolder(where.dir, listing.files, where.index ? { index: where.index } : {});
    return { folder, close: () => listing.close() };
  } catch (err) {
    await listing.close();
    throw err;
  }
}

function inside(path: string, folder: string): boolean {
  const r = relative(resolve(folder), resolve(path));
  return r === '' || (!r.startsWith('..') && !r.startsWith('/'));
}

async function quantizeFolderCommand(input: string, where: { dir: string; index?: string }, flags: QuantizeFlags): Promise<void> {
  if (flags.format === 'gguf') {
    throw new UsageError('a folder of safetensors shards is not converted to GGUF here: quantize it to safetensors (the default), or give a .gguf file');
  }
  if (inside(flags.output, where.dir) || inside(where.dir, flags.output)) {
    throw new UsageError('the output folder must be neither the input folder, nor inside it, nor hold it');
  }
  const { folder, close } = await openFolder(where);
  let out: Awaited<ReturnType<typeof createAtomicFolder>> | undefined;
  let reportFile: AtomicFile | undefined;
  try {
    const scheme = schemeFromFlags(flags, 'safetensors');
    const backend = await chooseBackend(flags.backend, scheme);
    const verify = flags.verify === true && backend !== 'reference';
    if (flags.verify && !verify) say('--verify: skipped, the reference backend is the reference itself');
    const force = flags.force === true;
    out = await createAtomicFolder(flags.output, force);
    reportFile = flags.report ? await createAtomicFile(flags.report, force) : undefined;
    const progress = progressReporter(basename(where.dir));
    let result;
    try {
      result = await quantizeFolder(folder, out.sink, {
        scheme, backend, verify, inputPath: input, outputPath: flags.output,
        ...(flags.include ? { include: flags.include } : {}), ...(flags.exclude ? { exclude: flags.exclude } : {}),
        ...(flags.quantizeEmbeddings ? { quantizeEmbeddings: true } : {}),
        ...(flags.maxShardSize ? { maxShardBytes: flags.maxShardSize } : {}),
        onProgress: (p) => progress.update(p),
      });
    } finally {
      progress.stop();
    }
    const { report, files } = result;
    if (reportFile) await writeJson(reportFile, { ...report, files });
    await out.commit();
    out = undefined;
    await reportFile?.commit();
    reportFile = undefined;
    console.log(formatReport(report));
    for (const w of scaleWarnings(report)) say(w);
    for (const warning of report.warnings ?? []) say(`warning: ${warning}`);
    const weights = files.filter((f) => f.role === 'weights').length;
    console.log(`wrote ${flags.output}: ${weights} weight file${weights === 1 ? '' : 's'}, ${files.length - weights} other files`);
    if (report.tensors.some((t) => t.verify && !t.verify.equal)) process.exitCode = 1;
  } finally {
    await out?.abort();
    await reportFile?.abort();
    await close();
  }
}

async function quantizeCommand(input: string, flags: QuantizeFlags): Promise<void> {
  const folder = await folderInput(input);
  if (folder) return quantizeFolderCommand(input, folder, flags);
  if (flags.maxShardSize !== undefined) throw new UsageError('--max-shard-size applies to a model folder; the input is one file');
  if (resolve(flags.output) === resolve(input)) throw new UsageError('the output must not be the input file');
  const source = await openFileSource(input);
  const files: AtomicFile[] = [];
  try {
    const model = await openModel(source);
    const format = flags.format ?? model.format;
    const scheme = schemeFromFlags(flags, format);
    if (flags.type !== undefined && format !== 'gguf') throw new UsageError(`--type ${flags.type} is a llama.cpp file type: the output must be GGUF`);
    if (flags.type !== undefined && flags.dtype !== undefined) throw new UsageError('--type and --dtype exclude each other: --type chooses every tensor\'s type');
    if (flags.type !== undefined) say(`--type ${flags.type}: tensor types chosen by llama.cpp's rules`);
    const backend = await chooseBackend(flags.backend, scheme);
    const verify = flags.verify === true && backend !== 'reference';
    if (flags.verify && !verify) say('--verify: skipped, the reference backend is the reference itself');
    // Every output is claimed before any work, so that a refusal to overwrite costs nothing.
    const force = flags.force === true;
    const out = await createAtomicFile(flags.output, force);
    files.push(out);
    const sidecar = format === 'safetensors' ? await createAtomicFile(sidecarPath(flags.output), force) : undefined;
    if (sidecar) files.push(sidecar);
    const reportFile = flags.report ? await createAtomicFile(flags.report, force) : undefined;
    if (reportFile) files.push(reportFile);
    const progress = progressReporter(basename(input));
    let report;
    try {
      report = await quantizeModel(model, out.sink, {
        scheme, format, backend, verify, inputPath: input, outputPath: flags.output,
        ...(flags.include ? { include: flags.include } : {}), ...(flags.exclude ? { exclude: flags.exclude } : {}),
        ...(flags.quantizeEmbeddings ? { quantizeEmbeddings: true } : {}),
        ...(flags.type !== undefined ? { ggufType: flags.type } : {}),
        onProgress: (p) => progress.update(p),
      });
    } finally {
      progress.stop();
    }
    if (sidecar) await writeJson(sidecar, report.quantizationConfig);
    if (reportFile) await writeJson(reportFile, report);
    for (const f of files.splice(0)) await f.commit();
    console.log(formatReport(report));
    for (const w of scaleWarnings(report)) say(w);
    for (const warning of report.warnings ?? []) say(`warning: ${warning}`);
    console.log(`wrote ${flags.output}`);
    if (report.tensors.some((t) => t.verify && !t.verify.equal)) process.exitCode = 1;
  } finally {
    for (const f of files) await f.abort();
    await source.close();
  }
}

async function inspectCommand(file: string): Promise<void> {
  const where = await folderInput(file);
  if (where) {
    const { folder, close } = await openFolder(where);
    try {
      console.log(describeFolder(folder));
    } finally {
      await close();
    }
    return;
  }
  const source = await openFileSource(file);
  try {
    console.log(describeModel(await openModel(source)));
  } finally {
    await source.close();
  }
}

/** A model file, or a model folder's weights as one model; `close` releases the files. */
async function openInput(input: string): Promise<{ model: ModelFile; close(): Promise<void> }> {
  const where = await folderInput(input);
  if (where) {
    const { folder, close } = await openFolder(where);
    return { model: folder.model, close };
  }
  const source = await openFileSource(input);
  try {
    return { model: await openModel(source), close: () => source.close() };
  } catch (err) {
    await source.close();
    throw err;
  }
}

async function verifyCommand(input: string, flags: SchemeFlags & { include?: string[]; exclude?: string[]; limit: number }): Promise<void> {
  const { model, close } = await openInput(input);
  try {
    const scheme = schemeFromFlags(flags, model.format);
    const facts = await adapterFacts();
    say(`verifying on ${adapterName(facts)}` +
      (facts.isFallback ? ' (software fallback)' : ''));
    let failed = 0;
    let checked = 0;
    for (const t of modelTensors(model)) {
      if (passThroughReason(t, flags)) continue;
      try {
        resolveScheme(t.shape, scheme);
      } catch (err) {
        if (!(err instanceof QuantizationError)) throw err;
        console.log(`${t.name} [${t.shape.join(', ')}]: skipped, the scheme does not apply (${err.message})`);
        continue;
      }
      const report = await compareBackendsStreamed(
        { read: (start, length) => readTensorF32Range(model, t.name, start, length) }, t.shape, scheme, { limit: flags.limit },
      );
      checked++;
      if (!report.equal) failed++;
      console.log(`${t.name} [${t.shape.join(', ')}]: ${report.summary}`);
    }
    console.log(failed === 0
      ? `${checked} tensors bit-identical between WebGPU and the CPU reference`
      : `${failed} of ${checked} tensors differ between WebGPU and the CPU reference`);
    if (failed > 0) process.exitCode = 1;
  } finally {
    await close();
  }
}

const DEMO_SCHEMES: QuantScheme[] = [
  { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' },
  { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' },
  { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' },
  { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'pytorch' },
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'onnx' },
  { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 128, profile: 'onnx' },
  ...listFormats().flatMap((f) => (f.gguf ? [f.gguf.scheme] : [])),
];

function describeScheme(s: QuantScheme): string {
  const gguf = ggufFormatOf(s)?.gguf;
  const ggml = gguf ? ` (${gguf.typeName})` : '';
  const gran = s.granularity === 'group' ? `group ${s.blockSize}` : s.granularity;
  return `${s.profile} ${s.dtype} ${s.symmetric ? 'sym' : 'asym'} ${gran}${ggml}`;
}

async function demoCommand(opts: { rows: number; cols: number; seed: number }): Promise<void> {
  const shape = [opts.rows, opts.cols];
  const x = syntheticWeights(opts.rows, opts.cols, opts.seed);
  console.log(`Generated weight [${shape.join(', ')}] (seed ${opts.seed}, every 17th row an outlier channel)`);
  const rows = [];
  for (const scheme of DEMO_SCHEMES) {
    const started = performance.now();
    const q = await quantize(x, shape, scheme, { backend: 'cpu' });
    const m = errorMetrics(x, await dequantize(q), shape, 0);
    const worst = m.perChannel.reduce((w, c, i) => (c.sqnrDb < (m.perChannel[w]?.sqnrDb ?? Infinity) ? i : w), 0);
    rows.push({
      scheme: describeScheme(q.scheme),
      scales: q.scales.length,
      MSE: m.mse.toExponential(3),
      'max |err|': m.maxAbsError.toExponential(3),
      'SQNR dB': m.sqnrDb.toFixed(2),
      'worst row': `${worst} (${m.perChannel[worst]?.sqnrDb.toFixed(2)} dB)`,
      ms: (performance.now() - started).toFixed(0),
    });
  }
  console.table(rows);
  console.log(`backend: cpu; ${x.byteLength} bytes in per scheme`);
}

function schemeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--dtype <dtype>', 'code type').argParser(choice(['int8', 'uint8', 'int4', 'uint4'] as const)))
    .option('--symmetric', 'zero point fixed (default)')
    .option('--asymmetric', 'affine: zero point from the data')
    .addOption(new Option('--granularity <g>', 'one scale per tensor, per channel or per group').argParser(choice(['tensor', 'channel', 'group'] as const)))
    .option('--axis <n>', 'the channel axis (default 0) or the axis groups run along (default last)', integer)
    .option('--block-size <n>', 'elements per group (default 32 for ggml, 128 otherwise)', positiveInt)
    .addOption(new Option('--profile <p>', `whose formulas: ${PROFILES.join(', ')} (default ggml for GGUF, pytorch for safetensors)`).argParser(choice(PROFILES)))
    .addOption(new Option('--calibration <method>', `how each range is chosen: ${listCalibrators().map((c) => c.name).join(', ')} (default minmax; not for ggml)`).argParser(choice(listCalibrators().map((c) => c.name))))
    .option('--percentile <P>', 'percentile calibration: clip at this percentile of |x| (or of each tail), in (0, 100] (default 99.9)', finiteNumber)
    .option('--mse-grid <n>', 'mse calibration: shrink steps per unit, candidates 1 − i/n down to a shrink of 0.2 (default 100)', integer)
    .option('--mse-norm <x>', 'mse calibration: the error exponent, Σ|x − dq|^x (default 2.4)', finiteNumber)
    .option('--include <pattern...>', 'quantize only tensors matching these globs')
    .option('--exclude <pattern...>', 'never quantize tensors matching these globs');
}

function symmetry(flags: { symmetric?: boolean; asymmetric?: boolean }): boolean | undefined {
  if (flags.symmetric && flags.asymmetric) throw new UsageError('--symmetric and --asymmetric exclude each other');
  return flags.asymmetric ? false : flags.symmetric;
}

/** The profiles the registered formats follow, for --profile. */
const PROFILES = [...new Set(listFormats().map((f) => f.profile))];

/** The registry, as a table: what `scheme.format`, `--profile` and `scheme.calibration` can name. */
function formatsCommand(): void {
  const rows = listFormats().map((f) => [
    f.name, f.profile, f.gguf ? `GGUF ${f.gguf.typeName}` : f.blocks ? `GGUF ${f.blocks.gguf.typeName}` : 'safetensors', f.summary,
  ]);
  const width = (i: number) => Math.max(...rows.map((r) => (r[i] as string).length));
  console.log('Formats (name, profile, file, what):');
  for (const r of rows) console.log(`  ${r.slice(0, 3).map((c, i) => c.padEnd(width(i))).join('  ')}  ${r[3]}`);
  console.log('Calibration methods:');
  for (const c of listCalibrators()) console.log(`  ${c.name.padEnd(8)}  ${c.summary}${c.gpu ? '' : ' (CPU only)'}`);
}

const program = new Command()
  .name('webgpu-quantizer')
  .description('Quantize model weights to INT8/INT4 on the GPU (WebGPU) or the CPU, bit-identical to a CPU reference.')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

schemeOptions(
  program
    .command('quantize')
    .description('quantize a safetensors or GGUF file, or a Hugging Face model folder: safetensors in the compressed-tensors layout, GGUF as Q8_0/Q4_0')
    .argument('<input>', 'a .safetensors or .gguf file, a model folder, or its model.safetensors.index.json')
    .requiredOption('-o, --output <path>', 'the quantized file (or folder, for a folder input) to write, under a temporary name, then renamed')
    .addOption(new Option('--format <format>', 'output format (default: the input\'s)').argParser(choice(['safetensors', 'gguf'] as const))),
)
  .addOption(new Option('--backend <backend>', 'auto: a hardware GPU if there is one, else the fast CPU engine (cpu); reference: the plain CPU reference').argParser(choice(['auto', 'webgpu', 'cpu', 'reference'] as const)).default('auto'))
  .option('--verify', 'also quantize on the CPU and compare every tensor bit for bit')
  .option('--report <file>', 'write the quality report as JSON')
  .option('--force', 'overwrite existing output files')
  .option('--max-shard-size <size>', 'model folder: tensor bytes per output shard at most, e.g. 5GB (the default), 500MB, 2GiB', byteSize)
  .option('--quantize-embeddings', 'safetensors: also quantize embeddings and lm_head (by default kept in their dtype and listed in ignore, as llm-compressor does)')
  .addOption(new Option('--type <type>', `GGUF: a llama-quantize file type, each tensor's type chosen by llama.cpp's rules: ${Object.keys(LLAMA_FILE_TYPES).join(', ')}`).argParser(choice(Object.keys(LLAMA_FILE_TYPES) as LlamaFileTypeName[])))
  .action(async (input: string, flags: QuantizeFlags & { asymmetric?: boolean }) => {
    const symmetric = symmetry(flags);
    await quantizeCommand(input, { ...flags, ...(symmetric === undefined ? {} : { symmetric }) });
  });

program
  .command('inspect')
  .description('list the tensors, dtypes, shapes, sizes, metadata and quantization of a model file or folder')
  .argument('<file>', 'a .safetensors or .gguf file, a model folder, or its model.safetensors.index.json')
  .action(inspectCommand);

schemeOptions(
  program
    .command('verify')
    .description('quantize every tensor on WebGPU and on the CPU and report every mismatch')
    .argument('<input>', 'a .safetensors or .gguf file, a model folder, or its model.safetensors.index.json'),
)
  .option('--limit <n>', 'mismatches listed per tensor', positiveInt, 20)
  .action(async (input: string, flags: SchemeFlags & { asymmetric?: boolean; limit: number }) => {
    const symmetric = symmetry(flags);
    await verifyCommand(input, { ...flags, ...(symmetric === undefined ? {} : { symmetric }) });
  });

program
  .command('formats')
  .description('list the quantized formats and calibration methods a scheme can name')
  .action(formatsCommand);

program
  .command('demo')
  .description('quantize a generated weight matrix with every profile and print the quality report')
  .option('--rows <n>', 'rows (output channels)', positiveInt, 512)
  .option('--cols <n>', 'columns (input features)', positiveInt, 1024)
  .option('--seed <n>', 'random seed', positiveInt, 1)
  .action(demoCommand);

program
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(`webgpu-quantizer: ${err instanceof Error ? err.message : String(err)}`);
    // A scheme the flags describe that cannot work is a usage error, like a bad flag.
    const usage = err instanceof UsageError || (err instanceof QuantizationError && /^(scheme|format)/.test(err.field ?? ''));
    process.exitCode = usage ? 2 : 1;
  })
  .finally(() => releaseDevice());
