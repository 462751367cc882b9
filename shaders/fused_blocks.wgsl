// fused_blocks.wgsl — reduce, calibrate and quantize in one pass, one invocation per parameter
// whose elements are one contiguous run: a block along the last axis (per group with inner = 1:
// ggml's Q8_0 / Q4_0 among them) or a whole row (per channel with the axis first, on adapters
// that emulate a GPU on the CPU; fused_rows.wgsl spreads a row over a workgroup elsewhere).
//
// Bindings: P (uniform), input (the chunk's float32 values, whole blocks, as vec4), scales,
//   zero_points (out, per parameter, written at param_base + block), packed (out: the chunk's
//   words), first_bad (atomic: the lowest flat index of a NaN or ±Inf, else 0xffffffff).
// Dispatch: one invocation per run of the chunk (P.param_count runs from P.param_base), folded
//   to 2-D.
// Invariants: block and axis_len (or inner, for rows) are multiples of the elements per word (4 or
//   8), so every run, the short last block of a row included, starts on a word and a vec4; the
//   chunk holds whole runs.
// Speed: one invocation walks its run twice — the second time from cache — with no workgroup
//   memory and no barrier. It walks in order, which keeps ggml Q4_0's "first element of largest
//   magnitude" exact. Symmetric schemes need only the largest magnitude, found as the largest
//   sign-less bit pattern: one integer max per element, which also flags NaN and ±Inf (patterns
//   from 0x7f800000 up). A ggml Q8_0 block is held in registers and read once.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_points: array<i32>;
@group(0) @binding(4) var<storage, read_write> packed: array<u32>;
@group(0) @binding(5) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count) { return; }
  let g = P.param_base + t;
  var start = g * P.inner;
  var len = P.inner;
  // ggml's blocked axis is a multiple of its block (checked on the host), so block g starts at
  // g·block; other blocks may be short at a row's end, which costs a division per invocation.
  if (GRANULARITY == GRANULARITY_GROUP && PROFILE == PROFILE_GGML) {
    start = g * P.block;
    len = P.block;
  } else if (GRANULARITY == GRANULARITY_GROUP) {
    let b = g % P.num_blocks;
    start = (g / P.num_blocks) * P.axis_len + b * P.block;
    len = min(P.block, P.axis_len - b * P.block);
  }
  let base = (start - P.chunk_start) / 4u;
  if (PROFILE == PROFILE_GGML && BITS == 8u) {
    q8_0_block(g, base, start);
    return;
  }
  let quads = len / 4u;
  var lo = 0.0;
  var hi = 0.0;
  var m = 0.0;
  var amax = 0.0;
  var emax = vec4<u32>(0u);
  if (SYMMETRIC == 1u && PROFILE != PROFILE_GGML) {
    var mag = vec4<u32>(0u);
    for (var k = 0u; k < quads; k = k + 1u) {
      mag = max(mag, magnitude4(input[base + k]));
    }
    emax = mag & vec4<u32>(0x7f800000u);
    // A symmetric scale depends on max(-lo, hi) alone, and the zero point on neither.
    amax = bitcast<f32>(max(max(mag.x, mag.y), max(mag.z, mag.w)));
    lo = -amax;
    hi = amax;
  } else {
    var mn = vec4<f32>(BIG);
    var mx = vec4<f32>(-BIG);
    // The largest exponent field seen: all ones means a NaN or ±Inf somewhere. Tracking it costs
    // one integer max per vec4; the index of the first one is looked for only when there is one.
    for (var k = 0u; k < quads; k = k + 1u) {
      let v = input[base + k];
      emax = max(emax, bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u));
      // Q4_0's scale reads only its peak.
      if (PROFILE != PROFILE_GGML) {
        mn = min(mn, v);
        mx = max(mx, v);
      } else {
        // Compared as sign-less bit patterns: a device may flush a subnormal's abs() to 0, and
        // the sign of even a subnormal peak is d's sign.
        let mags = magnitude4(v);
        for (var c = 0u; c < 4u; c = c + 1u) {
          if (bitcast<u32>(amax) < mags[c]) {
            amax = bitcast<f32>(mags[c]);
            m = v[c];
          }
        }
      }
    }
    lo = min(min(mn.x, mn.y), min(mn.z, mn.w));
    hi = max(max(mx.x, mx.y), max(mx.z, mx.w));
  }
  if (any(emax == vec4<u32>(0x7f800000u))) {
    report_non_finite(base, quads, start);
    return;
  }
  let q = qparams_of(lo, hi, m, amax);
  scales[g] = q.scale;
  zero_points[g] = q.zp;
  let word_base = (start - P.chunk_start) * BITS / 32u;
  // An 8-bit word is one vec4, a 4-bit word two.
  if (BITS == 8u && PROFILE == PROFILE_ONNX) {
    onnx_words(base, word_base, quads, q);
  } else if (BITS == 8u) {
    for (var k = 0u; k < quads; k = k + 1u) {
      packed[word_base + k] = pack4(codes4(input[base + k], q), 0u);
    }
  } else if (PROFILE == PROFILE_GGML && ggml_tame(q.inv)) {
    for (var k = 0u; k < quads; k = k + 2u) {
      packed[word_base + k / 2u] = pack4(q4_0_codes4(input[base + k], q.inv), 0u) | pack4(q4_0_codes4(input[base + k + 1u], q.inv), 1u);
    }
  } else {
    for (var k = 0u; k < quads; k = k + 2u) {
      packed[word_base + k / 2u] = pack4(codes4(input[base + k], q), 0u) | pack4(codes4(input[base + k + 1u], q), 1u);
    }
  }
}

