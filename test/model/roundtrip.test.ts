// A model quantized, written, read back with the project's readers and decoded here by hand:
// every value must equal the CPU reference's dequantization, and pass-through bytes the input's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dequantize, quantize, reference } from '../../src/index.js';
import type { QuantScheme } from '../../src/index.js';
import { readGguf } from '../../src/formats/gguf.js';
import { bytesSource, memorySink } from '../../src/formats/io.js';
import { modelTensors, openModel, readTensorF32 } from '../../src/formats/model.js';
import { readSafetensors } from '../../src/formats/safetensors.js';
import { quantizeModel } from '../../src/model/quantize-model.js';

const fixture = (name: string) => bytesSource(new Uint8Array(readFileSync(new URL(`../../models/${name}`, import.meta.url))), name);

function f32Equal(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

/** Q8_0 / Q4_0 blocks decoded by llama.cpp's dequantize_row rules: y = code · d. */
function decodeGgml(bytes: Uint8Array, type: 'Q8_0' | 'Q4_0', count: number): Float32Array {
  const out = new Float32Array(count);
  const blockBytes = type === 'Q8_0' ? 34 : 18;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / 32; b++) {
    const d = reference.f16BitsToF32(view.getUint16(b * blockBytes, true));
    for (let j = 0; j < 32; j++) {
      let code: number;
      if (type === 'Q8_0') code = view.getInt8(b * blockBytes + 2 + j);
      else {
        const byte = view.getUint8(b * blockBytes + 2 + (j % 16));
        code = (j < 16 ? byte & 0xf : byte >> 4) - 8;
      }
      out[b * 32 + j] = Math.fround(code * d);
    }
  }
  return out;
}

describe('GGUF round trip', () => {
  for (const [dtype, type] of [['int8', 'Q8_0'], ['int4', 'Q4_0']] as const) {
    it(`${type}: quantized tensors decode to the CPU reference; the rest is F16 or byte-identical`, async () => {
      const input = await openModel(fixture('stories260K.gguf'));
      const scheme: QuantScheme = { dtype, symmetric: true, granularity: 'group', blockSize: 32, profile: 'ggml' };
      const sink = memorySink();
      const report = await quantizeModel(input, sink, { scheme, backend: 'cpu' });
      const bytes = sink.bytes();
      expect(report.output.bytes).toBe(bytes.byteLength);
      const output = await readGguf(bytesSource(bytes, 'out.gguf'));
      expect(output.tensors.length).toBe(48);
      for (const t of modelTensors(input)) {
        const o = output.tensors.find((e) => e.name === t.name);
        if (!o) throw new Error(`missing ${t.name}`);
        const data = await output.source.read(o.offset, o.byteLength);
        const x = await readTensorF32(input, t.name);
        if (t.shape.length === 1) {
          expect([t.name, o.typeName]).toEqual([t.name, 'F32']);
          expect(data).toEqual(await input.source.read(t.offset, t.byteLength));
        } else if ((t.shape.at(-1) ?? 0) % 32 !== 0) {
          expect([t.name, o.typeName]).toEqual([t.name, 'F16']);
          const halves = new Uint16Array(data.slice().buffer);
          expect(Array.from(halves)).toEqual(Array.from(x, (v) => reference.f32ToF16Bits(v)));
        } else {
          expect([t.name, o.typeName]).toEqual([t.name, type]);
          const expected = await dequantize(await quantize(x, t.shape, scheme));
          expect(f32Equal(decodeGgml(data, type, x.length), expected)).toBe(true);
        }
      }
    });
  }
});

describe('safetensors (compressed-tensors) round trip', () => {
  it('int8 per channel: weight_packed and weight_scale decode to the CPU reference; the rest is byte-identical', async () => {
    const input = await openModel(fixture('mnist.safetensors'));
    const scheme: QuantScheme = { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' };
    const sink = memorySink();
    const report = await quantizeModel(input, sink, { scheme, backend: 'cpu' });
    const output = await readSafetensors(bytesSource(sink.bytes(), 'out.safetensors'));
    expect(JSON.parse(output.metadata?.quantization_config ?? '{}')).toEqual(report.quantizationConfig);
    const byName = new Map(output.tensors.map((t) => [t.name, t]));
    for (const t of modelTensors(input)) {
      if (t.name === 'fc1.weight' || t.name === 'fc2.weight') {
        const [rows, cols] = t.shape as [number, number];
        const packed = byName.get(`${t.name}_packed`);
        const scale = byName.get(`${t.name}_scale`);
        if (!packed || !scale) throw new Error(`missing outputs of ${t.name}`);
        expect(scale.shape).toEqual([rows, 1]);
        const words = new DataView((await output.source.read(packed.offset, packed.byteLength)).slice().buffer);
        const scales = new Float32Array((await output.source.read(scale.offset, scale.byteLength)).slice().buffer);
        // pack_to_int32: codes + 128 as bytes, four per int32 along the row, element 0 lowest.
        const perRow = Math.ceil(cols / 4);
        const decoded = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const byte = words.getUint8((r * perRow + Math.floor(c / 4)) * 4 + (c % 4));
            decoded[r * cols + c] = Math.fround((scales[r] as number) * (byte - 128));
          }
        }
        const x = await readTensorF32(input, t.name);
        expect(f32Equal(decoded, await dequantize(await quantize(x, t.shape, scheme)))).toBe(true);
      } else {
        const o = byName.get(t.name);
        if (!o) throw new Error(`missing ${t.name}`);
        expect([o.dtype, o.shape]).toEqual([t.dtype, t.shape]);
        expect(await output.source.read(o.offset, o.byteLength)).toEqual(await input.source.read(t.offset, t.byteLength));
      }
    }
  });
});
