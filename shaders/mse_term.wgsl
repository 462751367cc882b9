// mse_term.wgsl — library (no entry point) of the mse kernels: one element's error term
// T = trunc((e / 2^(eR − 127))^norm · 2^F) as a 64-bit integer, and exact 96-bit sums of them.
// The definition is src/schemes/mse.ts's (elementError, powerTerm), step for step.
//
// Exactness: every operation is one WGSL rounds correctly (+, −, ×, floor, integer and bit
// operations; never pow, exp2, log2 or `/`, which WGSL leaves inexact). Products that feed an
// addition go through launder(), so no compiler fuses them into a multiply-add that rounds once.
// Subnormals are flushed by bit tests before and after every float operation that could meet
// one, so a device that flushes them and one that does not compute the same e. The polynomials
// are Horner sequences of float32 constants, written here as the hexadecimal floats of
// LOG2_COEFFS and EXP2_COEFFS. The terms are integers below 2^64 and their sums integers below
// 2^95, added with carries: exact, so neither the order of the additions nor how a sum is split
// into slices and chunks can change it.

// The term of a non-finite e, or of one whose power would reach 2^64: (2^24 − 1)·2^40.
const TERM_MAX = vec2<u32>(0u, 0xffffff00u);

// v, or a zero of its sign when v is subnormal.
fn flush(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  return bitcast<f32>(select(b, b & 0x80000000u, (b & 0x7f800000u) == 0u));
}

// The bits of e = ftz(|ftz(x) − dq|), dq = ftz(ftz(S)·(Q − Z)).
fn error_bits(x: f32, scale: f32, qz: i32) -> u32 {
  let dq = flush(launder(flush(scale) * f32(qz)));
  return bitcast<u32>(flush(launder(flush(x) - dq))) & 0x7fffffffu;
}

// log2(e) − (eR − 127) for a normal e > 0 (bits eb).
fn relative_log2(eb: u32, e_r: u32) -> f32 {
  let frac = eb & 0x7fffffu;
  let halve = frac >= 0x3504f3u;
  let t = bitcast<f32>(frac | select(0x3f800000u, 0x3f000000u, halve)) - 1.0;
  var q = 0x1.025a2p-3f;
  q = launder(q * t) + -0x1.a8cc5cp-3f;
  q = launder(q * t) + 0x1.b9b11ep-3f;
  q = launder(q * t) + -0x1.e94f12p-3f;
  q = launder(q * t) + 0x1.26d41p-2f;
  q = launder(q * t) + -0x1.715c9cp-2f;
  q = launder(q * t) + 0x1.ec73d4p-2f;
  q = launder(q * t) + -0x1.71547p-1f;
  q = launder(q * t) + 0x1.715476p+0f;
  return f32(i32(eb >> 23u) - i32(e_r) + select(0, 1, halve)) + launder(q * t);
}

// 2^f for f in [0, 1].
fn exp2_fraction(f: f32) -> f32 {
  var r = 0x1.cacdf6p-13f;
  r = launder(r * f) + 0x1.44bd44p-10f;
  r = launder(r * f) + 0x1.3d5826p-7f;
  r = launder(r * f) + 0x1.c67ee4p-5f;
  r = launder(r * f) + 0x1.ebfdf8p-3f;
  r = launder(r * f) + 0x1.62e428p-1f;
  return launder(r * f) + 1.0;
}

// T for e's bits eb as (low word, high word); norm is powerNorm's, shift is F.
fn power_term(eb: u32, e_r: u32, norm: f32, shift: i32) -> vec2<u32> {
  if (eb == 0u) { return vec2<u32>(0u); }
  if ((eb >> 23u) == 0xffu) { return TERM_MAX; }
  let z = launder(norm * relative_log2(eb, e_r));
  let n = floor(z);
  let p = bitcast<u32>(exp2_fraction(z - n));
  let s = i32(p >> 23u) - 150 + i32(n) + shift;
  if (s > 40) { return TERM_MAX; }
  if (s < -24) { return vec2<u32>(0u); }
  let m = (p & 0x7fffffu) | 0x800000u;
  if (s < 0) { return vec2<u32>(m >> u32(-s), 0u); }
  if (s >= 32) { return vec2<u32>(0u, m << u32(s - 32)); }
  return vec2<u32>(m << u32(s), select(0u, m >> u32(32 - s), s > 0));
}

// a + t for a 96-bit a (low word first) and a 64-bit t.
fn add_term(a: vec3<u32>, t: vec2<u32>) -> vec3<u32> {
  let w0 = a.x + t.x;
  let c0 = select(0u, 1u, w0 < t.x);
  let w1a = a.y + t.y;
  let c1 = select(0u, 1u, w1a < t.y);
  let w1 = w1a + c0;
  let c2 = select(0u, 1u, w1 < c0);
  return vec3<u32>(w0, w1, a.z + c1 + c2);
}

// a + b for 96-bit sums below 2^95.
fn add_sum(a: vec3<u32>, b: vec3<u32>) -> vec3<u32> {
  let s = add_term(a, b.xy);
  return vec3<u32>(s.xy, s.z + b.z);
}

fn sum_below(a: vec3<u32>, b: vec3<u32>) -> bool {
  if (a.z != b.z) { return a.z < b.z; }
  if (a.y != b.y) { return a.y < b.y; }
  return a.x < b.x;
}

// The config buffer every mse kernel binds: the power norm's bits, F, the candidate count C, then
// the C shrink factors' bits.
const MSE_NORM: u32 = 0u;
const MSE_SHIFT: u32 = 1u;
const MSE_COUNT: u32 = 2u;
const MSE_FACTORS: u32 = 3u;

// The parameters of the candidate range factor·[min, max], by the profile's own formulas.
fn candidate(stats_min: f32, stats_max: f32, factor: f32) -> QParams {
  return qparams_of(launder(factor * stats_min), launder(factor * stats_max), 0.0, 0.0);
}
