// reduce.wgsl — per-parameter statistics of one chunk, in slices.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), partials (out, 7 words per
//   (parameter, slice)).
// Dispatch: param_count × slices invocations, folded to 2-D; invocation t handles parameter
//   param_base + t / slices, slice t % slices. No workgroup memory and no barriers.
// Invariants: the members of a parameter inside [chunk_start, chunk_start + chunk_len) are one
//   contiguous run j0..j1 that count_below() finds in O(1); each slice walks slice_len of them in
//   order, which keeps "first element of largest magnitude wins" (ggml Q4_0) exact when
//   combine.wgsl folds the slices.
// Output per slice: min, max, signed value of largest magnitude (first wins), that magnitude,
//   finite count, non-finite count, first non-finite flat index (0xffffffff if none).

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.param_count * P.slices) { return; }
  let p = P.param_base + t / P.slices;
  let s = t % P.slices;
  let L = quant_layout();
  let j0 = count_below(L, p, P.chunk_start);
  let j1 = count_below(L, p, P.chunk_start + P.chunk_len);
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
    let i = member(L, p, j);
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
