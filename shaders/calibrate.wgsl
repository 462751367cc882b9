// calibrate.wgsl — scale and zero point of every parameter, by the profile's own formulas.
//
// Bindings: P (uniform), stats (7 words per parameter of the window, from combine.wgsl; unused
//   when P.given); the four outputs cover the whole tensor and are written from param_base:
//   scales (read_write: written here, or read when P.given), zero_points (read_write, likewise),
//   code_scales (out: the scale codes are computed from — ggml's float32 d, which `scales` holds
//   rounded to float16), inverses (out: float32 1/scale for pytorch and ggml, 0 for d = 0).
// Dispatch: param_count invocations (the window's parameters), folded to 2-D.
// Exactness: every division goes through div_rn and the float16 rounding through f16_bits, so
//   the results equal src/cpu/calibrate.ts bit for bit; subtractions and max/min of finite values
//   are exact or correctly rounded in WGSL.

@group(0) @binding(1) var<storage, read> stats: array<u32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_points: array<i32>;
@group(0) @binding(4) var<storage, read_write> code_scales: array<f32>;
@group(0) @binding(5) var<storage, read_write> inverses: array<f32>;

override WG: u32 = 64;

const EPS: f32 = 1.1920928955078125e-7; // 2^-23, torch.finfo(torch.float32).eps

fn symmetric_zero_point() -> i32 {
  if (P.qmin < 0) { return 0; }
  // Unsigned: ONNX centres the restricted range [0, qmax] (qmax = 254 or 14); PyTorch uses 128 / 8.
  if (P.profile == 0u) { return P.qmax / 2; }
  return (P.qmax + 1) / 2;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = flat_id(gid);
  if (p >= P.param_count) { return; }
  let g = P.param_base + p;
  if (P.given == 1u) {
    let s = scales[g];
    code_scales[g] = s;
    inverses[g] = select(div_rn(1.0, s), 0.0, bitcast<u32>(s) << 1u == 0u);
    return;
  }
  let so = p * 7u;
  let mn = bitcast<f32>(stats[so]);
  let mx = bitcast<f32>(stats[so + 1u]);
  let m = bitcast<f32>(stats[so + 2u]);
  let amax = bitcast<f32>(stats[so + 3u]);
  let levels = f32(P.qmax - P.qmin);
  var scale = 0.0;
  var zp = 0;
  var code_scale = 0.0;
  if (P.profile == 2u) {
    if (P.bits == 8u) {
      code_scale = div_rn(amax, 127.0);
    } else {
      // d = max / -8: a power-of-two scaling, exact but for the sign, which is set from bits so
      // that an all-zero block gives -0 as C does.
      let mag = bitcast<u32>(abs(m) * 0.125);
      code_scale = bitcast<f32>(mag | ((bitcast<u32>(m) & 0x80000000u) ^ 0x80000000u));
    }
    scale = f16_value(f16_bits(code_scale));
  } else {
    let lo = min(mn, 0.0);
    let hi = max(mx, 0.0);
    if (P.profile == 0u) {
      var rmin = lo;
      var rmax = hi;
      if (P.symmetric == 1u) {
        rmax = max(-lo, hi);
        rmin = -rmax;
      }
      scale = div_rn(rmax - rmin, levels);
      if (scale == 0.0) { scale = 1.0; }
      if (P.symmetric == 1u) {
        zp = symmetric_zero_point();
      } else {
        let z = f32(P.qmin) - div_rn(rmin, scale);
        zp = i32(round(clamp(z, f32(P.qmin), f32(P.qmax))));
      }
    } else {
      if (P.symmetric == 1u) {
        scale = max(div_rn(max(-lo, hi), levels * 0.5), EPS);
        zp = symmetric_zero_point();
      } else {
        scale = max(div_rn(hi - lo, levels), EPS);
        zp = clamp(P.qmin - to_int_sat(round(div_rn(lo, scale))), P.qmin, P.qmax);
      }
    }
    code_scale = scale;
  }
  scales[g] = scale;
  zero_points[g] = zp;
  code_scales[g] = code_scale;
  inverses[g] = select(div_rn(1.0, code_scale), 0.0, bitcast<u32>(code_scale) << 1u == 0u);
}
