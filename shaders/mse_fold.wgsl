// mse_fold.wgsl — adds one chunk's slice sums (mse_partials.wgsl) into each (parameter,
// candidate)'s running sum over the window's chunks.
//
// Bindings: P (uniform), config (mse_term.wgsl's MSE_* words), partials (3 words per (parameter,
//   slice, candidate)), totals (read_write: 3 words per (parameter, candidate) of the window,
//   zeroed by the host before the window's first chunk).
// Dispatch: param_count × C invocations, folded to 2-D; invocation t is parameter t / C,
//   candidate t % C. Exactness: integer sums below 2^95, added with carries.

@group(0) @binding(1) var<storage, read> config: array<u32>;
@group(0) @binding(2) var<storage, read> partials: array<u32>;
@group(0) @binding(3) var<storage, read_write> totals: array<u32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = flat_id(gid);
  let count = config[MSE_COUNT];
  if (t >= P.param_count * count) { return; }
  let lp = t / count;
  let c = t % count;
  var sum = vec3<u32>(totals[t * 3u], totals[t * 3u + 1u], totals[t * 3u + 2u]);
  for (var s = 0u; s < P.slices; s = s + 1u) {
    let o = ((lp * P.slices + s) * count + c) * 3u;
    sum = add_sum(sum, vec3<u32>(partials[o], partials[o + 1u], partials[o + 2u]));
  }
  totals[t * 3u] = sum.x;
  totals[t * 3u + 1u] = sum.y;
  totals[t * 3u + 2u] = sum.z;
}
