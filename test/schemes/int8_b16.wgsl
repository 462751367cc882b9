// int8_b16.wgsl — the kernel of the registry test's toy format: symmetric int8 in blocks of 16
// along the last axis. scale = amax / 127 correctly rounded (1 for an all-zero block); code =
// round half to even of x / scale correctly rounded, clamped to [-127, 127].
//
// Bindings: P (uniform), input (the window's values), scales, zero_points (out, per block from
//   P.param_base), packed (out: the window's words), first_bad (atomic: lowest flat index of a
//   NaN or ±Inf).
// Dispatch: one invocation per block of the window (P.param_count), folded to 2-D.
// Exactness: both divisions through div_rn; WGSL's round is half to even.

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_points: array<i32>;
@group(0) @binding(4) var<storage, read_write> packed: array<u32>;
@group(0) @binding(5) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;
const BLOCK: u32 = 16u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count) { return; }
  let first = t * BLOCK;
  var peak = 0u;
  for (var j = 0u; j < BLOCK; j = j + 1u) {
    let bits = bitcast<u32>(input[first + j]);
    if (!is_finite_bits(bits)) { atomicMin(&first_bad, P.chunk_start + first + j); }
    peak = max(peak, bits & 0x7fffffffu);
  }
  var scale = div_rn(bitcast<f32>(peak), 127.0);
  if (bitcast<u32>(scale) == 0u) { scale = 1.0; }
  scales[P.param_base + t] = scale;
  zero_points[P.param_base + t] = 0;
  for (var w = 0u; w < BLOCK / 4u; w = w + 1u) {
    var word = 0u;
    for (var k = 0u; k < 4u; k = k + 1u) {
      let code = clamp(to_int_sat(round(div_rn(input[first + w * 4u + k], scale))), -127, 127);
      word = word | ((u32(code) & 0xffu) << (k * 8u));
    }
    packed[t * (BLOCK / 4u) + w] = word;
  }
}
