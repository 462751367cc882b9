// exact.wgsl — float32 arithmetic that WGSL does not promise, done in integer code.
//
// WGSL's `/` is only accurate to 2.5 ULP and its f32→f16 conversion may round either way, but
// the profiles need a correctly rounded quotient and round-to-nearest-even float16. Everything
// here works on bit patterns, so subnormals, signed zeros and ties come out exactly as IEEE-754
// (and the CPU reference) define them, whatever the device's float unit does.

// The exponent field and 24-bit significand of a nonzero finite float32, subnormals normalised
// (their exponent field may then be zero or negative, stored as an i32 bit pattern).
fn normalized(bits: u32) -> vec2<u32> {
  let e = (bits >> 23u) & 0xffu;
  let m = bits & 0x7fffffu;
  if (e != 0u) { return vec2<u32>(e, m | 0x800000u); }
  let s = countLeadingZeros(m) - 8u;
  return vec2<u32>(u32(1 - i32(s)), m << s);
}

// a / b correctly rounded to nearest even. Requires finite a and b, b != 0.
//
// Why it is exact: with both significands normalised to 24-bit integers ma, mb, the quotient
// ma/mb lies in (1/2, 2). After one optional doubling it lies in [1, 2), and 25 steps of
// restoring long division give its first 24 bits plus one guard bit; the remainder r is the
// exact rest (r < 2·mb < 2^25, so nothing overflows u32). Round-to-nearest-even needs exactly
// guard, sticky (r != 0) and the last kept bit. Results below 2^-126 are shifted into subnormal
// form before rounding (bits shifted out join the sticky bit), as IEEE-754 rounds once.
fn div_rn(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  let sign = (ab ^ bb) & 0x80000000u;
  if ((ab << 1u) == 0u) { return bitcast<f32>(sign); }
  let na = normalized(ab);
  let nb = normalized(bb);
  let ma = na.y;
  let mb = nb.y;
  var e = i32(na.x) - i32(nb.x);
  var r = ma;
  if (r < mb) {
    r = r << 1u;
    e = e - 1;
  }
  var q = 0u;
  for (var i = 0u; i < 25u; i = i + 1u) {
    q = q << 1u;
    if (r >= mb) {
      r = r - mb;
      q = q | 1u;
    }
    r = r << 1u;
  }
  var sticky = r != 0u;
  var be = e + 127;
  if (be >= 255) { return bitcast<f32>(sign | 0x7f800000u); }
  if (be <= 0) {
    let sh = u32(1 - be);
    if (sh >= 26u) {
      sticky = sticky || q != 0u;
      q = 0u;
    } else {
      sticky = sticky || (q & ((1u << sh) - 1u)) != 0u;
      q = q >> sh;
    }
    be = 0;
  }
  let guard = q & 1u;
  var m = q >> 1u;
  if (guard == 1u && (sticky || (m & 1u) == 1u)) { m = m + 1u; }
  if (be == 0) { return bitcast<f32>(sign | m); }
  // m is in [2^23, 2^24]; a carry to 2^24 moves into the exponent, up to Inf, as it should.
  return bitcast<f32>(sign | ((u32(be) << 23u) + (m - 0x800000u)));
}

// float32 → float16 bits, round to nearest even, overflow to ±Inf (what F16C and ggml do).
fn f16_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let exp = i32((b >> 23u) & 0xffu);
  let mant = b & 0x7fffffu;
  if (exp == 255) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = exp - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    let m = mant | 0x800000u;
    let shift = u32(14 - e);
    let half = 1u << (shift - 1u);
    let rem = m & ((1u << shift) - 1u);
    var h = m >> shift;
    if (rem > half || (rem == half && (h & 1u) == 1u)) { h = h + 1u; }
    return sign | h;
  }
  var h = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}

// The float16 with bits h as a float32, built from bits (every half is exact in float32).
fn f16_value(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let exp = (h >> 10u) & 0x1fu;
  let mant = h & 0x3ffu;
  if (exp == 0x1fu) { return bitcast<f32>(sign | 0x7f800000u | (mant << 13u)); }
  if (exp != 0u) { return bitcast<f32>(sign | ((exp + 112u) << 23u) | (mant << 13u)); }
  if (mant == 0u) { return bitcast<f32>(sign); }
  // Subnormal half: normalise the 10-bit mantissa into a normal float32.
  let s = countLeadingZeros(mant) - 21u;
  return bitcast<f32>(sign | ((113u - s) << 23u) | (((mant << s) & 0x3ffu) << 13u));
}

// A rounded quotient or product as an integer, saturating far outside every code range without
// float comparisons (WGSL may assume finite math, so ±Inf must not reach min/max).
fn to_int_sat(r: f32) -> i32 {
  let b = bitcast<u32>(r);
  if (((b >> 23u) & 0xffu) >= 142u) { return select(32767, -32768, (b >> 31u) == 1u); }
  return i32(r);
}

// C's roundf: half away from zero. Computed from the exact fraction, not floor(x + 0.5), which
// rounds 0.49999997 up.
fn round_half_away(t: f32) -> f32 {
  let f = trunc(t);
  if (abs(t - f) == 0.5) { return f + sign(t); }
  return round(t);
}
