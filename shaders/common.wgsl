// common.wgsl — shared by every kernel (prepended by src/webgpu/shaders.ts).
//
// The uniform `P` describes one tensor as [outer, axis_len, inner] around its quantized axis and
// the chunk of it bound to this dispatch. Field order must match PARAM_FIELDS in
// src/webgpu/shaders.ts, which derives the byte layout (every field is 4 bytes).
//
// Invariants: numel < 2^31, so every flat index and product below fits in u32; a chunk starts at
// a multiple of 8 elements, so packed words never straddle chunks.

struct Params {
  numel: u32,
  outer: u32,
  axis_len: u32,
  inner: u32,
  block: u32,
  num_blocks: u32,
  granularity: u32,   // 0 tensor, 1 channel, 2 group
  param_count: u32,
  chunk_start: u32,
  chunk_len: u32,
  slices: u32,        // reduction slices per parameter in this chunk
  slice_len: u32,
  profile: u32,       // 0 onnx, 1 pytorch, 2 ggml
  bits: u32,          // 8 or 4
  qmin: i32,
  qmax: i32,
  symmetric: u32,
  given: u32,         // 1 when the caller supplied scales (quantizeWithParams)
  zero: u32,          // always 0 at run time; see launder()
  row_threads: u32,   // invocations per row of a folded 2-D dispatch
  m_outer: u32,       // metrics: the tensor as [m_outer, m_axis_len, m_inner] around the metrics axis
  m_axis_len: u32,
  m_inner: u32,
  param_base: u32,   // first parameter of this dispatch's window; buffers hold params from here
}

@group(0) @binding(0) var<uniform> P: Params;

// Flat invocation index of a dispatch folded into 2-D past maxComputeWorkgroupsPerDimension.
fn flat_id(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * P.row_threads;
}

// A product that feeds an addition must be rounded on its own: WGSL lets a compiler contract
// a * b + c into a fused multiply-add, which rounds once and changes results. Passing the product
// through an XOR with a uniform the compiler cannot see (always 0) forces it to be materialised.
fn launder(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ P.zero);
}

// Index (global, ONNX layout) of the scale/zero point that element i (flat) uses.
fn param_of(i: u32) -> u32 {
  if (P.granularity == 0u) { return 0u; }
  let row = i / P.inner;
  let n = i % P.inner;
  let k = row % P.axis_len;
  if (P.granularity == 1u) { return k; }
  let o = row / P.axis_len;
  return (o * P.num_blocks + k / P.block) * P.inner + n;
}

fn is_finite_bits(b: u32) -> bool {
  return (b & 0x7f800000u) != 0x7f800000u;
}
