// quantize.wgsl — codes for one chunk, packed little-endian into u32 words.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), code_scales, inverses,
//   zero_points (per parameter of the window from param_base, from calibrate.wgsl), packed (out:
//   the chunk's words), first_bad (atomic: the lowest flat index of a NaN or ±Inf, else 0xffffffff).
// Dispatch: one invocation per output word (4 codes at 8 bits, 8 at 4 bits), folded to 2-D.
// Invariants: the chunk starts at a multiple of 8 elements; lanes past the tensor's end are 0.
// Exactness: onnx rounds x / scale exactly (onnx_round, div_rn near halves); pytorch and ggml
//   multiply by the float32 reciprocal (WGSL
//   `*` is correctly rounded); ggml Q4_0's x·id + 8.5 is kept from fusing by launder(); rounding
//   uses WGSL `round` (half to even), trunc, or round_half_away — never a float mode WGSL leaves open.

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> code_scales: array<f32>;
@group(0) @binding(3) var<storage, read> inverses: array<f32>;
@group(0) @binding(4) var<storage, read> zero_points: array<i32>;
@group(0) @binding(5) var<storage, read_write> packed: array<u32>;
@group(0) @binding(6) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;

// onnx: round half to even of the correctly rounded quotient x / s, mostly without dividing.
// Why it is exact: inv = f32(1/s) and t = f32(x·inv) put t within |x/s|·2^-23 (1 + 2^-25) of x/s,
// so for |t| < 1024 within 2^-13 of it; float32 rounding moves x/s by at most 2^-14 there. When t
// is more than 2^-12 from every half-integer, x/s and its float32 rounding lie on the same side of
// each half as t, so all three round to the same integer. Near a half, or past 1024, div_rn decides.
fn onnx_round(x: f32, s: f32, inv: f32) -> f32 {
  let t = launder(x * inv);
  if (abs(t) < 1024.0 && abs(t - floor(t) - 0.5) > 0.000244140625) { return round(t); }
  return round(div_rn(x, s));
}

fn code_of(x: f32, p: u32) -> i32 {
  let zp = zero_points[p];
  var q = 0;
  if (P.profile == 0u) {
    q = to_int_sat(onnx_round(x, code_scales[p], inverses[p])) + zp;
  } else if (P.profile == 1u) {
    q = zp + to_int_sat(round(x * inverses[p]));
  } else if (P.bits == 8u) {
    q = to_int_sat(round_half_away(launder(x * inverses[p])));
  } else {
    return clamp(to_int_sat(trunc(launder(x * inverses[p]) + 8.5)), 0, 15) - 8;
  }
  return clamp(q, P.qmin, P.qmax);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = flat_id(gid);
  let per_word = 32u / P.bits;
  let words = (P.chunk_len + per_word - 1u) / per_word;
  if (w >= words) { return; }
  let mask = (1u << P.bits) - 1u;
  var word = 0u;
  for (var lane = 0u; lane < per_word; lane = lane + 1u) {
    let local = w * per_word + lane;
    if (local >= P.chunk_len) { break; }
    let bits = input[local];
    if (!is_finite_bits(bits)) { atomicMin(&first_bad, P.chunk_start + local); }
    let code = code_of(bitcast<f32>(bits), param_of(P.chunk_start + local) - P.param_base);
    word = word | ((bitcast<u32>(code) & mask) << (lane * P.bits));
  }
  packed[w] = word;
}
