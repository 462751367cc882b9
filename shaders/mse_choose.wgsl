// mse_choose.wgsl — each parameter's candidate with the least error sum, and its scale and zero
// point: calibrate.wgsl's outputs for the mse calibrator.
//
// Bindings: P (uniform), stats (the window's min/max records), config (mse_term.wgsl's MSE_*
//   words), totals (3 words per (parameter, candidate), from mse_fold.wgsl); the four outputs
//   cover the whole tensor and are written from param_base: scales, zero_points, code_scales,
//   inverses (as calibrate.wgsl); first_bad (atomic: lowered to the first non-finite index the
//   reduction found).
// Dispatch: param_count invocations, folded to 2-D.
// Invariants: candidates are visited from the largest range down and one replaces the best only
//   when its sum is strictly smaller, so ties keep the larger range, as src/schemes/mse.ts does.

@group(0) @binding(1) var<storage, read> stats: array<u32>;
@group(0) @binding(2) var<storage, read> config: array<u32>;
@group(0) @binding(3) var<storage, read> totals: array<u32>;
@group(0) @binding(4) var<storage, read_write> scales: array<f32>;
@group(0) @binding(5) var<storage, read_write> zero_points: array<i32>;
@group(0) @binding(6) var<storage, read_write> code_scales: array<f32>;
@group(0) @binding(7) var<storage, read_write> inverses: array<f32>;
@group(0) @binding(8) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let lp = flat_id(gid);
  if (lp >= P.param_count) { return; }
  let count = config[MSE_COUNT];
  let so = lp * STAT_WORDS;
  if (stats[so + STAT_FIRST_BAD] != 0xffffffffu) { atomicMin(&first_bad, stats[so + STAT_FIRST_BAD]); }
  let base = lp * count * 3u;
  var best = 0u;
  var least = vec3<u32>(totals[base], totals[base + 1u], totals[base + 2u]);
  for (var c = 1u; c < count; c = c + 1u) {
    let o = base + c * 3u;
    let sum = vec3<u32>(totals[o], totals[o + 1u], totals[o + 2u]);
    if (sum_below(sum, least)) {
      least = sum;
      best = c;
    }
  }
  let q = candidate(bitcast<f32>(stats[so + STAT_MIN]), bitcast<f32>(stats[so + STAT_MAX]),
                    bitcast<f32>(config[MSE_FACTORS + best]));
  let g = P.param_base + lp;
  scales[g] = q.scale;
  zero_points[g] = q.zp;
  code_scales[g] = q.code_scale;
  inverses[g] = q.inv;
}
