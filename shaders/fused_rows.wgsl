// fused_rows.wgsl — reduce, calibrate and quantize in one dispatch for per-channel schemes whose
// channels are contiguous rows (quantized axis first: [axis_len, inner] with outer = 1).
//
// Bindings: P (uniform), input (the chunk's float32 values, whole rows, as vec4), scales,
//   zero_points (out, per parameter, written at param_base + row), packed (out: the chunk's
//   words), first_bad (atomic: the lowest flat index of a NaN or ±Inf, else 0xffffffff).
// Dispatch: one workgroup per row of the chunk (P.param_count rows from P.param_base), folded
//   to 2-D over workgroups.
// Invariants: inner is a multiple of the elements per word (4 or 8), so rows start on words and
//   on vec4s; the chunk holds whole rows.
// Speed: each invocation reduces a strided share of the row into registers (min and max are
//   order-free, so no order is lost); one barrier publishes the partials — one per invocation
//   (row_partials.wgsl) or, where the device has subgroups, one per subgroup
//   (row_partials_subgroups.wgsl) — invocation 0 folds them and calibrates, and a second barrier
//   publishes the parameters. Two barriers per row, none per element. A row of at most ROW_QUADS
//   vec4s (the host sizes it to the device's workgroup memory) is kept there as it is first read,
//   so memory is read once; a wider row is read again to quantize, from cache if it is still there.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_points: array<i32>;
@group(0) @binding(4) var<storage, read_write> packed: array<u32>;
@group(0) @binding(5) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;
override ROW_QUADS: u32 = 1;

var<workgroup> row_params: QParams;
var<workgroup> held: array<vec4<f32>, ROW_QUADS>;

// Quad k of the row: from workgroup memory when the row is held there (hold is uniform, so no
// invocation diverges), else from the input again.
fn row_quad(hold: bool, base: u32, k: u32) -> vec4<f32> {
  if (hold) { return held[k]; }
  return input[base + k];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * groups.x;
  if (r >= P.param_count) { return; }
  let quads = P.inner / 4u;
  let base = r * quads;
  let first = P.chunk_start + r * P.inner;
  let hold = quads <= ROW_QUADS;
  var mn = vec4<f32>(BIG);
  var mx = vec4<f32>(-BIG);
  // The largest exponent field seen: all ones means a NaN or ±Inf somewhere (see fused_blocks.wgsl).
  var emax = vec4<u32>(0u);
  if (SYMMETRIC == 1u) {
    // Only max(-lo, hi) matters: the largest sign-less bit pattern, which also flags NaN and ±Inf.
    var mag = vec4<u32>(0u);
    for (var k = lid; k < quads; k = k + WG) {
      let v = input[base + k];
      if (hold) { held[k] = v; }
      mag = max(mag, magnitude4(v));
    }
    emax = mag & vec4<u32>(0x7f800000u);
    mx = bitcast<vec4<f32>>(mag);
    mn = -mx;
  } else {
    for (var k = lid; k < quads; k = k + WG) {
      let v = input[base + k];
      if (hold) { held[k] = v; }
      emax = max(emax, bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u));
      mn = min(mn, v);
      mx = max(mx, v);
    }
  }
  var bad = 0xffffffffu;
  if (any(emax == vec4<u32>(0x7f800000u))) {
    for (var k = lid; k < quads; k = k + WG) { bad = min(bad, first_non_finite4(input[base + k], first + 4u * k)); }
  }
  share_partial(lid, min(min(mn.x, mn.y), min(mn.z, mn.w)), max(max(mx.x, mx.y), max(mx.z, mx.w)), bad);
  workgroupBarrier();
  if (lid == 0u) {
    var lo = part_min[0];
    var hi = part_max[0];
    var first_bad_here = part_bad[0];
    for (var t = 1u; t < partial_count(); t = t + 1u) {
      lo = min(lo, part_min[t]);
      hi = max(hi, part_max[t]);
      first_bad_here = min(first_bad_here, part_bad[t]);
    }
    if (first_bad_here != 0xffffffffu) { atomicMin(&first_bad, first_bad_here); }
    let q = qparams_of(lo, hi, 0.0, abs(max(-lo, hi)));
    row_params = q;
    scales[P.param_base + r] = q.scale;
    zero_points[P.param_base + r] = q.zp;
  }
  let q = workgroupUniformLoad(&row_params);
  let per_word = 32u / BITS;
  let words = P.inner / per_word;
  let word_base = r * words;
  // An 8-bit word is one vec4, a 4-bit word two; no loop over them (see quantize.wgsl).
  for (var w = lid; w < words; w = w + WG) {
    var word = pack4(codes4(row_quad(hold, base, w * (per_word / 4u)), q), 0u);
    if (BITS == 4u) { word = word | pack4(codes4(row_quad(hold, base, w * 2u + 1u), q), 1u); }
    packed[word_base + w] = word;
  }
}
