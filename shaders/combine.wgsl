// combine.wgsl — folds one chunk's slice statistics into each parameter's running statistics.
//
// Bindings: P (uniform), partials (one statistics record per (parameter, slice), from
//   reduce.wgsl), stats (read_write, one record per parameter of the window from param_base,
//   persisting across chunks; the host writes each word's initial value, from the record's one
//   declaration in src/schemes/minmax.ts, before the first chunk).
// Dispatch: param_count invocations, folded to 2-D.
// Invariants: chunks arrive in flat order and slices are folded in order, so strict comparisons
//   keep the first extreme, exactly as a sequential scan over the tensor does.

@group(0) @binding(1) var<storage, read> partials: array<u32>;
@group(0) @binding(2) var<storage, read_write> stats: array<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = flat_id(gid);
  if (p >= P.param_count) { return; }
  let so = p * STAT_WORDS;
  var mn = bitcast<f32>(stats[so + STAT_MIN]);
  var mx = bitcast<f32>(stats[so + STAT_MAX]);
  var m = bitcast<f32>(stats[so + STAT_PEAK]);
  var amax = bitcast<f32>(stats[so + STAT_PEAK_ABS]);
  var finite = stats[so + STAT_FINITE];
  var bad = stats[so + STAT_BAD];
  var first_bad = stats[so + STAT_FIRST_BAD];
  for (var s = 0u; s < P.slices; s = s + 1u) {
    let o = (p * P.slices + s) * STAT_WORDS;
    let n = partials[o + STAT_FINITE];
    if (n > 0u) {
      let pmn = bitcast<f32>(partials[o + STAT_MIN]);
      let pmx = bitcast<f32>(partials[o + STAT_MAX]);
      if (finite == 0u || pmn < mn) { mn = pmn; }
      if (finite == 0u || pmx > mx) { mx = pmx; }
      let pa = partials[o + STAT_PEAK_ABS];
      // Magnitudes compare as bits, which a device flushing subnormals cannot blur.
      if (bitcast<u32>(amax) < pa) {
        amax = bitcast<f32>(pa);
        m = bitcast<f32>(partials[o + STAT_PEAK]);
      }
      finite = finite + n;
    }
    bad = bad + partials[o + STAT_BAD];
    first_bad = min(first_bad, partials[o + STAT_FIRST_BAD]);
  }
  stats[so + STAT_MIN] = bitcast<u32>(mn);
  stats[so + STAT_MAX] = bitcast<u32>(mx);
  stats[so + STAT_PEAK] = bitcast<u32>(m);
  stats[so + STAT_PEAK_ABS] = bitcast<u32>(amax);
  stats[so + STAT_FINITE] = finite;
  stats[so + STAT_BAD] = bad;
  stats[so + STAT_FIRST_BAD] = first_bad;
}
