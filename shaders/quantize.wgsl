// quantize.wgsl — codes for one chunk, packed little-endian into u32 words: the general kernel,
// for any layout (fused_rows.wgsl and fused_blocks.wgsl handle the common ones in one pass).
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), code_scales, inverses,
//   zero_points (per parameter of the window from param_base, from calibrate.wgsl), packed (out:
//   the chunk's words), first_bad (atomic: the lowest flat index of a NaN or ±Inf, else
//   0xffffffff; checked here only for caller-supplied scales, since the reduction already finds
//   them when scales come from the data).
// Dispatch: one invocation per output word (4 codes at 8 bits, 8 at 4 bits), or per RUN_WORDS
//   words per tensor, folded to 2-D.
// Invariants: the chunk starts at a multiple of 8 elements; lanes past the tensor's end are 0.
// Speed: a word whose elements share one parameter (every word per tensor, most per channel or
//   per block along the last axis) loads that parameter once and converts four lanes at a time.
//   Per tensor, an invocation takes RUN_WORDS words with the one parameter loaded once: on a CPU
//   emulation an invocation per word spends more on starting invocations than on the words.

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> code_scales: array<f32>;
@group(0) @binding(3) var<storage, read> inverses: array<f32>;
@group(0) @binding(4) var<storage, read> zero_points: array<i32>;
@group(0) @binding(5) var<storage, read_write> packed: array<u32>;
@group(0) @binding(6) var<storage, read_write> first_bad: atomic<u32>;

override WG: u32 = 64;

fn params_at(p: u32) -> QParams {
  return QParams(0.0, zero_points[p], code_scales[p], inverses[p]);
}

// Word w of the chunk, element by element: for words whose elements have different parameters
// (a row or block boundary inside the word, blocks along a leading axis).
fn mixed_word(w: u32) -> u32 {
  let per_word = 32u / BITS;
  let mask = (1u << BITS) - 1u;
  var word = 0u;
  for (var lane = 0u; lane < per_word; lane = lane + 1u) {
    let local = w * per_word + lane;
    if (local >= P.chunk_len) { break; }
    let bits = input[local];
    if (GIVEN == 1u && !is_finite_bits(bits)) { atomicMin(&first_bad, P.chunk_start + local); }
    let code = code_of(bitcast<f32>(bits), params_at(param_of(P.chunk_start + local) - P.param_base));
    word = word | ((bitcast<u32>(code) & mask) << (lane * BITS));
  }
  return word;
}

// Four elements from `local` on; lanes past the binding read as whatever robust access gives
// (their codes are masked off).
fn quad(local: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(vec4<u32>(input[local], input[local + 1u], input[local + 2u], input[local + 3u]));
}

// Whether every element from i0 to i1 (within one word) has one parameter: the same row of a
// channel, or the same block of a row when blocks run along the last axis. Parameter indices
// alone cannot tell: along a last axis they wrap around from one row to the next.
fn same_param(i0: u32, i1: u32) -> bool {
  if (GRANULARITY == GRANULARITY_CHANNEL) { return i0 / P.inner == i1 / P.inner; }
  if (P.inner != 1u) { return false; }
  let r0 = i0 / P.axis_len;
  return r0 == i1 / P.axis_len && (i0 - r0 * P.axis_len) / P.block == (i1 - r0 * P.axis_len) / P.block;
}

// Word w of the chunk when all its elements have the parameter q: four lanes at a time, the
// chunk's partial last word masked. No loop over a word's quads: on a CPU emulation a loop, even
// of one trip, costs as much again as the word.
fn uniform_word(w: u32, q: QParams) -> u32 {
  let per_word = 32u / BITS;
  let first = w * per_word;
  let lanes = min(per_word, P.chunk_len - first);
  var word = quad_codes(first, lanes, 0u, q);
  if (BITS == 4u) { word = word | quad_codes(first, lanes, 1u, q); }
  return select(word & ((1u << (lanes * BITS)) - 1u), word, lanes == per_word);
}

// Quad h of the word from `first`, as codes in their lanes; with caller-supplied scales it also
// reports a NaN or ±Inf among the word's `lanes` elements.
fn quad_codes(first: u32, lanes: u32, h: u32, q: QParams) -> u32 {
  let v = quad(first + 4u * h);
  if (GIVEN == 1u) {
    let i0 = P.chunk_start + first;
    let bad = first_non_finite4(v, i0 + 4u * h);
    if (bad < i0 + lanes) { atomicMin(&first_bad, bad); }
  }
  return pack4(codes4(v, q), h);
}

// Per tensor, onnx: RUN_WORDS words rounded from x·inv with no division in the loop, and redone through
// uniform_word (which divides where it must) in the rare run with a lane near a half; as in
// fused_blocks.wgsl, a division in the hot loop, even one never taken, doubles its cost. A NaN or
// ±Inf x (caller-supplied scales) makes t one too, so its run is redone and uniform_word reports it.
fn onnx_run(w0: u32, w1: u32, q: QParams) {
  let per_word = 32u / BITS;
  var divides = vec4<bool>(false);
  for (var w = w0; w < w1; w = w + 1u) {
    let first = w * per_word;
    let lanes = min(per_word, P.chunk_len - first);
    var word = pack4(onnx_fast4(quad(first), q, &divides), 0u);
    if (BITS == 4u) { word = word | pack4(onnx_fast4(quad(first + 4u), q, &divides), 1u); }
    packed[w] = select(word & ((1u << (lanes * BITS)) - 1u), word, lanes == per_word);
  }
  if (any(divides)) {
    for (var w = w0; w < w1; w = w + 1u) { packed[w] = uniform_word(w, q); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let per_word = 32u / BITS;
  let words = (P.chunk_len + per_word - 1u) / per_word;
  if (GRANULARITY == GRANULARITY_TENSOR) {
    let w0 = flat_id(gid) * RUN_WORDS;
    if (w0 >= words) { return; }
    let w1 = min(w0 + RUN_WORDS, words);
    let q = params_at(0u);
    if (PROFILE == PROFILE_ONNX) {
      onnx_run(w0, w1, q);
    } else {
      for (var w = w0; w < w1; w = w + 1u) { packed[w] = uniform_word(w, q); }
    }
    return;
  }
  let w = flat_id(gid);
  if (w >= words) { return; }
  let i0 = P.chunk_start + w * per_word;
  // With UNIFORM_WORDS every word's elements share one parameter (compiled in for layouts that
  // guarantee it), so the per-element path is not even in the kernel: a smaller kernel runs
  // faster on a CPU emulation.
  if (UNIFORM_WORDS == 0u && !same_param(i0, i0 + per_word - 1u)) {
    packed[w] = mixed_word(w);
    return;
  }
  packed[w] = uniform_word(w, params_at(param_of(i0) - P.param_base));
}
