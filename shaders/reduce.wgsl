// reduce.wgsl — per-parameter statistics of one chunk, in slices.
//
// Bindings: P (uniform), input (the chunk's float32 values as bits), partials (out, STAT_WORDS words per
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

// Folds member j of parameter p into the running statistics, as a sequential scan does.
fn fold_scalar(L: Layout, p: u32, j: u32, mn: ptr<function, f32>, mx: ptr<function, f32>, m: ptr<function, f32>,
               amax: ptr<function, f32>, finite: ptr<function, u32>, bad: ptr<function, u32>,
               first_bad: ptr<function, u32>) {
  let i = member(L, p, j);
  let bits = input[i - P.chunk_start];
  if (!is_finite_bits(bits)) {
    *bad = *bad + 1u;
    *first_bad = min(*first_bad, i);
    return;
  }
  let v = bitcast<f32>(bits);
  if (*finite == 0u) {
    *mn = v;
    *mx = v;
  } else {
    if (v < *mn) { *mn = v; }
    if (v > *mx) { *mx = v; }
  }
  *finite = *finite + 1u;
  // By bits: a device may flush a subnormal's abs() to 0, and ggml Q4_0's d keeps its peak's sign.
  if (bitcast<u32>(*amax) < (bits & 0x7fffffffu)) {
    *amax = bitcast<f32>(bits & 0x7fffffffu);
    *m = v;
  }
}

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
  var j = js;
  // Members that are one contiguous run (per tensor, rows, blocks along the last axis) are read
  // four at a time once aligned: a vec4 of min, max and largest exponent field, the first
  // non-finite index looked for only when that field says there is one. ggml Q4_0's peak needs
  // every element in order and keeps the scalar walk.
  let contiguous = GRANULARITY == GRANULARITY_TENSOR || (GRANULARITY == GRANULARITY_CHANNEL && P.outer == 1u) ||
    (GRANULARITY == GRANULARITY_GROUP && P.inner == 1u);
  if (contiguous && !(PROFILE == PROFILE_GGML && BITS == 4u) && je - js >= 8u) {
    let f0 = member(L, p, js) - P.chunk_start;
    let head = (4u - f0 % 4u) % 4u;
    let quads = (je - js - head) / 4u;
    var vmn = vec4<f32>(BIG);
    var vmx = vec4<f32>(-BIG);
    var emax = vec4<u32>(0u);
    if (SYMMETRIC == 1u) {
      // A symmetric scale needs max(-min, max) alone: the largest sign-less bit pattern, which
      // also flags NaN and ±Inf. min is then its negation, a bound as good for the scale.
      var mag = vec4<u32>(0u);
      for (var k = 0u; k < quads; k = k + 1u) {
        let l = f0 + head + 4u * k;
        mag = max(mag, magnitude4(bitcast<vec4<f32>>(vec4<u32>(input[l], input[l + 1u], input[l + 2u], input[l + 3u]))));
      }
      emax = mag & vec4<u32>(0x7f800000u);
      vmx = bitcast<vec4<f32>>(mag);
      vmn = -vmx;
    } else {
      for (var k = 0u; k < quads; k = k + 1u) {
        let l = f0 + head + 4u * k;
        let b = vec4<u32>(input[l], input[l + 1u], input[l + 2u], input[l + 3u]);
        let v = bitcast<vec4<f32>>(b);
        emax = max(emax, b & vec4<u32>(0x7f800000u));
        vmn = min(vmn, v);
        vmx = max(vmx, v);
      }
    }
    if (any(emax == vec4<u32>(0x7f800000u))) {
      for (var k = 0u; k < 4u * quads; k = k + 1u) {
        if (!is_finite_bits(input[f0 + head + k])) {
          first_bad = min(first_bad, f0 + head + k + P.chunk_start);
          bad = bad + 1u;
        }
      }
    }
    // Fold in the head and tail elements by the scalar walk below; the middle's statistics are
    // the vec4's (exact: min and max are order-free; amax is max(-min, max) there, since only
    // ggml Q8_0 reads it and it needs no position).
    mn = min(min(vmn.x, vmn.y), min(vmn.z, vmn.w));
    mx = max(max(vmx.x, vmx.y), max(vmx.z, vmx.w));
    amax = abs(max(-mn, mx));
    m = select(mx, mn, -mn > mx);
    finite = 4u * quads - bad;
    for (var h = 0u; h < head; h = h + 1u) { fold_scalar(L, p, js + h, &mn, &mx, &m, &amax, &finite, &bad, &first_bad); }
    j = js + head + 4u * quads;
  }
  for (; j < je; j = j + 1u) { fold_scalar(L, p, j, &mn, &mx, &m, &amax, &finite, &bad, &first_bad); }
  let o = t * STAT_WORDS;
  partials[o + STAT_MIN] = bitcast<u32>(mn);
  partials[o + STAT_MAX] = bitcast<u32>(mx);
  partials[o + STAT_PEAK] = bitcast<u32>(m);
  partials[o + STAT_PEAK_ABS] = bitcast<u32>(amax);
  partials[o + STAT_FINITE] = finite;
  partials[o + STAT_BAD] = bad;
  partials[o + STAT_FIRST_BAD] = first_bad;
}
