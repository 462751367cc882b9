// codes.wgsl — library (no entry point): an element's code from its parameter's QParams, one
// element at a time or four (a vec4 that shares one parameter), the packing of codes, and what
// the kernels that read a tensor share: BIG, where min/max start, magnitude4 and first_non_finite4.
//
// Exactness: onnx rounds x / scale exactly (onnx_round, div_rn near halves); pytorch and ggml
//   multiply by the float32 reciprocal (WGSL `*` is correctly rounded); ggml Q4_0's x·id + 8.5 is
//   kept from fusing by launder(); rounding uses WGSL `round` (half to even), trunc, or
//   round_half_away — never a float mode WGSL leaves open. The vec4 forms give the codes of the
//   scalar ones component by component (round_half_away4 by a cheaper formula, equal for every
//   finite value; saturation is decided from t where its rounding may not be finite).

// onnx: round half to even of the correctly rounded quotient x / s, mostly without dividing.
// Why it is exact: inv = f32(1/s) and t = f32(x·inv) put t within |x/s|·2^-23 (1 + 2^-24) of x/s,
// so for |t| < 256 within 2^-15 (1 + 2^-21) of it; float32 rounding moves x/s by at most 2^-16
// there. When t is more than 2^-14 from every half-integer, x/s and its float32 rounding lie on
// the same side of each half as t, so all three round to the same integer. Near a half, or past
// 256, div_rn decides. Scales from the data bound |x/s| by the level count (at most 255), so only
// caller-supplied scales need the second test.
fn onnx_round(x: f32, s: f32, inv: f32) -> f32 {
  let t = launder(x * inv);
  let r = round(t);
  // 0x43800000 is 256.0: the bit test also sends a NaN or infinite t to div_rn, where a float
  // comparison need not (WGSL may assume finite math).
  if ((bitcast<u32>(t) & 0x7fffffffu) < 0x43800000u && abs(t - r) < 0.49993896484375) { return r; }
  return round(div_rn(x, s));
}

// onnx_round's test for four lanes, r = round(t): which must divide. A NaN or infinite t must,
// and is found from bits (WGSL may assume finite math): with scales from the data, finite inputs
// give one only through an infinite inv (a scale below 2^-128), which sends every lane.
fn onnx_divides4(t: vec4<f32>, r: vec4<f32>, inv: f32) -> vec4<bool> {
  let near_half = !(abs(t - r) < vec4<f32>(0.49993896484375));
  if (GIVEN == 0u) { return near_half | vec4<bool>((bitcast<u32>(inv) & 0x7f800000u) == 0x7f800000u); }
  return near_half | (magnitude4(t) >= vec4<u32>(0x43800000u));
}

const BIG: f32 = 3.4028234663852886e38; // the largest float32: min/max start here, every finite value is within it

fn launder4(x: vec4<f32>) -> vec4<f32> {
  return bitcast<vec4<f32>>(bitcast<vec4<u32>>(x) ^ vec4<u32>(P.zero));
}

// r, a rounding of t, as integers, saturating where t is far outside every code range (decided
// from t's bits: ±Inf must not reach float arithmetic).
fn to_int_sat4_of(r: vec4<f32>, t: vec4<f32>) -> vec4<i32> {
  let b = bitcast<vec4<u32>>(t);
  let sat = select(vec4<i32>(32767), vec4<i32>(-32768), (b >> vec4<u32>(31u)) == vec4<u32>(1u));
  return select(vec4<i32>(r), sat, ((b >> vec4<u32>(23u)) & vec4<u32>(0xffu)) >= vec4<u32>(142u));
}

fn to_int_sat4(r: vec4<f32>) -> vec4<i32> {
  return to_int_sat4_of(r, r);
}

// A rounded quotient as integers. With scales from the data, onnx and pytorch quotients are
// bounded by the level count (|x| ≤ the range a scale spans, and onnx's exact path divides), so a
// plain conversion is exact and saves the saturating one's work; caller-supplied scales may make
// x·inv arbitrarily large, even infinite, and keep it.
fn int4_of(r: vec4<f32>) -> vec4<i32> {
  if (GIVEN == 0u) { return vec4<i32>(r); }
  return to_int_sat4(r);
}

// C's roundf for finite t: the fraction t − f is exact, and twice it truncates to ±1 exactly
// from a half outwards — five operations where testing for a tie takes eight.
fn round_half_away4(t: vec4<f32>) -> vec4<f32> {
  let f = trunc(t);
  return f + trunc((t - f) * 2.0);
}

fn code_of(x: f32, q: QParams) -> i32 {
  var c = 0;
  if (PROFILE == PROFILE_ONNX) {
    c = to_int_sat(onnx_round(x, q.code_scale, q.inv)) + q.zp;
  } else if (PROFILE == PROFILE_PYTORCH) {
    c = q.zp + to_int_sat(round(x * q.inv));
  } else {
    return ggml_codes4(vec4<f32>(x), q.inv).x;
  }
  return clamp(c, P.qmin, P.qmax);
}

