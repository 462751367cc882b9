// reduce.wgsl — per-parameter statistics of one chunk, in slices.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), partials (out, 7 words per
//   (parameter, slice)).
// Dispatch: param_count × slices invocations, folded to 2-D; invocation t handles parameter
//   param_base + t / slices, slice t % slices. No workgroup memory and no barriers.
// Invariants: a parameter's members, listed in flat order, map to increasing flat indices, so the
//   members inside [chunk_start, chunk_start + chunk_len) are one contiguous run j0..j1 that
//   count_below() finds in O(1); each slice walks slice_len of them in order, which keeps
//   "first element of largest magnitude wins" (ggml Q4_0) exact when combine.wgsl folds slices.
// Output per slice: min, max, signed value of largest magnitude (first wins), that magnitude,
//   finite count, non-finite count, first non-finite flat index (0xffffffff if none).

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;

override WG: u32 = 64;

fn member_count(p: u32) -> u32 {
  if (P.granularity == 0u) { return P.numel; }
  if (P.granularity == 1u) { return P.outer * P.inner; }
  let b = (p / P.inner) % P.num_blocks;
  return min(P.block, P.axis_len - b * P.block);
}

// Flat index of the j-th member of parameter p.
fn member(p: u32, j: u32) -> u32 {
  if (P.granularity == 0u) { return j; }
  if (P.granularity == 1u) {
    return ((j / P.inner) * P.axis_len + p) * P.inner + j % P.inner;
  }
  let n = p % P.inner;
  let t = p / P.inner;
  let b = t % P.num_blocks;
  let o = t / P.num_blocks;
  return (o * P.axis_len + b * P.block + j) * P.inner + n;
}

// How many members of parameter p have a flat index below c.
fn count_below(p: u32, c: u32) -> u32 {
  if (P.granularity == 0u) { return min(c, P.numel); }
  if (P.granularity == 1u) {
    let rowc = c / P.inner;
    var full = 0u;
    if (rowc > p) { full = min(P.outer, (rowc - p + P.axis_len - 1u) / P.axis_len); }
    var part = 0u;
    if (rowc % P.axis_len == p && rowc / P.axis_len < P.outer) { part = c % P.inner; }
    return full * P.inner + part;
  }
  let n = p % P.inner;
  if (c <= n) { return 0u; }
  let rows = (c - n + P.inner - 1u) / P.inner;
  let t = p / P.inner;
  let b = t % P.num_blocks;
  let o = t / P.num_blocks;
  let first_row = o * P.axis_len + b * P.block;
  if (rows <= first_row) { return 0u; }
  return min(rows - first_row, member_count(p));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count * P.slices) { return; }
  let p = P.param_base + t / P.slices;
  let s = t % P.slices;
  let j0 = count_below(p, P.chunk_start);
  let j1 = count_below(p, P.chunk_start + P.chunk_len);
  let js = min(j0 + s * P.slice_len, j1);
  let je = min(js + P.slice_len, j1);

  var mn = 0.0;
  var mx = 0.0;
  var m = 0.0;
  var amax = 0.0;
  var finite = 0u;
  var bad = 0u;
  var first_bad = 0xffffffffu;
  for (var j = js; j < je; j = j + 1u) {
    let i = member(p, j);
    let bits = input[i - P.chunk_start];
    if (!is_finite_bits(bits)) {
      bad = bad + 1u;
      first_bad = min(first_bad, i);
      continue;
    }
    let v = bitcast<f32>(bits);
    if (finite == 0u) {
      mn = v;
      mx = v;
    } else {
      if (v < mn) { mn = v; }
      if (v > mx) { mx = v; }
    }
    finite = finite + 1u;
    if (amax < abs(v)) {
      amax = abs(v);
      m = v;
    }
  }
  let o = t * 7u;
  partials[o] = bitcast<u32>(mn);
  partials[o + 1u] = bitcast<u32>(mx);
  partials[o + 2u] = bitcast<u32>(m);
  partials[o + 3u] = bitcast<u32>(amax);
  partials[o + 4u] = finite;
  partials[o + 5u] = bad;
  partials[o + 6u] = first_bad;
}
