// kquant_common.wgsl — float32 steps of ggml's K-quant searches, exact on any device: prepended to
// each K-quant kernel (shaders/kq*.wgsl) after the shared library.
//
// The CPU reference rounds every operation to float32 in the C source's order. WGSL's + − * round
// correctly but a device may flush subnormals (SwiftShader does in multiplications) and may
// contract a product into a following addition; its / and sqrt are not correctly rounded. So:
// products go through fmul (the device's product when operands and result are normal, else the
// exact product on bits, laundered so no addition fuses with it), quotients through fdiv
// (div_rn), the square root through sqrt_rn (integer digit-by-digit), and comparisons of floats
// through their bit patterns, which no flushing mode changes. Additions and subtractions are the
// device's own: a device that reads subnormal operands of an addition as zero can differ from the
// reference on super-blocks holding subnormal weights, so the host (src/webgpu/blocks.ts) takes
// those blocks' bytes from the CPU reference.

// The exact product of two finite floats, subnormals included, rounded to nearest even.
// Why it is exact: the 24-bit significands' product P < 2^48 is formed from 12-bit halves as
// H·2^24 + L; its top 25 bits (24 and a guard bit) and the sticky rest go to rounded_quotient,
// which shifts a tiny result into subnormal form before it rounds, as IEEE-754 does.
fn mul_exact(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  let na = normalized(ab);
  let nb = normalized(bb);
  let ah = na.y >> 12u;
  let al = na.y & 0xfffu;
  let bh = nb.y >> 12u;
  let bl = nb.y & 0xfffu;
  let t1 = ah * bl + al * bh;
  let lo = al * bl + ((t1 & 0xfffu) << 12u);
  let hi = ah * bh + (t1 >> 12u) + (lo >> 24u);
  let l = lo & 0xffffffu;
  let top = hi >= 0x800000u;
  let g = select((hi << 2u) | (l >> 22u), (hi << 1u) | (l >> 23u), top);
  let sticky = select((l & 0x3fffffu) != 0u, (l & 0x7fffffu) != 0u, top);
  let exponent = i32(na.x) + i32(nb.x) + select(22, 23, top) - 149;
  let zero = (ab << 1u) == 0u || (bb << 1u) == 0u;
  return rounded_quotient((ab ^ bb) & 0x80000000u, exponent, g, sticky, zero);
}

// a · b rounded once to float32, as the CPU computes it, never fused into an addition.
fn fmul(a: f32, b: f32) -> f32 {
  let p = launder(a * b);
  let ea = (bitcast<u32>(a) >> 23u) & 0xffu;
  let eb = (bitcast<u32>(b) >> 23u) & 0xffu;
  let ep = (bitcast<u32>(p) >> 23u) & 0xffu;
  if (ea == 255u || eb == 255u || (ea != 0u && eb != 0u && ep != 0u)) { return p; }
  return launder(mul_exact(a, b));
}

