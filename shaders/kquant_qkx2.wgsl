// kquant_qkx2.wgsl — ggml's make_qkx2_quants, shared by the Q2_K, Q4_K and Q5_K kernels
// (prepended after kquant_common.wgsl by src/schemes/builtin.ts), in the same float32 steps as
// src/cpu/kquants.ts's makeQkx2Quants. Each kernel declares what the C call passes: QKX2_N (the
// sub-block length), NMAX, NSTEP, RMIN, RDELTA and USE_MAD (absolute instead of squared error),
// and the private codes `L` and values `xs` the search reads and writes.

// One element's error: |d| under use_mad, else d².
fn qkx2_error(d: f32) -> f32 {
  if (USE_MAD) { return abs(d); }
  return fmul(d, d);
}

var<private> laux: array<u32, QKX2_N>;
var<private> weights: array<f32, QKX2_N>;

// make_qkx2_quants(QKX2_N, NMAX, x + o, weights, L + o, RMIN, RDELTA, NSTEP, USE_MAD): returns
// (scale, −min).
fn make_qkx2(o: u32) -> vec2<f32> {
  var min = xs[o];
  var max = min;
  var sum_w = weights[0];
  var sum_x = fmul(sum_w, min);
  for (var i = 1u; i < QKX2_N; i = i + 1u) {
    let xi = xs[o + i];
    if (flt(xi, min)) { min = xi; }
    if (flt(max, xi)) { max = xi; }
    let w = weights[i];
    sum_w = (sum_w + w);
    sum_x = (sum_x + fmul(w, xi));
  }
  if (flt(0.0, min)) { min = 0.0; }
  if (feq(max, min)) {
    for (var i = 0u; i < QKX2_N; i = i + 1u) { L[o + i] = 0u; }
    return vec2<f32>(0.0, -min);
  }
  var iscale = fdiv(f32(NMAX), (max - min));
  var scale = fdiv(1.0, iscale);
  var best_error = 0.0;
  for (var i = 0u; i < QKX2_N; i = i + 1u) {
    let xi = xs[o + i];
    let l = clamp(nearest_int(fmul(iscale, (xi - min))), 0, NMAX);
    L[o + i] = u32(l);
    best_error = (best_error + fmul(weights[i], qkx2_error((fmul(scale, f32(l)) + min) - xi)));
  }
  for (var is = 0; is <= NSTEP; is = is + 1) {
    iscale = fdiv((RMIN + fmul(RDELTA, f32(is))) + f32(NMAX), max - min);
    var sum_l = 0.0;
    var sum_l2 = 0.0;
    var sum_xl = 0.0;
    for (var i = 0u; i < QKX2_N; i = i + 1u) {
      let xi = xs[o + i];
      let l = clamp(nearest_int(fmul(iscale, (xi - min))), 0, NMAX);
      laux[i] = u32(l);
      let wl = fmul(weights[i], f32(l));
      sum_l = (sum_l + wl);
      sum_l2 = (sum_l2 + fmul(wl, f32(l)));
      sum_xl = (sum_xl + fmul(wl, xi));
    }
    let D = (fmul(sum_w, sum_l2) - fmul(sum_l, sum_l));
    if (flt(0.0, D)) {
      var this_scale = fdiv((fmul(sum_w, sum_xl) - fmul(sum_x, sum_l)), D);
      var this_min = fdiv((fmul(sum_l2, sum_x) - fmul(sum_l, sum_xl)), D);
      if (flt(0.0, this_min)) {
        this_min = 0.0;
        this_scale = fdiv(sum_xl, sum_l2);
      }
      var cur_error = 0.0;
      for (var i = 0u; i < QKX2_N; i = i + 1u) {
        cur_error = (cur_error + fmul(weights[i], qkx2_error((fmul(this_scale, f32(laux[i])) + this_min) - xs[o + i])));
      }
      if (flt(cur_error, best_error)) {
        for (var i = 0u; i < QKX2_N; i = i + 1u) { L[o + i] = laux[i]; }
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  return vec2<f32>(scale, -min);
}
