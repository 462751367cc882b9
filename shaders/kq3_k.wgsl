// kq3_k.wgsl — ggml's Q3_K (quantize_row_q3_K_ref, no importance matrix): one invocation per
// super-block of 256, the same search as src/cpu/kquants.ts's quantizeQ3K / makeQ3Quants in the
// same float32 steps (shaders/kquant_common.wgsl says how each is exact): sixteen sub-blocks of
// 16 fitted to 3-bit codes, their scales to 6 bits against the largest in magnitude.
//
// Bindings: P (uniform), input (the window's values), blocks (out: block t at word t · 28),
// first_bad (atomic: lowest flat index of a NaN or ±Inf).
// Layout (block_q3_K, 110 bytes): hmask[32], qs[64], scales[12] (6-bit, stored + 32), f16 d.

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> blocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;
const STRIDE: u32 = 28u;
const GROUP_MAX_EPS: f32 = 1e-15;

var<private> L: array<i32, 256>;

// make_q3_quants(16, 4, x + o, L + o, do_rmse true): the sub-block's scale; L[o …] = code + 4.
fn make_q3(o: u32) -> f32 {
  var max = 0.0;
  var amax = 0.0;
  for (var i = 0u; i < 16u; i = i + 1u) {
    let ax = abs(xs[o + i]);
    if (flt(amax, ax)) { amax = ax; max = xs[o + i]; }
  }
  if (flt(amax, GROUP_MAX_EPS)) {
    for (var i = 0u; i < 16u; i = i + 1u) { L[o + i] = 0; }
    return 0.0;
  }
  let iscale = fdiv(-4.0, max);
  var sumlx = 0.0;
  var suml2 = 0.0;
  for (var i = 0u; i < 16u; i = i + 1u) {
    let xi = xs[o + i];
    let l = clamp(nearest_int(fmul(iscale, xi)), -4, 3);
    L[o + i] = l;
    let w = fmul(xi, xi);
    sumlx = (sumlx + fmul(fmul(w, xi), f32(l)));
    suml2 = (suml2 + fmul(fmul(w, f32(l)), f32(l)));
  }
  for (var itry = 0; itry < 5; itry = itry + 1) {
    var changed = 0;
    for (var i = 0u; i < 16u; i = i + 1u) {
      let xi = xs[o + i];
      let li = f32(L[o + i]);
      let w = fmul(xi, xi);
      var slx = (sumlx - fmul(fmul(w, xi), li));
      if (flt(0.0, slx)) {
        var sl2 = (suml2 - fmul(fmul(w, li), li));
        let new_l = clamp(nearest_int(fdiv(fmul(xi, sl2), slx)), -4, 3);
        if (new_l != L[o + i]) {
          slx = (slx + fmul(fmul(w, xi), f32(new_l)));
          sl2 = (sl2 + fmul(fmul(w, f32(new_l)), f32(new_l)));
          if (flt(0.0, sl2) && flt(fmul(fmul(sumlx, sumlx), sl2), fmul(fmul(slx, slx), suml2))) {
            L[o + i] = new_l;
            sumlx = slx;
            suml2 = sl2;
            changed = changed + 1;
          }
        }
      }
    }
    if (changed == 0) { break; }
  }
  for (var i = 0u; i < 16u; i = i + 1u) { L[o + i] = L[o + i] + 4; }
  return select(0.0, fdiv(sumlx, suml2), flt(0.0, suml2));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count) { return; }
  start_super_block(t);
  var scales: array<f32, 16>;
  var max_scale = 0.0;
  var amax = 0.0;
  for (var j = 0u; j < 16u; j = j + 1u) {
    let s = make_q3(16u * j);
    scales[j] = s;
    if (flt(amax, abs(s))) { amax = abs(s); max_scale = s; }
  }
  // Each sub-block's stored 6-bit scale (code + 32); all zero when every scale is zero, as the
  // C source leaves the bytes.
  var stored: array<i32, 16>;
  var d = 0.0;
  if (!is_zero(max_scale)) {
    let iscale = fdiv(-32.0, max_scale);
    for (var j = 0u; j < 16u; j = j + 1u) {
      let l8 = (nearest_int(fmul(iscale, scales[j])) << 24u) >> 24u;
      let l = u32(clamp(l8, -32, 31) + 32);
      stored[j] = i32(l);
      put_byte(96u + (j & 7u), (l & 0xfu) << (4u * (j >> 3u)));
      put_byte(104u + (j & 3u), (l >> 4u) << (2u * (j >> 2u)));
    }
    d = f16_round(fdiv(1.0, iscale));
    put_half(108u, d);
  }
  for (var j = 0u; j < 16u; j = j + 1u) {
    let dj = fmul(d, f32(stored[j] - 32));
    if (is_zero(dj)) { continue; }
    for (var ii = 0u; ii < 16u; ii = ii + 1u) {
      L[16u * j + ii] = clamp(nearest_int(fdiv(xs[16u * j + ii], dj)), -4, 3) + 4;
    }
  }
  // The high bit of code j goes to bit j / 32 of hmask byte j % 32.
  for (var j = 0u; j < 256u; j = j + 1u) {
    if (L[j] > 3) {
      put_byte(j & 31u, 1u << (j >> 5u));
      L[j] = L[j] - 4;
    }
  }
  for (var j = 0u; j < 256u; j = j + 128u) {
    for (var l = 0u; l < 32u; l = l + 1u) {
      put_byte(32u + j / 4u + l, u32(L[j + l] | (L[j + l + 32u] << 2u) | (L[j + l + 64u] << 4u) | (L[j + l + 96u] << 6u)));
    }
  }
  for (var w = 0u; w < STRIDE; w = w + 1u) { blocks[t * STRIDE + w] = out_words[w]; }
}
