// combine.wgsl — folds one chunk's slice statistics into each parameter's running statistics.
//
// Bindings: P (uniform), partials (7 words per (parameter, slice), from reduce.wgsl), stats
//   (read_write, 7 words per parameter of the window from param_base, persisting across chunks;
//   the host zeroes it and sets word 6 to 0xffffffff before the first chunk).
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
  let so = p * 7u;
  var mn = bitcast<f32>(stats[so]);
  var mx = bitcast<f32>(stats[so + 1u]);
  var m = bitcast<f32>(stats[so + 2u]);
  var amax = bitcast<f32>(stats[so + 3u]);
  var finite = stats[so + 4u];
  var bad = stats[so + 5u];
  var first_bad = stats[so + 6u];
  for (var s = 0u; s < P.slices; s = s + 1u) {
    let o = (p * P.slices + s) * 7u;
    let n = partials[o + 4u];
    if (n > 0u) {
      let pmn = bitcast<f32>(partials[o]);
      let pmx = bitcast<f32>(partials[o + 1u]);
      if (finite == 0u || pmn < mn) { mn = pmn; }
      if (finite == 0u || pmx > mx) { mx = pmx; }
      let pa = partials[o + 3u];
      // Magnitudes compare as bits, which a device flushing subnormals cannot blur.
      if (bitcast<u32>(amax) < pa) {
        amax = bitcast<f32>(pa);
        m = bitcast<f32>(partials[o + 2u]);
      }
      finite = finite + n;
    }
    bad = bad + partials[o + 5u];
    first_bad = min(first_bad, partials[o + 6u]);
  }
  stats[so] = bitcast<u32>(mn);
  stats[so + 1u] = bitcast<u32>(mx);
  stats[so + 2u] = bitcast<u32>(m);
  stats[so + 3u] = bitcast<u32>(amax);
  stats[so + 4u] = finite;
  stats[so + 5u] = bad;
  stats[so + 6u] = first_bad;
}
