// percentile_select.wgsl — after a pass of percentile_count.wgsl over every chunk of the window,
// each target takes the next digit of its key: the first digit value whose running count reaches
// the target's rank among the members that share its settled bits; the rank becomes the rank
// within that digit's members. The counts are cleared for the next pass.
//
// Bindings: P (uniform), config (percentile_common.wgsl's words), state (read_write: two words per
//   target), hist (read_write: BINS counts per target, left zero).
// Dispatch: param_count × TARGETS invocations, folded to 2-D; invocation t is target t.
// Invariants: the target's rank is in 1 … (members sharing its settled bits), so some digit
//   reaches it; on the first pass the rank is k (side 0) or n + 1 − k (side 1) for the
//   parameter's n members, with k from config for that n.

@group(0) @binding(1) var<storage, read> config: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> hist: array<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count * TARGETS) { return; }
  let shift = config[PCT_SHIFT];
  var prefix = 0u;
  var rank = 0u;
  if (shift == FIRST_SHIFT) {
    let n = member_count(quant_layout(), P.param_base + t / TARGETS);
    let k = select(config[PCT_K_FULL], config[PCT_K_LAST], n == config[PCT_N_LAST]);
    rank = select(k, n + 1u - k, t % TARGETS == 1u);
  } else {
    prefix = state[t * 2u];
    rank = state[t * 2u + 1u];
  }
  var below = 0u;
  var digit = BINS;
  for (var d = 0u; d < BINS; d = d + 1u) {
    let c = hist[t * BINS + d];
    hist[t * BINS + d] = 0u;
    if (digit == BINS) {
      if (below + c >= rank) {
        digit = d;
      } else {
        below = below + c;
      }
    }
  }
  state[t * 2u] = (prefix & settled_mask(shift)) | (min(digit, BINS - 1u) << shift);
  state[t * 2u + 1u] = rank - below;
}
