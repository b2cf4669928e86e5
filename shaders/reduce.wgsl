// Sum over one axis of a tensor viewed as [outer, axis, inner], times a scale (1 for a sum, 1/axis for a mean),
// in chunks of `chunk` along the axis: y[o, k, i] = scale * sum of x[o, a, i] over chunk k's a. One invocation per
// output element (sum_axis) or per four outputs along inner (sum_axis4, when inner % 4 == 0); the loop over the
// chunk reads with stride `inner`, so neighbouring invocations read neighbouring addresses. On a GPU the host sums
// a long axis in passes (chunk < axis, then the partial sums), so that no thread walks thousands of elements alone;
// a single pass has chunk = axis.
//
// The *_add entries also add `addend`, a tensor of y's shape, as they store (single pass or last pass only): a gradient
// summed here adds the one its parameter already holds without a dispatch of its own.
//
// Backward of the same reduction: broadcast the [outer, inner] gradient back over the axis, times the scale.

struct Params {
  outer: u32,
  axis: u32,
  inner: u32,
  scale: f32,
  chunk: u32,  // sum_axis: elements of the axis per output
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(3) var<storage, read> addend: array<f32>;
@group(0) @binding(3) var<storage, read> addend4: array<vec4f>;

const WG: u32 = 64u;

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Chunks along the axis; an empty axis still has one, whose sums are zero.
fn chunk_count() -> u32 {
  return max((p.axis + p.chunk - 1u) / p.chunk, 1u);
}

// Output o of a pass over `inner` units (elements, or vec4s of them): (its first input, its term count).
fn chunk_of(o: u32, chunks: u32, inner: u32) -> vec2u {
  let first = ((o / inner) % chunks) * p.chunk;
  let base = ((o / (chunks * inner)) * p.axis + first) * inner + o % inner;
  return vec2u(base, min(p.chunk, p.axis - first));
}

// The scaled sum of output o (x: [outer, axis, inner]; y: [outer, chunks, inner]).
fn sum_at(o: u32, chunks: u32) -> f32 {
  let at = chunk_of(o, chunks, p.inner);
  var acc = 0.0;
  for (var a = 0u; a < at.y; a++) { acc += x[at.x + a * p.inner]; }
  return acc * p.scale;
}

// The same in vec4s along inner.
fn sum4_at(o: u32, chunks: u32) -> vec4f {
  let inner = p.inner / 4u;
  let at = chunk_of(o, chunks, inner);
  var acc = vec4f(0.0);
  for (var a = 0u; a < at.y; a++) { acc += x4[at.x + a * inner]; }
  return acc * p.scale;
}

@compute @workgroup_size(WG)
fn sum_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat(gid, nwg);
  let chunks = chunk_count();
  if (o < p.outer * chunks * p.inner) { y[o] = sum_at(o, chunks); }
}

@compute @workgroup_size(WG)
fn sum_axis_add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat(gid, nwg);
  let chunks = chunk_count();
  if (o < p.outer * chunks * p.inner) { y[o] = sum_at(o, chunks) + addend[o]; }
}

@compute @workgroup_size(WG)
fn sum_axis4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat(gid, nwg);
  let chunks = chunk_count();
  if (o < p.outer * chunks * p.inner / 4u) { y4[o] = sum4_at(o, chunks); }
}

@compute @workgroup_size(WG)
fn sum_axis4_add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat(gid, nwg);
  let chunks = chunk_count();
  if (o < p.outer * chunks * p.inner / 4u) { y4[o] = sum4_at(o, chunks) + addend4[o]; }
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
