// kq4_k.wgsl — ggml's Q4_K (quantize_row_q4_K_ref, no importance matrix): one invocation per
// super-block of 256, the same search as src/cpu/kquants.ts's fitQ45K / makeQkx2Quants in the
// same float32 steps (shaders/kquant_common.wgsl says how each is exact).
//
// Bindings: P (uniform), input (the window's values), blocks (out: block t at word t · 36),
// first_bad (atomic: lowest flat index of a NaN or ±Inf).
// Layout (block_q4_K, 144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, qs[128].

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> blocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;
const STRIDE: u32 = 36u;
const NMAX: i32 = 15;
const NSTEP: i32 = 20;
const RMIN: f32 = -1.0;
const RDELTA: f32 = 0.1;
const QKX2_N: u32 = 32u;
const USE_MAD: bool = false;

var<private> L: array<u32, 256>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count) { return; }
  start_super_block(t);
  var scales: array<f32, 8>;
  var mins: array<f32, 8>;
  var max_scale = 0.0;
  var max_min = 0.0;
  for (var j = 0u; j < 8u; j = j + 1u) {
    let o = 32u * j;
    var sum_x2 = 0.0;
    for (var l = 0u; l < 32u; l = l + 1u) { sum_x2 = (sum_x2 + fmul(xs[o + l], xs[o + l])); }
    let av_x = sqrt_rn(fdiv(sum_x2, 32.0));
    for (var l = 0u; l < 32u; l = l + 1u) { weights[l] = (av_x + abs(xs[o + l])); }
    let sm = make_qkx2(o);
    scales[j] = sm.x;
    mins[j] = sm.y;
    if (flt(max_scale, sm.x)) { max_scale = sm.x; }
    if (flt(max_min, sm.y)) { max_min = sm.y; }
  }
  let inv_scale = select(0.0, fdiv(63.0, max_scale), flt(0.0, max_scale));
  let inv_min = select(0.0, fdiv(63.0, max_min), flt(0.0, max_min));
  var ls: array<u32, 8>;
  var lm: array<u32, 8>;
  for (var j = 0u; j < 8u; j = j + 1u) {
    ls[j] = min(63u, u32(nearest_int(fmul(inv_scale, scales[j]))) & 0xffu);
    lm[j] = min(63u, u32(nearest_int(fmul(inv_min, mins[j]))) & 0xffu);
  }
  let d = f16_round(fdiv(max_scale, 63.0));
  let dmin = f16_round(fdiv(max_min, 63.0));
  put_half(0u, d);
  put_half(2u, dmin);
  for (var j = 0u; j < 4u; j = j + 1u) {
    put_byte(4u + j, ls[j] | ((ls[j + 4u] >> 4u) << 6u));
    put_byte(8u + j, lm[j] | ((lm[j + 4u] >> 4u) << 6u));
    put_byte(12u + j, (ls[j + 4u] & 0xfu) | ((lm[j + 4u] & 0xfu) << 4u));
  }
  for (var j = 0u; j < 8u; j = j + 1u) {
    let dj = fmul(d, f32(ls[j]));
    if (is_zero(dj)) { continue; }
    let dm = fmul(dmin, f32(lm[j]));
    for (var ii = 0u; ii < 32u; ii = ii + 1u) {
      L[32u * j + ii] = u32(clamp(nearest_int(fdiv((xs[32u * j + ii] + dm), dj)), 0, NMAX));
    }
  }
  for (var j = 0u; j < 256u; j = j + 64u) {
    for (var l = 0u; l < 32u; l = l + 1u) { put_byte(16u + j / 2u + l, L[j + l] | (L[j + l + 32u] << 4u)); }
  }
  for (var w = 0u; w < STRIDE; w = w + 1u) { blocks[t * STRIDE + w] = out_words[w]; }
}
