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
//   magnitude" exact.

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
  if (GRANULARITY == 2u) {
    let b = g % P.num_blocks;
    start = (g / P.num_blocks) * P.axis_len + b * P.block;
    len = min(P.block, P.axis_len - b * P.block);
  }
  let base = (start - P.chunk_start) / 4u;
  let quads = len / 4u;
  var mn = vec4<f32>(BIG);
  var mx = vec4<f32>(-BIG);
  var m = 0.0;
  var amax = 0.0;
  // The largest exponent field seen: all ones means a NaN or ±Inf somewhere. Tracking it costs
  // one integer max per vec4; the index of the first one is looked for only when there is one.
  var emax = vec4<u32>(0u);
  for (var k = 0u; k < quads; k = k + 1u) {
    let v = input[base + k];
    emax = max(emax, bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u));
    mn = min(mn, v);
    mx = max(mx, v);
    if (PROFILE == 2u && BITS == 4u) {
      for (var c = 0u; c < 4u; c = c + 1u) {
        if (amax < abs(v[c])) {
          amax = abs(v[c]);
          m = v[c];
        }
      }
    }
  }
  if (any(emax == vec4<u32>(0x7f800000u))) {
    var bad = 0xffffffffu;
    for (var k = 0u; k < quads; k = k + 1u) { bad = min(bad, first_non_finite4(input[base + k], start + 4u * k)); }
    atomicMin(&first_bad, bad);
    return;
  }
  let lo = min(min(mn.x, mn.y), min(mn.z, mn.w));
  let hi = max(max(mx.x, mx.y), max(mx.z, mx.w));
  // abs: max(-lo, hi) is never negative, but max(-0, 0) may be -0, and ggml's amax starts at +0.
  if (!(PROFILE == 2u && BITS == 4u)) { amax = abs(max(-lo, hi)); }
  let q = qparams_of(lo, hi, m, amax);
  scales[g] = q.scale;
  zero_points[g] = q.zp;
  let word_base = (start - P.chunk_start) * BITS / 32u;
  // An 8-bit word is one vec4, a 4-bit word two.
  if (BITS == 8u) {
    for (var k = 0u; k < quads; k = k + 1u) {
      packed[word_base + k] = pack4(codes4(input[base + k], q), 0u);
    }
  } else {
    for (var k = 0u; k < quads; k = k + 2u) {
      packed[word_base + k / 2u] = pack4(codes4(input[base + k], q), 0u) | pack4(codes4(input[base + k + 1u], q), 1u);
    }
  }
}
