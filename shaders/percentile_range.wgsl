// percentile_range.wgsl — each parameter's clipped range from its selected keys, written as the
// min/max statistics record (src/schemes/minmax.ts) that calibrate.wgsl turns into a scale and
// zero point: the reference's rangeStats (src/schemes/mse.ts) of lo and hi, where symmetric
// schemes have hi = the k-th smallest |x| and lo = −hi, asymmetric ones hi = the k-th smallest x
// and lo = the (n + 1 − k)-th.
//
// Bindings: P (uniform), state (two words per target, from percentile_select.wgsl's last pass),
//   stats (out: STAT_WORDS words per parameter of the window).
// Dispatch: param_count invocations, folded to 2-D.
// Exactness: bits only: |v| is the bits without the sign, and comparing magnitudes as u32
//   orders them as float32 does, subnormals included; the reference's −hi of +0 is −0, here too.

@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> stats: array<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let lp = flat_id(gid);
  if (lp >= P.param_count) { return; }
  let hi = key_bits(state[lp * TARGETS * 2u]);
  var lo = hi ^ 0x80000000u;
  if (SYMMETRIC == 0u) { lo = key_bits(state[(lp * TARGETS + 1u) * 2u]); }
  let peak_abs = max(lo & 0x7fffffffu, hi & 0x7fffffffu);
  let so = lp * STAT_WORDS;
  stats[so + STAT_MIN] = lo;
  stats[so + STAT_MAX] = hi;
  stats[so + STAT_PEAK] = select(lo, hi, (hi & 0x7fffffffu) >= peak_abs);
  stats[so + STAT_PEAK_ABS] = peak_abs;
  stats[so + STAT_FINITE] = member_count(quant_layout(), P.param_base + lp);
  stats[so + STAT_BAD] = 0u;
  stats[so + STAT_FIRST_BAD] = 0xffffffffu;
}
