// shaders/exact.wgsl on the device, against float32 arithmetic done by the CPU (a float64 quotient
// of two float32 values rounded once to float32 is the correctly rounded float32 quotient).
import { afterAll, describe, expect, it } from 'vitest';
import { reference, releaseDevice } from '../../src/index.js';
import { gpuContext } from '../../src/webgpu/device.js';
import { encodeParams, LIBRARY_SOURCE, PARAM_FIELDS, SPEC_FIELDS, specHeader, type UniformValues } from '../../src/webgpu/shaders.js';
import { seededRandom } from '../../src/synthetic.js';

afterAll(releaseDevice);

/** Runs `expr` (WGSL over a: f32, b: f32, returning u32) for every pair on the device. */
async function evaluate(expr: string, a: Float32Array, b: Float32Array): Promise<Uint32Array> {
  const { device } = await gpuContext();
  const values = { ...Object.fromEntries([...PARAM_FIELDS, ...SPEC_FIELDS].map((f) => [f, 0])), bits: 8 } as UniformValues;
  const code = `${specHeader(values)}${LIBRARY_SOURCE}
@group(0) @binding(1) var<storage, read> xs: array<u32>;
@group(0) @binding(2) var<storage, read> ys: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&out) + P.zero) { return; }
  let a = bitcast<f32>(xs[i]);
  let b = bitcast<f32>(ys[i]);
  out[i] = ${expr};
}`;
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const make = (data: ArrayBufferView | null, size: number, usage: number) => {
    const buf = device.createBuffer({ size, usage });
    if (data) device.queue.writeBuffer(buf, 0, data as GPUAllowSharedBufferSource);
    return buf;
  };
  const uniform = make(new Uint8Array(encodeParams(values)), PARAM_FIELDS.length * 4, 0x40 | 0x8);
  const xs = make(a, a.byteLength, 0x80 | 0x8);
  const ys = make(b, b.byteLength, 0x80 | 0x8);
  const out = make(null, a.byteLength, 0x80 | 0x4);
  const staging = make(null, a.byteLength, 0x1 | 0x8);
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [uniform, xs, ys, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
  }));
  pass.dispatchWorkgroups(Math.ceil(a.length / 64));
  pass.end();
  enc.copyBufferToBuffer(out, 0, staging, 0, a.byteLength);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1);
  const result = new Uint32Array(staging.getMappedRange().slice(0));
  for (const buf of [uniform, xs, ys, out, staging]) buf.destroy();
  return result;
}

function bits(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

/** Float32 values spread over every exponent, subnormals and signed zeros included. */
function spread(n: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const exponent = Math.floor(rand() * 254);
    out[i] = ((rand() < 0.5 ? 0x80000000 : 0) | (exponent << 23) | Math.floor(rand() * 0x800000)) >>> 0;
  }
  out.set([0, 0x80000000, 1, 0x807fffff, 0x00800000, 0x7f7fffff, 0x3f800000, 0x40000000]);
  return new Float32Array(out.buffer);
}

