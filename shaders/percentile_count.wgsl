// percentile_count.wgsl — one radix-select pass's counts over one chunk: for every target of the
// window (percentile_common.wgsl), how many of its parameter's members in the chunk share the
// target's settled key bits, for each value of the digit at PCT_SHIFT.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), config, state (the targets'
//   settled bits, from percentile_select.wgsl; ignored on the first pass), hist (atomic: BINS
//   counts per target, zero before the pass's first chunk), first_bad (atomic: lowered to the
//   flat index of any non-finite member, on the first pass).
// Dispatch: param_count × slices invocations, folded to 2-D; invocation t walks slice t % slices
//   of parameter param_base + t / slices, as reduce.wgsl does.
// Exactness: counts are integers and atomicAdd is order-free, so the totals are the same for any
//   slicing and chunking; the key is compared by bits only.

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> config: array<u32>;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count * P.slices) { return; }
  let lp = t / P.slices;
  let s = t % P.slices;
  let p = P.param_base + lp;
  let L = quant_layout();
  let j0 = count_below(L, p, P.chunk_start);
  let j1 = count_below(L, p, P.chunk_start + P.chunk_len);
  let js = min(j0 + s * P.slice_len, j1);
  let je = min(js + P.slice_len, j1);
  if (js >= je) { return; }
  let shift = config[PCT_SHIFT];
  let first_pass = shift == FIRST_SHIFT;
  let mask = settled_mask(shift);
  let upper = state[lp * TARGETS * 2u] & mask;
  var lower = 0u;
  if (SYMMETRIC == 0u) { lower = state[(lp * TARGETS + 1u) * 2u] & mask; }
  var up_counts: array<u32, 16>;
  var low_counts: array<u32, 16>;
  // Members are runs of `run` consecutive flat indices `stride` apart, the runs `jump` apart: a
  // channel's rows along the other axes; a block's elements `inner` apart; the whole tensor.
  var run = 0xffffffffu;
  var stride = 1u;
  var jump = 1u;
  var col = 0u;
  if (GRANULARITY == GRANULARITY_CHANNEL) {
    run = P.inner;
    jump = (P.axis_len - 1u) * P.inner + 1u;
    col = js % P.inner;
  } else if (GRANULARITY == GRANULARITY_GROUP) {
    stride = P.inner;
  }
  var i = member(L, p, js);
  for (var j = js; j < je; j = j + 1u) {
    let bits = input[i - P.chunk_start];
    if (first_pass && !is_finite_bits(bits)) { atomicMin(&first_bad, i); }
    var key: u32;
    if (SYMMETRIC == 1u) { key = bits | 0x80000000u; } else { key = order_key(bits); }
    let d = (key >> shift) & (BINS - 1u);
    let settled = key & mask;
    if (settled == upper) { up_counts[d] = up_counts[d] + 1u; }
    if (SYMMETRIC == 0u && settled == lower) { low_counts[d] = low_counts[d] + 1u; }
    col = col + 1u;
    if (col == run) {
      col = 0u;
      i = i + jump;
    } else {
      i = i + stride;
    }
  }
  let h = lp * TARGETS * BINS;
  for (var d = 0u; d < BINS; d = d + 1u) {
    if (up_counts[d] != 0u) { atomicAdd(&hist[h + d], up_counts[d]); }
    if (SYMMETRIC == 0u && low_counts[d] != 0u) { atomicAdd(&hist[h + BINS + d], low_counts[d]); }
  }
}
