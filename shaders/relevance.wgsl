// One block's term of Chefer, Gur & Wolf's relevance (ICCV 2021): the mean over heads of max(G * A, 0), with A the
// block's attention probabilities and G the gradient of the explained score with respect to them, both
// [B, heads, T, T]; out [B, T, T]. One invocation per output element, the heads summed in order as torch's mean.

struct Params {
  batch: u32,
  heads: u32,
  cells: u32,  // T * T
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn positive_head_mean(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = gid.x + gid.y * nwg.x * WG;
  if (id >= p.batch * p.cells) { return; }
  let first = (id / p.cells) * p.heads * p.cells + id % p.cells;
  var total = 0.0;
  for (var h = 0u; h < p.heads; h++) {
    let at = first + h * p.cells;
    total += max(grad[at] * probs[at], 0.0);
  }
  out[id] = total / f32(p.heads);
}
