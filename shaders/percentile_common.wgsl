// percentile_common.wgsl — what the percentile kernels share (prepended to each by
// src/webgpu/shaders.ts): the config words, the order-preserving key of a float32 and the
// per-target selection state.
//
// The percentile calibrator (src/schemes/percentile.ts) clips each parameter's range at the k-th
// smallest of its values (|x| when symmetric: one target per parameter; x itself when not: two
// targets, the k-th smallest and the (n + 1 − k)-th). The kernels find each target's value by a
// radix select on the key below, most significant digit first: a pass counts, per target, the
// members whose key agrees with the target's prefix so far in each of the BINS values of the next
// digit (percentile_count.wgsl), then the target takes the digit where the running count reaches
// its rank (percentile_select.wgsl). After 32 / DIGIT_BITS passes the prefix is a whole key, and
// percentile_range.wgsl writes the values as a statistics record.
//
// Why the result is exact and independent of slicing and chunking: every quantity is an integer
// count of members, added with atomicAdd on u32 (below 2^31 members, so no count overflows), and
// integer addition gives the same total in any order. The key compares as the reference's
// Float32Array sort does, by bits alone (no float arithmetic, so no flushing of subnormals):
// −0 below +0, each value above every smaller one; the k-th smallest key is then the k-th element
// of the sorted array, bit for bit.
//
// Config words (the host writes them; PCT_SHIFT before each pass): a parameter with PCT_N_LAST
// members (a short last block) has rank PCT_K_LAST, every other PCT_K_FULL; PCT_SHIFT is the
// current digit's lowest bit, FIRST_SHIFT on the first pass.
// State: two words per target (parameter lp, side s at lp·TARGETS + s; side 0 is the k-th
// smallest, side 1 the (n + 1 − k)-th): the key bits settled so far, and the rank still to be
// found among the members that share them (1-based).

const PCT_N_FULL: u32 = 0u;
const PCT_K_FULL: u32 = 1u;
const PCT_N_LAST: u32 = 2u;
const PCT_K_LAST: u32 = 3u;
const PCT_SHIFT: u32 = 4u;

const DIGIT_BITS: u32 = 4u;
const BINS: u32 = 16u;
const FIRST_SHIFT: u32 = 28u;
const TARGETS: u32 = 2u - SYMMETRIC;

// A float32's bits as a u32 that orders as the values do: positives above negatives, larger
// magnitudes further from the middle; −0 (0x7fffffff) just below +0 (0x80000000).
fn order_key(bits: u32) -> u32 {
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

fn key_bits(key: u32) -> u32 {
  return select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u);
}

// The key bits above the digit at `shift`: none on the first pass.
fn settled_mask(shift: u32) -> u32 {
  return select(0u, 0xffffffffu << (min(shift, 27u) + DIGIT_BITS), shift < FIRST_SHIFT);
}
