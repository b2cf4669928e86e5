// Elementwise ops over flat f32 arrays. Each invocation handles 4 consecutive elements: on CPU adapters the
// cost per invocation dominates, on GPUs 4 loads per thread still coalesce.
// Workgroups are laid out over x and y (see grid1d); the flat element index is rebuilt from both.

struct Params {
  n: u32,     // element count
  cols: u32,  // row length, for the *_rows broadcasts
  s: f32,     // scale
  t: f32,     // shift
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// Unary and in-place entries bind (a, dst): their second buffer is the one written.
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const WG: u32 = 64u;
const PER_THREAD: u32 = 4u;

fn first(gid: vec3u, nwg: vec3u) -> u32 {
  return (gid.x + gid.y * nwg.x * WG) * PER_THREAD;
}

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(WG)
fn mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { out[i] = a[i] * b[i]; }
}

// dst = a * s + t
@compute @workgroup_size(WG)
fn affine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { dst[i] = a[i] * p.s + p.t; }
}

// out[r, c] = a[r, c] + b[c]
@compute @workgroup_size(WG)
fn add_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { out[i] = a[i] + b[i % p.cols]; }
}

// out[r, c] = a[r, c] * b[c]
@compute @workgroup_size(WG)
fn mul_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { out[i] = a[i] * b[i % p.cols]; }
}

// out = a * b[0]: scaling by a one-element tensor (a learnable temperature)
@compute @workgroup_size(WG)
fn scale_by(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  let s = b[0];
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { out[i] = a[i] * s; }
}

// dst += a * s  (gradient accumulation, EMA-style updates)
@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { dst[i] += a[i] * p.s; }
}
