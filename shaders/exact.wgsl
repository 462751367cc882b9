// exact.wgsl — float32 arithmetic that WGSL does not promise, done in integer code.
//
// WGSL's `/` is only accurate to 2.5 ULP and its f32→f16 conversion may round either way, but
// the profiles need a correctly rounded quotient and round-to-nearest-even float16. Everything
// here works on bit patterns (f16_round also on normal floats, which no device flushes), so
// subnormals, signed zeros and ties come out exactly as IEEE-754 (and the CPU reference) define
// them, whatever the device's float unit does.

// The exponent field and 24-bit significand of a nonzero finite float32, subnormals normalised
// (their exponent field may then be zero or negative, stored as an i32 bit pattern).
fn normalized(bits: u32) -> vec2<u32> {
  let e = (bits >> 23u) & 0xffu;
  let m = bits & 0x7fffffu;
  let s = countLeadingZeros(m) - 8u;
  return select(vec2<u32>(u32(1 - i32(s)), m << s), vec2<u32>(e, m | 0x800000u), e != 0u);
}

// a / b correctly rounded to nearest even, for finite b != 0 and a finite or ±Inf (a range such
// as max − min may overflow to Inf: the quotient is then ±Inf, as on the CPU).
//
// Why it is exact: with both significands normalised to 24-bit integers ma, mb, the quotient
// ma/mb lies in (1/2, 2). Long division in base 256 — a remainder below mb, shifted by 8 bits,
// still fits in u32 — gives q = floor(ma·2^31 / mb) in (2^30, 2^32) and the exact remainder r.
// q's top 25 bits are the first 24 bits of the quotient and a guard bit; every bit below, and r,
// make the sticky bit; rounded_quotient does the rest.
// Speed: no branch and no loop, only selects, because a CPU emulation such as SwiftShader pays
// for every basic block a divergent branch creates: the bit-by-bit loop this replaced cost as
// much as quantizing the 32 elements of the ggml block it served.
fn div_rn(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  let na = normalized(ab);
  let nb = normalized(bb);
  let mb = nb.y;
  let ge = na.y >= mb;
  var r = select(na.y, na.y - mb, ge);
  r = r << 8u;
  let d1 = r / mb;
  r = (r - d1 * mb) << 8u;
  let d2 = r / mb;
  r = (r - d2 * mb) << 8u;
  let d3 = r / mb;
  r = (r - d3 * mb) << 7u;
  let d4 = r / mb;
  r = r - d4 * mb;
  let q = (select(0u, 1u, ge) << 31u) | (d1 << 23u) | (d2 << 15u) | (d3 << 7u) | d4;
  // 32 significant bits when ma >= mb (a quotient in [1, 2)), else 31; the 6 or 7 below the
  // guard bit are dropped. The remainder alone is the sticky bit: an exact quotient of two 24-bit
  // integers has at most 24 significant bits, so when r is 0 the dropped bits are 0 too.
  let drop = select(6u, 7u, ge);
  let exponent = i32(na.x) - i32(nb.x) + select(126, 127, ge);
  let sign = (ab ^ bb) & 0x80000000u;
  let quotient = rounded_quotient(sign, exponent, q >> drop, r != 0u, (ab << 1u) == 0u);
  return select(quotient, bitcast<f32>(sign | 0x7f800000u), (ab & 0x7fffffffu) == 0x7f800000u);
}

// a / 127 correctly rounded (ggml's Q8_0 scale, d = amax / 127), for finite a. The same long
// division as div_rn, but by a constant small enough that one u32 division of the shifted
// significand gives every bit needed, and that the compiler turns into a multiplication.
fn div_rn_127(a: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let na = normalized(ab);
  let n = na.y << 8u;
  let q = n / 127u;
  let r = n - q * 127u;
  // q = floor(ma·2^8 / 127) in [2^24, 2^26): 26 bits when ma >= 127·2^17, and the lowest is
  // dropped. The remainder alone is the sticky bit: when it is 0, 127 divides ma and q is a
  // multiple of 256, so the dropped bit is 0 too.
  let drop = select(0u, 1u, q >= 0x2000000u);
  return rounded_quotient(ab & 0x80000000u, i32(na.x) - 7 + i32(drop), q >> drop, r != 0u, (ab << 1u) == 0u);
}

// The float32 with sign bit `sign` and value g·2^(exponent − 127 − 24), rounded to nearest even,
// where g in [2^24, 2^25) holds 24 significant bits and a guard bit and `sticky` says whether
// anything nonzero lies below; ±0 when `zero`. Results below 2^-126 are shifted into subnormal
// form before rounding (bits shifted out join the sticky bit), as IEEE-754 rounds once.
fn rounded_quotient(sign: u32, exponent: i32, g: u32, sticky: bool, zero: bool) -> f32 {
  let sh = u32(clamp(1 - exponent, 0, 31));
  let s = sticky || (g & ((1u << sh) - 1u)) != 0u;
  let kept = g >> sh;
  var m = kept >> 1u;
  m = m + select(0u, 1u, (kept & 1u) == 1u && (s || (m & 1u) == 1u));
  // m is in [2^23, 2^24] for a normal result and below for a subnormal one: the exponent field
  // adds exponent − 1 to m's own leading bit, and a carry to 2^24 moves into the exponent, up to
  // Inf, as it should.
  let finite = sign | ((u32(max(exponent - 1, 0)) << 23u) + m);
  let inf = sign | 0x7f800000u;
  return bitcast<f32>(select(select(finite, inf, exponent >= 255), sign, zero));
}

// x rounded to the nearest float16, ties to even, overflowing to ±Inf (what F16C and ggml's
// GGML_FP32_TO_FP16 do), returned as the float32 of that half: every half is exact in float32.
// Halves from 2^-14 up keep 10 of float32's 23 fraction bits, rounded in place on the bit pattern
// (a carry moves into the exponent); below, halves are the multiples of 2^-24, which adding and
// taking away 0.5 (whose ulp is 2^-24) rounds to, since WGSL's + and - round correctly.
fn f16_round(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let a = b & 0x7fffffffu;
  var r = (a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u;
  r = select(r, 0x7f800000u, r >= 0x47800000u);
  r = select(r, bitcast<u32>(launder(bitcast<f32>(a) + 0.5) - 0.5), a < 0x38800000u);
  r = select(r, 0x7fc00000u, a > 0x7f800000u);
  return bitcast<f32>((b & 0x80000000u) | r);
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
