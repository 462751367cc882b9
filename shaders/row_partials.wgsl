// row_partials.wgsl — library for fused_rows.wgsl (no entry point): each invocation publishes
// its partial statistics of the row in workgroup memory, one slot per invocation.

var<workgroup> part_min: array<f32, WG>;
var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_bad: array<u32, WG>;

fn share_partial(lid: u32, lo: f32, hi: f32, bad: u32) {
  part_min[lid] = lo;
  part_max[lid] = hi;
  part_bad[lid] = bad;
}

// How many slots hold partials, after the barrier that follows share_partial.
fn partial_count() -> u32 {
  return WG;
}
