// dequantize.wgsl — R = S·(Q − Z) in float32 for one chunk.
//
// Bindings: P (uniform), packed (the chunk's words), scales, zero_points (per parameter of the
//   window from param_base),
//   output (out: the chunk's float32 values).
// Dispatch: one invocation per packed word, folded to 2-D.
// Exactness: Q − Z is an exact integer and f32(Q − Z) is exact (|Q − Z| < 2^9); the product is
//   correctly rounded in WGSL.

@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> zero_points: array<i32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = flat_id(gid);
  let per_word = 32u / BITS;
  let words = (P.chunk_len + per_word - 1u) / per_word;
  if (w >= words) { return; }
  let word = packed[w];
  for (var lane = 0u; lane < per_word; lane = lane + 1u) {
    let local = w * per_word + lane;
    if (local >= P.chunk_len) { break; }
    let code = unpack_code(word, local);
    let p = param_of(P.chunk_start + local) - P.param_base;
    output[local] = scales[p] * f32(code - zero_points[p]);
  }
}
