// Sum over one axis of a tensor viewed as [outer, axis, inner] -> [outer, inner], times a scale
// (1 for a sum, 1/axis for a mean). One invocation per output element; the loop over the axis reads
// with stride `inner`, so neighbouring invocations read neighbouring addresses.
//
// Backward of the same reduction: broadcast the [outer, inner] gradient back over the axis, times the scale.

struct Params {
  outer: u32,
  axis: u32,
  inner: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn sum_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat(gid, nwg);
  if (o >= p.outer * p.inner) { return; }
  let base = (o / p.inner) * p.axis * p.inner + o % p.inner;
  var acc = 0.0;
  for (var k = 0u; k < p.axis; k++) { acc += x[base + k * p.inner]; }
  y[o] = acc * p.scale;
}

// x: gradient [outer, inner]; y: [outer, axis, inner]
@compute @workgroup_size(WG)
fn broadcast_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.outer * p.axis * p.inner) { return; }
  let inner = i % p.inner;
  let outer = i / (p.axis * p.inner);
  y[i] = x[outer * p.inner + inner] * p.scale;
}
