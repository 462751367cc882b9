// metrics.wgsl — reconstruction error per channel of one chunk, without reading the tensor back.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), packed (the chunk's codes),
//   scales, zero_points (per parameter, whole tensor), partials (out, 4 words per (channel,
//   slice): Σ(x − y)², Σx², max |x − y|, element count).
// Dispatch: m_axis_len × slices invocations, folded to 2-D; invocation t handles channel
//   t / slices (an index of the metrics axis), slice t % slices.
// Notes: y is computed exactly as dequantize.wgsl computes it. The sums are float32 over at most
//   slice_len elements; the host adds the slices in float64. They are statistics, compared with a
//   tolerance, not codes.

@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> packed: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> zero_points: array<i32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  if (t >= P.m_axis_len * P.slices) { return; }
  let c = t / P.slices;
  let s = t % P.slices;
  let L = Layout(P.numel, P.m_outer, P.m_axis_len, P.m_inner, 1u, 1u, 1u);
  let j0 = count_below(L, c, P.chunk_start);
  let j1 = count_below(L, c, P.chunk_start + P.chunk_len);
  let js = min(j0 + s * P.slice_len, j1);
  let je = min(js + P.slice_len, j1);
  let per_word = 32u / BITS;
  var sq = 0.0;
  var signal = 0.0;
  var worst = 0.0;
  for (var j = js; j < je; j = j + 1u) {
    let i = member(L, c, j);
    let local = i - P.chunk_start;
    let x = bitcast<f32>(input[local]);
    let p = param_of(i);
    let y = launder(scales[p] * f32(unpack_code(packed[local / per_word], local) - zero_points[p]));
    let e = x - y;
    sq = sq + e * e;
    signal = signal + x * x;
    worst = max(worst, abs(e));
  }
  let o = t * 4u;
  partials[o] = sq;
  partials[o + 1u] = signal;
  partials[o + 2u] = worst;
  partials[o + 3u] = f32(je - js);
}
