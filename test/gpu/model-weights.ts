// The F32 weights (rank ≥ 2) of a safetensors file's bytes, read with a few lines of code
// independent of the library's readers: the calibration suites' real data, in Node and in a page.

export interface ModelWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export function parseSafetensors(bytes: Uint8Array): ModelWeight[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string, { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  return Object.entries(header)
    .filter(([name, t]) => name !== '__metadata__' && t.dtype === 'F32' && t.shape.length >= 2)
    .map(([name, t]) => {
      const [begin, end] = t.data_offsets;
      // A copy, aligned for Float32Array (Node's Buffer.slice would share the file's bytes).
      const copy = new Uint8Array(end - begin);
      copy.set(bytes.subarray(8 + headerLength + begin, 8 + headerLength + end));
      return { name, shape: t.shape, data: new Float32Array(copy.buffer) };
    });
}
