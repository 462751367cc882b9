// mse_partials.wgsl — the mse calibrator's error sums of one chunk: for every parameter of the
// window, every candidate range and every slice of the parameter's members in the chunk, the exact
// sum of the terms T (mse_term.wgsl) of the slice's elements quantized with that candidate.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), stats (the window's min/max
//   records from combine.wgsl, STAT_WORDS words per parameter), config (mse_term.wgsl's MSE_*
//   words), partials (out: 3 words, low first, per (parameter, slice, candidate)).
// Dispatch: param_count × slices × C invocations, folded to 2-D; invocation t handles candidate
//   t % C of slice (t / C) % slices of parameter param_base + t / (C·slices). Neighbouring
//   invocations read the same elements, for different candidates.
// Invariants: as reduce.wgsl (a parameter's members in the chunk are one run that count_below()
//   finds). Exactness: the candidate's parameters come from qparams_of (qparams.wgsl), its codes
//   from codes4 (codes.wgsl, four members at a time), both exact against the CPU. A clipped range
//   lets |x/s| pass the level count (codes4's bound for scales from the data), but every such
//   quotient, however rounded, clamps to the same end of the code range. The terms and their sum
//   are exact integers (mse_term.wgsl), so the slicing does not change any sum.

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> stats: array<u32>;
@group(0) @binding(3) var<storage, read> config: array<u32>;
@group(0) @binding(4) var<storage, read_write> partials: array<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  let count = config[MSE_COUNT];
  if (t >= P.param_count * P.slices * count) { return; }
  let c = t % count;
  let r = t / count;
  let s = r % P.slices;
  let lp = r / P.slices;
  let p = P.param_base + lp;
  let so = lp * STAT_WORDS;
  let q = candidate(bitcast<f32>(stats[so + STAT_MIN]), bitcast<f32>(stats[so + STAT_MAX]),
                    bitcast<f32>(config[MSE_FACTORS + c]));
  let e_r = (stats[so + STAT_PEAK_ABS] >> 23u) & 0xffu;
  let norm = bitcast<f32>(config[MSE_NORM]);
  let shift = bitcast<i32>(config[MSE_SHIFT]);
  let L = quant_layout();
  let j0 = count_below(L, p, P.chunk_start);
  let j1 = count_below(L, p, P.chunk_start + P.chunk_len);
  let js = min(j0 + s * P.slice_len, j1);
  let je = min(js + P.slice_len, j1);
  var sum = vec3<u32>(0u);
  // Four members at a time; lanes past the slice read its last member and count as e = 0.
  for (var j = js; j < je; j = j + 4u) {
    let last = je - 1u;
    let x = bitcast<vec4<f32>>(vec4<u32>(
      input[member(L, p, j) - P.chunk_start], input[member(L, p, min(j + 1u, last)) - P.chunk_start],
      input[member(L, p, min(j + 2u, last)) - P.chunk_start], input[member(L, p, min(j + 3u, last)) - P.chunk_start]));
    let inside = vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(je);
    let e = select(vec4<u32>(0u), error_bits4(x, q.scale, codes4(x, q) - vec4<i32>(q.zp)), inside);
    let t = power_terms4(e, e_r, norm, shift);
    sum = add_term(add_term(sum, vec2<u32>(t[0].x, t[1].x)), vec2<u32>(t[0].y, t[1].y));
    sum = add_term(add_term(sum, vec2<u32>(t[0].z, t[1].z)), vec2<u32>(t[0].w, t[1].w));
  }
  let o = t * 3u;
  partials[o] = sum.x;
  partials[o + 1u] = sum.y;
  partials[o + 2u] = sum.z;
}
