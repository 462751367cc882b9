import { dequantize, errorMetrics, quantize, type QuantScheme } from '../src/index.js';
import { syntheticWeights } from '../src/synthetic.js';

const SCHEMES: [string, QuantScheme][] = [
  ['ONNX int8 symmetric, per tensor', { dtype: 'int8', symmetric: true, granularity: 'tensor', profile: 'onnx' }],
  ['PyTorch int8 symmetric, per channel', { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' }],
  ['ONNX uint4 asymmetric, groups of 128', { dtype: 'uint4', symmetric: false, granularity: 'group', blockSize: 128, profile: 'onnx' }],
  ['GGUF Q8_0', { dtype: 'int8', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
  ['GGUF Q4_0', { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' }],
];

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const status = element<HTMLParagraphElement>('status');
const table = element<HTMLTableElement>('report');

element<HTMLFormElement>('form').addEventListener('submit', (event) => {
  event.preventDefault();
  const rows = Number(element<HTMLInputElement>('rows').value);
  const cols = Number(element<HTMLInputElement>('cols').value);
  void run(rows, cols).catch((err: unknown) => {
    status.className = 'error';
    status.textContent = err instanceof Error ? err.message : String(err);
  });
});

async function run(rows: number, cols: number): Promise<void> {
  status.className = '';
  status.textContent = 'Quantizing…';
  const shape = [rows, cols];
  const x = syntheticWeights(rows, cols, 1);
  const body = table.tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren();
  for (const [label, scheme] of SCHEMES) {
    const tr = body.insertRow();
    tr.insertCell().textContent = label;
    try {
      const q = await quantize(x, shape, scheme, { backend: 'cpu' });
      const m = errorMetrics(x, await dequantize(q), shape);
      for (const cell of [String(q.scales.length), m.mse.toExponential(3), m.maxAbsError.toExponential(3), m.sqnrDb.toFixed(2)]) {
        tr.insertCell().textContent = cell;
      }
    } catch (err) {
      // One scheme that cannot express this shape (ggml needs rows of 32) should not hide the others.
      const cell = tr.insertCell();
      cell.colSpan = 4;
      cell.className = 'error';
      cell.textContent = err instanceof Error ? err.message : String(err);
    }
  }
  table.hidden = false;
  status.textContent = `Done: ${rows}×${cols} weights quantized on the CPU backend.`;
}
