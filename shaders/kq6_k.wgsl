// kq6_k.wgsl — ggml's Q6_K (quantize_row_q6_K_ref, no importance matrix): one invocation per
// super-block of 256, the same search as src/cpu/kquants.ts's quantizeQ6K in the same float32
// steps (shaders/kquant_common.wgsl says how each is exact).
//
// Bindings: P (uniform), input (the window's values), blocks (out: block t at word t · 53),
// first_bad (atomic: lowest flat index of a NaN or ±Inf).
// Layout (block_q6_K, 210 bytes): ql[128] low nibbles, qh[64] high 2 bits, int8 scales[16], f16 d.

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> blocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;
const STRIDE: u32 = 53u;
const GROUP_MAX_EPS: f32 = 1e-15;

var<private> L: array<i32, 256>;

// make_qx_quants(16, 32, x, L, rmse_type 1, no weights): the sub-block's scale; L[o …] = code + 32.
fn make_qx(o: u32) -> f32 {
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
  var iscale = fdiv(-32.0, max);
  var sumlx = 0.0;
  var suml2 = 0.0;
  for (var i = 0u; i < 16u; i = i + 1u) {
    let xi = xs[o + i];
    let l = clamp(nearest_int(fmul(iscale, xi)), -32, 31);
    L[o + i] = l + 32;
    let w = fmul(xi, xi);
    sumlx = sumlx + fmul(fmul(w, xi), f32(l));
    suml2 = suml2 + fmul(fmul(w, f32(l)), f32(l));
  }
  var scale = select(0.0, fdiv(sumlx, suml2), !is_zero(suml2));
  var best = fmul(scale, sumlx);
  for (var is = -9; is <= 9; is = is + 1) {
    if (is == 0) { continue; }
    iscale = fdiv(-(32.0 + fmul(0.1, f32(is))), max);
    sumlx = 0.0;
    suml2 = 0.0;
    for (var i = 0u; i < 16u; i = i + 1u) {
      let xi = xs[o + i];
      let l = f32(clamp(nearest_int(fmul(iscale, xi)), -32, 31));
      let w = fmul(xi, xi);
      sumlx = (sumlx + fmul(fmul(w, xi), l));
      suml2 = (suml2 + fmul(fmul(w, l), l));
    }
    if (flt(0.0, suml2) && flt(fmul(best, suml2), fmul(sumlx, sumlx))) {
      for (var i = 0u; i < 16u; i = i + 1u) {
        L[o + i] = 32 + clamp(nearest_int(fmul(iscale, xs[o + i])), -32, 31);
      }
      scale = fdiv(sumlx, suml2);
      best = fmul(scale, sumlx);
    }
  }
  return scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count) { return; }
  start_super_block(t);
  var scales: array<f32, 16>;
  var max_scale = 0.0;
  var max_abs_scale = 0.0;
  for (var ib = 0u; ib < 16u; ib = ib + 1u) {
    let scale = make_qx(16u * ib);
    scales[ib] = scale;
    if (flt(max_abs_scale, abs(scale))) { max_abs_scale = abs(scale); max_scale = scale; }
  }
  if (!flt(max_abs_scale, GROUP_MAX_EPS)) {
    let iscale = fdiv(-128.0, max_scale);
    let d = f16_round(fdiv(1.0, iscale));
    put_half(208u, d);
    for (var ib = 0u; ib < 16u; ib = ib + 1u) {
      put_byte(192u + ib, u32(min(127, nearest_int(fmul(iscale, scales[ib])))));
    }
    for (var j = 0u; j < 16u; j = j + 1u) {
      let sc = (i32((out_words[(192u + j) >> 2u] >> (((192u + j) & 3u) * 8u)) & 0xffu) << 24u) >> 24u;
      let dj = fmul(d, f32(sc));
      if (is_zero(dj)) { continue; }
      for (var ii = 0u; ii < 16u; ii = ii + 1u) {
        L[16u * j + ii] = clamp(nearest_int(fdiv(xs[16u * j + ii], dj)), -32, 31) + 32;
      }
    }
    for (var j = 0u; j < 256u; j = j + 128u) {
      for (var l = 0u; l < 32u; l = l + 1u) {
        let a = u32(L[j + l]);
        let b = u32(L[j + l + 32u]);
        let c = u32(L[j + l + 64u]);
        let e = u32(L[j + l + 96u]);
        put_byte(j / 2u + l, (a & 0xfu) | ((c & 0xfu) << 4u));
        put_byte(j / 2u + l + 32u, (b & 0xfu) | ((e & 0xfu) << 4u));
        put_byte(128u + j / 4u + l, (a >> 4u) | ((b >> 4u) << 2u) | ((c >> 4u) << 4u) | ((e >> 4u) << 6u));
      }
    }
  }
  for (var w = 0u; w < STRIDE; w = w + 1u) { blocks[t * STRIDE + w] = out_words[w]; }
}
