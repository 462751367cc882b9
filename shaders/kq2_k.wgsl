// kq2_k.wgsl — ggml's Q2_K (quantize_row_q2_K_ref, no importance matrix): one invocation per
// super-block of 256, the same search as src/cpu/kquants.ts's quantizeQ2K / makeQkx2Quants in the
// same float32 steps (shaders/kquant_common.wgsl says how each is exact): sixteen sub-blocks of
// 16 fitted to 2-bit codes with weights |x| and the absolute error, scales and mins to 4 bits.
//
// Bindings: P (uniform), input (the window's values), blocks (out: block t at word t · 21),
// first_bad (atomic: lowest flat index of a NaN or ±Inf).
// Layout (block_q2_K, 84 bytes): scales[16] (low nibble scale, high nibble min), qs[64], f16 d, f16 dmin.

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> blocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;
const STRIDE: u32 = 21u;
const NMAX: i32 = 3;
const NSTEP: i32 = 15;
const RMIN: f32 = -0.5;
const RDELTA: f32 = 0.1;
const QKX2_N: u32 = 16u;
const USE_MAD: bool = true;

var<private> L: array<u32, 256>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count) { return; }
  start_super_block(t);
  var scales: array<f32, 16>;
  var mins: array<f32, 16>;
  var max_scale = 0.0;
  var max_min = 0.0;
  for (var j = 0u; j < 16u; j = j + 1u) {
    for (var l = 0u; l < 16u; l = l + 1u) { weights[l] = abs(xs[16u * j + l]); }
    let sm = make_qkx2(16u * j);
    scales[j] = sm.x;
    mins[j] = sm.y;
    if (flt(max_scale, sm.x)) { max_scale = sm.x; }
    if (flt(max_min, sm.y)) { max_min = sm.y; }
  }
  // The scale bytes as C writes them: uint8_t of each code, the min's code OR-ed in shifted by 4.
  var sc: array<u32, 16>;
  var d = 0.0;
  var dmin = 0.0;
  if (flt(0.0, max_scale)) {
    let iscale = fdiv(15.0, max_scale);
    for (var j = 0u; j < 16u; j = j + 1u) { sc[j] = u32(nearest_int(fmul(iscale, scales[j]))) & 0xffu; }
    d = f16_round(fdiv(max_scale, 15.0));
    put_half(80u, d);
  }
  if (flt(0.0, max_min)) {
    let iscale = fdiv(15.0, max_min);
    for (var j = 0u; j < 16u; j = j + 1u) { sc[j] = (sc[j] | (u32(nearest_int(fmul(iscale, mins[j]))) << 4u)) & 0xffu; }
    dmin = f16_round(fdiv(max_min, 15.0));
    put_half(82u, dmin);
  }
  for (var j = 0u; j < 16u; j = j + 1u) {
    put_byte(j, sc[j]);
    let dj = fmul(d, f32(sc[j] & 0xfu));
    if (is_zero(dj)) { continue; }
    let dm = fmul(dmin, f32(sc[j] >> 4u));
    for (var ii = 0u; ii < 16u; ii = ii + 1u) {
      L[16u * j + ii] = u32(clamp(nearest_int(fdiv((xs[16u * j + ii] + dm), dj)), 0, NMAX));
    }
  }
  for (var j = 0u; j < 256u; j = j + 128u) {
    for (var l = 0u; l < 32u; l = l + 1u) {
      put_byte(16u + j / 4u + l, L[j + l] | (L[j + l + 32u] << 2u) | (L[j + l + 64u] << 4u) | (L[j + l + 96u] << 6u));
    }
  }
  for (var w = 0u; w < STRIDE; w = w + 1u) { blocks[t * STRIDE + w] = out_words[w]; }
}
