// qparams.wgsl — library (no entry point): a parameter's scale and zero point from its statistics,
// by the profile's own formulas, shared by calibrate.wgsl and the fused kernels.
//
// Exactness: every division goes through div_rn and the float16 rounding through f16_round, so
// the results equal src/cpu/calibrate.ts bit for bit; subtractions and max/min of finite values
// are exact or correctly rounded in WGSL.

const EPS: f32 = 1.1920928955078125e-7; // 2^-23, torch.finfo(torch.float32).eps

// What a code is computed from (code_scale, inv) and what is stored (scale, zp). They differ only
// under ggml, whose stored scale is its float32 d rounded to float16.
struct QParams {
  scale: f32,
  zp: i32,
  code_scale: f32,
  inv: f32,          // float32 1/code_scale, 0 for code_scale = 0 (ggml's id = d ? 1/d : 0); ±Inf for a ggml d ≤ 2^-128 (see ggml_codes4)
}

fn symmetric_zero_point() -> i32 {
  if (P.qmin < 0) { return 0; }
  // Unsigned: ONNX centres the restricted range [0, qmax] (qmax = 254 or 14); PyTorch uses 128 / 8.
  if (PROFILE == PROFILE_ONNX) { return P.qmax / 2; }
  return (P.qmax + 1) / 2;
}

// m / -8 correctly rounded (ggml's Q4_0 scale, d = max / -8), on bits: a device may flush a
// subnormal m, or a subnormal quotient, to zero, yet whether d is zero, below 2^-128 (1/d
// overflows) or above decides every code of the block. From 2^-126 up the quotient is m with its
// exponent field lowered by 3; below, it is m's significand shifted right by 1 to 3 places,
// rounded to nearest even (a carry into bit 23 is the smallest normal, as it should be). The sign
// is m's flipped, zeros included, as C's division gives it.
fn div_neg8(m: f32) -> f32 {
  let b = bitcast<u32>(m);
  let a = b & 0x7fffffffu;
  let e = a >> 23u;
  let s = select(a, (a & 0x7fffffu) | 0x800000u, e != 0u);
  let sh = select(4u - max(e, 1u), 1u, e >= 4u);
  let k = s >> sh;
  let rem = s & ((1u << sh) - 1u);
  let half = 1u << (sh - 1u);
  let sub = k + select(0u, 1u, rem > half || (rem == half && (k & 1u) == 1u));
  return bitcast<f32>(((b & 0x80000000u) ^ 0x80000000u) | select(sub, a - (3u << 23u), e >= 4u));
}

fn with_inverse(scale: f32, zp: i32, code_scale: f32) -> QParams {
  return QParams(scale, zp, code_scale, select(div_rn(1.0, code_scale), 0.0, bitcast<u32>(code_scale) << 1u == 0u));
}

// mn, mx: the finite minimum and maximum; m: the first element of largest magnitude; amax = |m|.
fn qparams_of(mn: f32, mx: f32, m: f32, amax: f32) -> QParams {
  let levels = f32(P.qmax - P.qmin);
  if (PROFILE == PROFILE_GGML) {
    var code_scale = 0.0;
    if (BITS == 8u) {
      code_scale = div_rn_127(amax);
    } else {
      code_scale = div_neg8(m);
    }
    return with_inverse(f16_round(code_scale), 0, code_scale);
  }
  let lo = min(mn, 0.0);
  let hi = max(mx, 0.0);
  var scale = 0.0;
  var zp = 0;
  if (PROFILE == PROFILE_ONNX) {
    var rmin = lo;
    var rmax = hi;
    if (SYMMETRIC == 1u) {
      rmax = max(-lo, hi);
      rmin = -rmax;
    }
    scale = div_rn(rmax - rmin, levels);
    if (scale == 0.0) { scale = 1.0; }
    if (SYMMETRIC == 1u) {
      zp = symmetric_zero_point();
    } else {
      let z = f32(P.qmin) - div_rn(rmin, scale);
      zp = i32(round(clamp(z, f32(P.qmin), f32(P.qmax))));
    }
  } else {
    if (SYMMETRIC == 1u) {
      scale = max(div_rn(max(-lo, hi), levels * 0.5), EPS);
      zp = symmetric_zero_point();
    } else {
      scale = max(div_rn(hi - lo, levels), EPS);
      zp = clamp(P.qmin - to_int_sat(round(div_rn(lo, scale))), P.qmin, P.qmax);
    }
  }
  return with_inverse(scale, zp, scale);
}
