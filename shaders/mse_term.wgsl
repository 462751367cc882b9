// mse_term.wgsl — library (no entry point) of the mse kernels: the error terms of four elements,
// each T = trunc((e / 2^(eR − 127))^norm · 2^F) a 64-bit integer, and exact 96-bit sums of them.
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

// v, or a zero of its sign, lane by lane where v is subnormal.
fn flush4(v: vec4<f32>) -> vec4<f32> {
  let b = bitcast<vec4<u32>>(v);
  return bitcast<vec4<f32>>(select(b, b & vec4<u32>(0x80000000u), (b & vec4<u32>(0x7f800000u)) == vec4<u32>(0u)));
}

// The bits of e = ftz(|ftz(x) − dq|), dq = ftz(ftz(S)·(Q − Z)), for four elements of one parameter.
fn error_bits4(x: vec4<f32>, scale: f32, qz: vec4<i32>) -> vec4<u32> {
  let dq = flush4(launder4(flush4(vec4<f32>(scale)) * vec4<f32>(qz)));
  return bitcast<vec4<u32>>(flush4(launder4(flush4(x) - dq))) & vec4<u32>(0x7fffffffu);
}

// log2(e) − (eR − 127) for normal e > 0 (bits eb); any finite value for other lanes.
fn relative_log2_4(eb: vec4<u32>, e_r: u32) -> vec4<f32> {
  let frac = eb & vec4<u32>(0x7fffffu);
  let halve = frac >= vec4<u32>(0x3504f3u);
  let t = bitcast<vec4<f32>>(frac | select(vec4<u32>(0x3f800000u), vec4<u32>(0x3f000000u), halve)) - vec4<f32>(1.0);
  var q = vec4<f32>(0x1.025a2p-3f);
  q = launder4(q * t) + vec4<f32>(-0x1.a8cc5cp-3f);
  q = launder4(q * t) + vec4<f32>(0x1.b9b11ep-3f);
  q = launder4(q * t) + vec4<f32>(-0x1.e94f12p-3f);
  q = launder4(q * t) + vec4<f32>(0x1.26d41p-2f);
  q = launder4(q * t) + vec4<f32>(-0x1.715c9cp-2f);
  q = launder4(q * t) + vec4<f32>(0x1.ec73d4p-2f);
  q = launder4(q * t) + vec4<f32>(-0x1.71547p-1f);
  q = launder4(q * t) + vec4<f32>(0x1.715476p+0f);
  let k = vec4<i32>((eb >> vec4<u32>(23u)) & vec4<u32>(0xffu)) - vec4<i32>(i32(e_r)) + select(vec4<i32>(0), vec4<i32>(1), halve);
  return vec4<f32>(k) + launder4(q * t);
}

// 2^f for f in [0, 1].
fn exp2_fraction4(f: vec4<f32>) -> vec4<f32> {
  var r = vec4<f32>(0x1.cacdf6p-13f);
  r = launder4(r * f) + vec4<f32>(0x1.44bd44p-10f);
  r = launder4(r * f) + vec4<f32>(0x1.3d5826p-7f);
  r = launder4(r * f) + vec4<f32>(0x1.c67ee4p-5f);
  r = launder4(r * f) + vec4<f32>(0x1.ebfdf8p-3f);
  r = launder4(r * f) + vec4<f32>(0x1.62e428p-1f);
  return launder4(r * f) + vec4<f32>(1.0);
}

// T of four elements (bits eb) as their low and high words; norm is powerNorm's, shift is F.
// No branch: a CPU emulation such as SwiftShader pays for every block a divergent branch makes.
// Shift amounts are clamped to [0, 31], where WGSL defines them; m < 2^24, so m >> 24 and past is
// 0, which is the definition's T for s ≤ −24.
fn power_terms4(eb: vec4<u32>, e_r: u32, norm: f32, shift: i32) -> array<vec4<u32>, 2> {
  let z = launder4(vec4<f32>(norm) * relative_log2_4(eb, e_r));
  let n = floor(z);
  let p = bitcast<vec4<u32>>(exp2_fraction4(z - n));
  let s = vec4<i32>(p >> vec4<u32>(23u)) - vec4<i32>(150) + vec4<i32>(n) + vec4<i32>(shift);
  let m = (p & vec4<u32>(0x7fffffu)) | vec4<u32>(0x800000u);
  let zero = vec4<u32>(0u);
  let left = vec4<u32>(clamp(s, vec4<i32>(0), vec4<i32>(31)));
  let right = vec4<u32>(clamp(-s, vec4<i32>(0), vec4<i32>(31)));
  let high_left = vec4<u32>(clamp(s - vec4<i32>(32), vec4<i32>(0), vec4<i32>(31)));
  let high_right = vec4<u32>(clamp(vec4<i32>(32) - s, vec4<i32>(0), vec4<i32>(31)));
  let negative = s < vec4<i32>(0);
  let wide = s >= vec4<i32>(32);
  var lo = select(select(m << left, zero, wide), m >> right, negative);
  var hi = select(select(select(zero, m >> high_right, s > vec4<i32>(0)), m << high_left, wide), zero, negative);
  let most = (s > vec4<i32>(40)) | ((eb >> vec4<u32>(23u)) == vec4<u32>(0xffu));
  let none = eb == zero;
  lo = select(select(lo, vec4<u32>(TERM_MAX.x), most), zero, none);
  hi = select(select(hi, vec4<u32>(TERM_MAX.y), most), zero, none);
  return array<vec4<u32>, 2>(lo, hi);
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
