enable subgroups;

// row_partials_subgroups.wgsl — library for fused_rows.wgsl (no entry point), where the device
// has subgroup operations: each subgroup folds its invocations' partials (min and max are exact
// in any order) and one of them publishes the result, so invocation 0 folds one slot per
// subgroup. Subgroups need not be runs of consecutive invocations, so slots are handed out by a
// counter rather than computed from an index.

var<workgroup> part_min: array<f32, WG>;
var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_bad: array<u32, WG>;
var<workgroup> part_slots: atomic<u32>;

fn share_partial(lid: u32, lo: f32, hi: f32, bad: u32) {
  let slo = subgroupMin(lo);
  let shi = subgroupMax(hi);
  let sbad = subgroupMin(bad);
  if (subgroupElect()) {
    let slot = atomicAdd(&part_slots, 1u);
    part_min[slot] = slo;
    part_max[slot] = shi;
    part_bad[slot] = sbad;
  }
}

// How many slots hold partials, after the barrier that follows share_partial.
fn partial_count() -> u32 {
  return atomicLoad(&part_slots);
}
