#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { dequantize, errorMetrics, quantize } from '../index.js';
import { syntheticWeights } from '../synthetic.js';
import type { QuantScheme } from '../types.js';

const DEMO_SCHEMES: QuantScheme[] = [
  { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' },
  { dtype: 'uint8', symmetric: false, granularity: 'tensor', profile: 'onnx' },
  { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' },
  { dtype: 'uint8', symmetric: false, granularity: 'channel', profile: 'pytorch' },
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'onnx' },
  { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 128, profile: 'onnx' },
  { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
  { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' },
];

function describeScheme(s: QuantScheme): string {
  const ggml = s.profile === 'ggml' ? (s.dtype === 'int8' ? ' (Q8_0)' : ' (Q4_0)') : '';
  const gran = s.granularity === 'group' ? `group ${s.blockSize}` : s.granularity;
  return `${s.profile} ${s.dtype} ${s.symmetric ? 'sym' : 'asym'} ${gran}${ggml}`;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

async function demo(opts: { rows: number; cols: number; seed: number }): Promise<void> {
  const shape = [opts.rows, opts.cols];
  const x = syntheticWeights(opts.rows, opts.cols, opts.seed);
  console.log(`Generated weight [${shape.join(', ')}] (seed ${opts.seed}, every 17th row an outlier channel)`);
  const rows = [];
  for (const scheme of DEMO_SCHEMES) {
    const started = performance.now();
    const q = await quantize(x, shape, scheme, { backend: 'cpu' });
    const y = await dequantize(q);
    const m = errorMetrics(x, y, shape, 0);
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

const program = new Command()
  .name('webgpu-quantizer')
  .description('Quantize neural-network weights to INT8/INT4, bit-identical to a CPU reference.')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('demo')
  .description('quantize a generated weight matrix with every profile and print the quality report')
  .option('--rows <n>', 'rows (output channels)', positiveInt, 512)
  .option('--cols <n>', 'columns (input features)', positiveInt, 1024)
  .option('--seed <n>', 'random seed', positiveInt, 1)
  .action(demo);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`webgpu-quantizer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