fn codes4(v: vec4<f32>, q: QParams) -> vec4<i32> {
  var c = vec4<i32>(0);
  if (PROFILE == PROFILE_ONNX) {
    let t = launder4(v * q.inv);
    var r = round(t);
    let exact = onnx_divides4(t, r, q.inv);
    if (any(exact)) {
      for (var lane = 0u; lane < 4u; lane = lane + 1u) {
        if (exact[lane]) { r[lane] = round(div_rn(v[lane], q.code_scale)); }
      }
    }
    c = int4_of(r) + vec4<i32>(q.zp);
  } else if (PROFILE == PROFILE_PYTORCH) {
    c = vec4<i32>(q.zp) + int4_of(round(v * q.inv));
  } else {
    return ggml_codes4(v, q.inv);
  }
  return clamp(c, vec4<i32>(P.qmin), vec4<i32>(P.qmax));
}

// ggml's codes (Q8_0's roundf(x·id), Q4_0's MIN(15, (int8_t)(x·id + 8.5)) − 8), clamped to the
// type's full range as caller-supplied scales need.
// The rule for a block whose id = 1/d is infinite (0 < |d| ≤ 2^-128): every code is what
// llama.cpp's reference quantizers write on x86, whose float → int conversion turns the ±Inf or
// NaN (0·Inf) of x·id into 0: Q8_0 code 0, Q4_0 nibble 0 (code −8). It is decided from id's bits,
// not from x·id, which WGSL may assume finite. d = 0 needs no rule: id is 0 and so is every x·id.
fn ggml_codes4(v: vec4<f32>, inv: f32) -> vec4<i32> {
  let overflowed = (bitcast<u32>(inv) & 0x7fffffffu) == 0x7f800000u;
  let t = launder4(ggml_product4(v, inv));
  if (BITS == 8u) {
    return select(clamp(to_int_sat4_of(round_half_away4(t), t), vec4<i32>(P.qmin), vec4<i32>(P.qmax)), vec4<i32>(0), overflowed);
  }
  let c = clamp(to_int_sat4(trunc(t + vec4<f32>(8.5))), vec4<i32>(0), vec4<i32>(15)) - vec4<i32>(8);
  return select(c, vec4<i32>(-8), overflowed);
}

// x·inv correctly rounded even where the device flushes a subnormal x to zero: a subnormal x is
// k·2^-149 with k < 2^23, and k·2^-24 and inv·2^-125 are exact normal floats whose product is
// x·inv, rounded once. That product can reach a code only when |inv| ≥ 2^124 (ggml blocks whose
// largest magnitude is below about 2^-117), which makes inv·2^-125 normal; for a smaller inv,
// |x·inv| < 1/4 gives the code of 0 however it is computed.
fn ggml_product4(v: vec4<f32>, inv: f32) -> vec4<f32> {
  let b = bitcast<vec4<u32>>(v);
  let k = vec4<f32>(b & vec4<u32>(0x7fffffu)) * 0x1p-24f;
  let scaled = select(k, -k, (b >> vec4<u32>(31u)) == vec4<u32>(1u)) * (inv * 0x1p-125f);
  return select(v * inv, scaled, (b & vec4<u32>(0x7f800000u)) == vec4<u32>(0u));
}

// Four codes into their lanes of a packed word: lanes 0–3 of an 8-bit word, or, at 4 bits,
// lanes 0–3 (half 0) or 4–7 (half 1).
fn pack4(c: vec4<i32>, half: u32) -> u32 {
  let mask = (1u << BITS) - 1u;
  let u = vec4<u32>(c) & vec4<u32>(mask);
  let shift = half * 4u * BITS;
  return (u.x | (u.y << BITS) | (u.z << (2u * BITS)) | (u.w << (3u * BITS))) << shift;
}

// |v| as bit patterns: their unsigned order is the order of magnitudes, and NaN and ±Inf are the
// patterns from 0x7f800000 up, so one integer max finds a symmetric scale's peak and flags them.
fn magnitude4(v: vec4<f32>) -> vec4<u32> {
  return bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu);
}

// onnx's codes for v rounded from x·inv alone, without dividing; the lanes where that may differ
// from the correctly rounded quotient (onnx_divides4) are added to `divides`, for the caller to
// redo through codes4.
fn onnx_fast4(v: vec4<f32>, q: QParams, divides: ptr<function, vec4<bool>>) -> vec4<i32> {
  let t = launder4(v * q.inv);
  let r = round(t);
  *divides = *divides | onnx_divides4(t, r, q.inv);
  return clamp(int4_of(r) + vec4<i32>(q.zp), vec4<i32>(P.qmin), vec4<i32>(P.qmax));
}

// Flat index of the first non-finite lane of v (element `first` and on), or 0xffffffff.
fn first_non_finite4(v: vec4<f32>, first: u32) -> u32 {
  let nonfinite = (bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u);
  let idx = select(vec4<u32>(0xffffffffu), vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), nonfinite);
  return min(min(idx.x, idx.y), min(idx.z, idx.w));
}