fn is_nan(a: f32) -> bool {
  return (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u;
}

// a / b correctly rounded, with IEEE-754's special cases (div_rn takes finite nonzero divisors
// and non-NaN dividends): a NaN operand or 0/0 or Inf/Inf gives NaN, b = ±Inf a signed zero,
// b = ±0 a signed infinity.
fn fdiv(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  let sign = (ab ^ bb) & 0x80000000u;
  let a_inf = (ab & 0x7fffffffu) == 0x7f800000u;
  let b_inf = (bb & 0x7fffffffu) == 0x7f800000u;
  if (is_nan(a) || is_nan(b) || (a_inf && b_inf) || (is_zero(a) && is_zero(b))) { return bitcast<f32>(0x7fc00000u ^ P.zero); }
  if (b_inf) { return bitcast<f32>(sign); }
  if (is_zero(b)) { return bitcast<f32>(sign | 0x7f800000u); }
  return div_rn(a, b);
}

// sqrt(x) correctly rounded, for x >= 0 (±0 and +Inf are themselves).
// Why it is exact: x = M·2^(e−23) with M a 24-bit significand; N = M·2^s with s in {25, 26}
// chosen so that e − 23 − s is even lies in [2^48, 2^50). The digit-by-digit root takes N's bits
// two at a time (its remainder stays below 2^28) and gives r = floor(sqrt(N)) in [2^24, 2^25):
// 24 bits and a guard bit, with the remainder as the sticky bit; sqrt(x) = sqrt(N)·2^((e−23−s)/2).
fn sqrt_rn(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b << 1u) == 0u || b >= 0x7f800000u) { return x; }
  let n = normalized(b);
  let e = i32(n.x) - 127;
  let s = select(26, 25, ((e - 48) & 1) == 0);
  let odd = u32(s) & 1u;
  let m = n.y << odd;
  let s2 = i32(u32(s) - odd);
  var root = 0u;
  var rem = 0u;
  for (var j = 24; j >= 0; j = j - 1) {
    let sh = 2 * j - s2;
    let pair = select(0u, (m >> u32(max(sh, 0))) & 3u, sh >= 0);
    rem = (rem << 2u) | pair;
    let trial = (root << 2u) | 1u;
    let ge = rem >= trial;
    rem = select(rem, rem - trial, ge);
    root = (root << 1u) | select(0u, 1u, ge);
  }
  return rounded_quotient(0u, 151 + (e - 23 - s) / 2, root, rem != 0u, false);
}

// ggml's nearest_int: the low mantissa bits of v + 1.5·2^23 (half to even; wraps past 2^22 as in C).
fn nearest_int(v: f32) -> i32 {
  return i32(bitcast<u32>(launder(v) + 12582912.0) & 0x7fffffu) - 0x400000;
}

// Floats ordered as their bit patterns, so that a flushing device still orders subnormals.
fn order_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b >> 31u) == 1u);
}

// a < b as IEEE-754 orders them: −0 and +0 equal, false when either is NaN.
fn flt(a: f32, b: f32) -> bool {
  return order_key(a) < order_key(b) && ((bitcast<u32>(a) | bitcast<u32>(b)) << 1u) != 0u && !is_nan(a) && !is_nan(b);
}

// a == b as IEEE-754 compares them.
fn feq(a: f32, b: f32) -> bool {
  return (bitcast<u32>(a) == bitcast<u32>(b) || ((bitcast<u32>(a) | bitcast<u32>(b)) << 1u) == 0u) && !is_nan(a);
}

fn is_zero(a: f32) -> bool {
  return (bitcast<u32>(a) << 1u) == 0u;
}

// The float16 bits of h, a value f16_round gave (every half is exact in float32).
fn half_bits(h: f32) -> u32 {
  let b = bitcast<u32>(h);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) { return sign | (((a >> 23u) - 112u) << 10u) | ((a >> 13u) & 0x3ffu); }
  return sign | u32(bitcast<f32>(a) * 16777216.0);
}

// The block's bytes, assembled in words and written at the block's stride.
var<private> out_words: array<u32, 56>;

fn put_byte(i: u32, v: u32) {
  out_words[i >> 2u] = out_words[i >> 2u] | ((v & 0xffu) << ((i & 3u) * 8u));
}

fn put_half(i: u32, h: f32) {
  let bits = half_bits(h);
  put_byte(i, bits);
  put_byte(i + 1u, bits >> 8u);
}

// The block's 256 weights, and the flat index of any NaN or ±Inf lowered into first_bad.
var<private> xs: array<f32, 256>;

// Every K-quant kernel's first step for super-block t of the window: its values into xs (a NaN or
// ±Inf lowers first_bad to its flat index) and its output words cleared. Each kernel declares
// `input`, `first_bad` and its block's word count STRIDE.
fn start_super_block(t: u32) {
  let first = t * 256u;
  for (var i = 0u; i < 256u; i = i + 1u) {
    let v = input[first + i];
    if (!is_finite_bits(bitcast<u32>(v))) { atomicMin(&first_bad, P.chunk_start + first + i); }
    xs[i] = v;
  }
  for (var w = 0u; w < STRIDE; w = w + 1u) { out_words[w] = 0u; }
}
