// common.wgsl — shared by every kernel (prepended by src/webgpu/shaders.ts).
//
// The uniform `P` describes one tensor as [outer, axis_len, inner] around its quantized axis and
// the chunk of it bound to this dispatch. Field order must match PARAM_FIELDS in
// src/webgpu/shaders.ts, which derives the byte layout (every field is 4 bytes).
//
// What selects code paths is not in `P` but compiled in: src/webgpu/shaders.ts prepends
// `const PROFILE` (compared with PROFILE_ONNX, PROFILE_PYTORCH, PROFILE_GGML), `BITS` (8 or 4),
// `GRANULARITY` (GRANULARITY_TENSOR, _CHANNEL, _GROUP), `SYMMETRIC`, `GIVEN` (1 when the caller
// supplied scales), `UNIFORM_WORDS` (quantize.wgsl: every word's elements share a parameter) and
// `SUBGROUPS` (read by no kernel: it keys the row kernel built with row_partials_subgroups.wgsl)
// to each pipeline's source, with the named values those compare against, `RUN_WORDS`
// (quantize.wgsl's words per invocation per tensor, which the host dispatches by) and the
// statistics record's word offsets `STAT_MIN` … `STAT_FIRST_BAD` and length `STAT_WORDS`. A
// branch on a uniform still costs every lane both sides on a CPU emulation such as SwiftShader,
// and a real GPU gains too from code it never has to skip.
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
  param_count: u32,
  chunk_start: u32,
  chunk_len: u32,
  slices: u32,        // reduction slices per parameter in this chunk
  slice_len: u32,
  qmin: i32,
  qmax: i32,
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
  if (GRANULARITY == GRANULARITY_TENSOR) { return 0u; }
  let row = i / P.inner;
  let n = i % P.inner;
  let k = row % P.axis_len;
  if (GRANULARITY == GRANULARITY_CHANNEL) { return k; }
  let o = row / P.axis_len;
  return (o * P.num_blocks + k / P.block) * P.inner + n;
}

// A tensor seen as [outer, axis_len, inner] around an axis, with its parameters: one for the
// tensor (granularity 0), one per index of the axis (1), or one per block (2). Reductions use it
// for the quantization layout and for the per-channel metrics layout alike.
struct Layout {
  numel: u32,
  outer: u32,
  axis_len: u32,
  inner: u32,
  block: u32,
  num_blocks: u32,
  granularity: u32,
}

fn quant_layout() -> Layout {
  return Layout(P.numel, P.outer, P.axis_len, P.inner, P.block, P.num_blocks, GRANULARITY);
}

fn member_count(L: Layout, p: u32) -> u32 {
  if (L.granularity == GRANULARITY_TENSOR) { return L.numel; }
  if (L.granularity == GRANULARITY_CHANNEL) { return L.outer * L.inner; }
  let b = (p / L.inner) % L.num_blocks;
  return min(L.block, L.axis_len - b * L.block);
}

// Flat index of the j-th member (in flat order) of parameter p.
fn member(L: Layout, p: u32, j: u32) -> u32 {
  if (L.granularity == GRANULARITY_TENSOR) { return j; }
  if (L.granularity == GRANULARITY_CHANNEL) {
    return ((j / L.inner) * L.axis_len + p) * L.inner + j % L.inner;
  }
  let n = p % L.inner;
  let t = p / L.inner;
  let b = t % L.num_blocks;
  let o = t / L.num_blocks;
  return (o * L.axis_len + b * L.block + j) * L.inner + n;
}

// How many members of parameter p have a flat index below c. Members map to increasing flat
// indices, so those inside a chunk [c0, c1) are exactly count_below(c0) .. count_below(c1).
fn count_below(L: Layout, p: u32, c: u32) -> u32 {
  if (L.granularity == GRANULARITY_TENSOR) { return min(c, L.numel); }
  if (L.granularity == GRANULARITY_CHANNEL) {
    let rowc = c / L.inner;
    var full = 0u;
    if (rowc > p) { full = min(L.outer, (rowc - p + L.axis_len - 1u) / L.axis_len); }
    var part = 0u;
    if (rowc % L.axis_len == p && rowc / L.axis_len < L.outer) { part = c % L.inner; }
    return full * L.inner + part;
  }
  let n = p % L.inner;
  if (c <= n) { return 0u; }
  let rows = (c - n + L.inner - 1u) / L.inner;
  let t = p / L.inner;
  let b = t % L.num_blocks;
  let o = t / L.num_blocks;
  let first_row = o * L.axis_len + b * L.block;
  if (rows <= first_row) { return 0u; }
  return min(rows - first_row, member_count(L, p));
}

// The code of element `local` of a chunk from its packed words, sign-extended for signed types.
fn unpack_code(word: u32, local: u32) -> i32 {
  let per_word = 32u / BITS;
  let mask = (1u << BITS) - 1u;
  var code = i32((word >> ((local % per_word) * BITS)) & mask);
  if (P.qmin < 0 && code > i32(mask >> 1u)) { code = code - i32(mask) - 1; }
  return code;
}

fn is_finite_bits(b: u32) -> bool {
  return (b & 0x7f800000u) != 0x7f800000u;
}