describe('exact arithmetic on the device', () => {
  it('div_rn is the correctly rounded quotient, subnormals, overflow, infinite numerators and signed zeros included', async () => {
    const a = spread(20000, 1);
    const b = spread(20000, 2).map((v) => (v === 0 ? 3 : v));
    // Near ties: quotients that fall within a few ulps of k.5, where a 2.5-ulp division misrounds.
    const rand = seededRandom(3);
    for (let i = 0; i < 4000; i++) {
      const scale = Math.fround(0.001 + rand());
      const k = Math.floor(rand() * 256) - 128;
      const tie = new Float32Array([(k + 0.5) * scale]);
      bits(tie)[0] = (bits(tie)[0] as number) + Math.floor(rand() * 5) - 2;
      a[i] = tie[0] as number;
      b[i] = scale;
    }
    // Exact quotients with 24 significant bits that land among the subnormals, where the bits
    // shifted out alone decide the rounding.
    for (let i = 4000; i < 6000; i++) {
      a[i] = (1 + rand()) * 2 ** -100;
      b[i] = 2 ** (27 + Math.floor(rand() * 26));
    }
    // An infinite numerator (a range past the float32 span): the quotient is infinite too.
    a.set([Infinity, -Infinity, Infinity], 6000);
    b.set([3, 3, -0.5], 6000);
    const got = await evaluate('bitcast<u32>(div_rn(a, b))', a, b);
    const want = bits(a.map((x, i) => Math.fround(x / (b[i] as number))));
    const bad = Array.from(got).findIndex((g, i) => g !== want[i]);
    expect(bad === -1 ? 'all equal' : `pair ${bad}: ${a[bad]} / ${b[bad]} gave bits ${got[bad]?.toString(16)}, want ${want[bad]?.toString(16)}`).toBe('all equal');
  });

  it('div_rn_127 is the correctly rounded quotient by 127, ties and subnormals included', async () => {
    const a = spread(20000, 6);
    // Quotients within a few ulps of a tie: k + 1/2 ulps of the result, times 127.
    const rand = seededRandom(7);
    for (let i = 0; i < 4000; i++) {
      const tie = new Float32Array([Math.fround((1 + rand()) * 2 ** (Math.floor(rand() * 60) - 30)) * 127]);
      bits(tie)[0] = (bits(tie)[0] as number) + Math.floor(rand() * 5) - 2;
      a[i] = tie[0] as number;
    }
    const got = await evaluate('bitcast<u32>(div_rn_127(a))', a, a);
    const want = bits(a.map((x) => Math.fround(x / 127)));
    const bad = Array.from(got).findIndex((g, i) => g !== want[i]);
    expect(bad === -1 ? 'all equal' : `${a[bad]} / 127 gave bits ${got[bad]?.toString(16)}, want ${want[bad]?.toString(16)}`).toBe('all equal');
  });

  it('f16_round rounds to the nearest float16 like the CPU reference, ties to even, overflow to Inf', async () => {
    const a = spread(20000, 4);
    const rand = seededRandom(5);
    for (let i = 0; i < 6000; i++) a[i] = (rand() - 0.5) * 2 ** (Math.floor(rand() * 50) - 30);
    // Every midpoint between neighbouring halves (ties), and its float32 neighbours.
    const halves = Float32Array.from({ length: 0x7c00 }, (_, h) => reference.f16BitsToF32(h));
    const midpoints: number[] = [];
    for (let h = 0; h + 1 < halves.length; h++) {
      const mid = new Float32Array([((halves[h] as number) + (halves[h + 1] as number)) / 2]);
      const b = bits(mid)[0] as number;
      for (const m of [b - 1, b, b + 1]) midpoints.push(m, m | 0x80000000);
    }
    const f16Max = 65504;
    const values = Float32Array.from([
      ...a, ...new Float32Array(Uint32Array.from(midpoints).buffer),
      f16Max, 65519.996, 65520, -65520, Infinity, -Infinity, NaN, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -14 * 0.99999994,
    ]);
    const got = await evaluate('bitcast<u32>(f16_round(a))', values, values);
    const want = Array.from(values, (v) => reference.f32Bits(reference.f16BitsToF32(reference.f32ToF16Bits(v))));
    const bad = Array.from(got).findIndex((g, i) => g !== want[i] && !(Number.isNaN(values[i]) && (g & 0x7fffffff) > 0x7f800000));
    expect(bad === -1 ? 'all equal' : `${values[bad]} gave bits ${got[bad]?.toString(16)}, want ${want[bad]?.toString(16)}`).toBe('all equal');
  });

  it('round_half_away and round_half_away4 are C roundf, and to_int_sat / to_int_sat4_of saturate instead of overflowing', async () => {
    const a = Float32Array.from([0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, -0.49999997, 126.5, 3.4e38, -3.4e38, 40000.5, -7.25]);
    const got = new Int32Array((await evaluate('bitcast<u32>(to_int_sat(round_half_away(a)))', a, a)).buffer);
    expect(Array.from(got)).toEqual([1, -1, 2, 3, -3, 0, 0, 127, 32767, -32768, 32767, -7]);
    const withInf = Float32Array.from([...a, Infinity, -Infinity, 8388607.5, -8388607.5, 16777215, -1.5]);
    const vec = 'bitcast<u32>(to_int_sat4_of(round_half_away4(vec4<f32>(a)), vec4<f32>(a)).x)';
    const got4 = new Int32Array((await evaluate(vec, withInf, withInf)).buffer);
    expect(Array.from(got4)).toEqual([1, -1, 2, 3, -3, 0, 0, 127, 32767, -32768, 32767, -7, 32767, -32768, 32767, -32768, 32767, -2]);
  });
});

describe('uniform layout', () => {
  it('PARAM_FIELDS lists struct Params of shaders/common.wgsl in order', () => {
    const struct = /struct Params \{([^}]*)\}/.exec(LIBRARY_SOURCE)?.[1] ?? '';
    const fields = struct.split('\n').map((l) => l.trim().split(':')[0]).filter((f) => f && !f.startsWith('//'));
    expect(fields).toEqual([...PARAM_FIELDS]);
  });
});
