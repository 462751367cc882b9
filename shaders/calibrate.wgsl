// calibrate.wgsl — scale and zero point of every parameter, by the profile's own formulas.
//
// Bindings: P (uniform), stats (STAT_WORDS words per parameter of the window, from combine.wgsl; unused
//   when GIVEN); the four outputs cover the whole tensor and are written from param_base:
//   scales (read_write: written here, or read when GIVEN), zero_points (read_write, likewise),
//   code_scales (out: the scale codes are computed from — ggml's float32 d, which `scales` holds
//   rounded to float16), inverses (out: float32 1/scale for pytorch and ggml, 0 for d = 0),
//   first_bad (atomic: lowered to the first non-finite index the reduction found).
// Dispatch: param_count invocations (the window's parameters), folded to 2-D.
// Exactness: see qparams.wgsl.

@group(0) @binding(1) var<storage, read> stats: array<u32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_points: array<i32>;
@group(0) @binding(4) var<storage, read_write> code_scales: array<f32>;
@group(0) @binding(5) var<storage, read_write> inverses: array<f32>;
@group(0) @binding(6) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = flat_id(gid);
  if (p >= P.param_count) { return; }
  let g = P.param_base + p;
  var q: QParams;
  if (GIVEN == 1u) {
    q = with_inverse(scales[g], zero_points[g], scales[g]);
  } else {
    let so = p * STAT_WORDS;
    if (stats[so + STAT_FIRST_BAD] != 0xffffffffu) { atomicMin(&first_bad, stats[so + STAT_FIRST_BAD]); }
    q = qparams_of(bitcast<f32>(stats[so + STAT_MIN]), bitcast<f32>(stats[so + STAT_MAX]), bitcast<f32>(stats[so + STAT_PEAK]),
                   bitcast<f32>(stats[so + STAT_PEAK_ABS]));
  }
  scales[g] = q.scale;
  zero_points[g] = q.zp;
  code_scales[g] = q.code_scale;
  inverses[g] = q.inv;
}