// onnx's 8-bit words, 16 at a time: each word rounded from x·inv, with no branch in the loop;
// then, in the rare run of 16 where a lane lies near a half (about 1 in 128 runs of ordinary data),
// the run again through codes4, which divides where it must. A division in the hot loop, even
// one never taken, doubled its cost on SwiftShader.
fn onnx_words(base: u32, word_base: u32, quads: u32, q: QParams) {
  for (var s = 0u; s < quads; s = s + 16u) {
    let end = min(s + 16u, quads);
    var divides = vec4<bool>(false);
    for (var k = s; k < end; k = k + 1u) {
      packed[word_base + k] = pack4(onnx_fast4(input[base + k], q, &divides), 0u);
    }
    if (any(divides)) {
      for (var k = s; k < end; k = k + 1u) { packed[word_base + k] = pack4(codes4(input[base + k], q), 0u); }
    }
  }
}

fn report_non_finite(base: u32, quads: u32, start: u32) {
  var bad = 0xffffffffu;
  for (var k = 0u; k < quads; k = k + 1u) { bad = min(bad, first_non_finite4(input[base + k], start + 4u * k)); }
  atomicMin(&first_bad, bad);
}

// A Q8_0 block: 32 elements, eight vec4s kept in named registers (an indexed array would live
// in memory on SwiftShader) and read from the buffer once.
fn q8_0_block(g: u32, base: u32, start: u32) {
  let x0 = input[base];
  let x1 = input[base + 1u];
  let x2 = input[base + 2u];
  let x3 = input[base + 3u];
  let x4 = input[base + 4u];
  let x5 = input[base + 5u];
  let x6 = input[base + 6u];
  let x7 = input[base + 7u];
  let mag = max(max(max(magnitude4(x0), magnitude4(x1)), max(magnitude4(x2), magnitude4(x3))),
                max(max(magnitude4(x4), magnitude4(x5)), max(magnitude4(x6), magnitude4(x7))));
  if (any(mag >= vec4<u32>(0x7f800000u))) {
    report_non_finite(base, 8u, start);
    return;
  }
  let amax = bitcast<f32>(max(max(mag.x, mag.y), max(mag.z, mag.w)));
  let q = qparams_of(-amax, amax, 0.0, amax);
  scales[g] = q.scale;
  zero_points[g] = 0;
  // A finite id = 1/d bounds |x·id| by 127·(1 + 2^-20) — d = amax / 127 keeps at least 22
  // significant bits down to 2^-128, where 1/d overflows — so every code is in range without
  // clamping or saturating.
  let w = (start - P.chunk_start) / 4u;
  if (ggml_tame(q.inv)) {
    packed[w] = pack4(q8_0_codes4(x0, q.inv), 0u);
    packed[w + 1u] = pack4(q8_0_codes4(x1, q.inv), 0u);
    packed[w + 2u] = pack4(q8_0_codes4(x2, q.inv), 0u);
    packed[w + 3u] = pack4(q8_0_codes4(x3, q.inv), 0u);
    packed[w + 4u] = pack4(q8_0_codes4(x4, q.inv), 0u);
    packed[w + 5u] = pack4(q8_0_codes4(x5, q.inv), 0u);
    packed[w + 6u] = pack4(q8_0_codes4(x6, q.inv), 0u);
    packed[w + 7u] = pack4(q8_0_codes4(x7, q.inv), 0u);
  } else {
    for (var k = 0u; k < 8u; k = k + 1u) { packed[w + k] = pack4(codes4(input[base + k], q), 0u); }
  }
}

fn q8_0_codes4(v: vec4<f32>, inv: f32) -> vec4<i32> {
  return vec4<i32>(round_half_away4(launder4(v * inv)));
}

// Q4_0's codes when ggml_tame: |x·id| ≤ 8·(1 + 2^-23), so x·id + 8.5 lies in (0, 17) and
// converts without saturating; MIN(15, …) is llama.cpp's own clamp.
fn q4_0_codes4(v: vec4<f32>, inv: f32) -> vec4<i32> {
  return min(vec4<i32>(trunc(launder4(v * inv) + vec4<f32>(8.5))), vec4<i32>(15)) - vec4<i32>(8);
}

// Whether a ggml block's codes may take the plain product x·id: an id below 2^124 (a block's
// largest magnitude above about 2^-117). From 2^124 up a subnormal x may reach a code that a
// device flushing it would miss, and an infinite id (d ≤ 2^-128) takes the rule for such blocks:
// both are ggml_codes4's (codes.wgsl).
fn ggml_tame(inv: f32) -> bool {
  return (bitcast<u32>(inv) & 0x7fffffffu) < 0x7d800000u;
}
