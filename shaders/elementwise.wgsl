// Elementwise ops over flat f32 arrays, read and written as vec4s. Every tensor's buffer holds whole vec4s (the
// host checks it), so the last vec4 is computed whole even when the element count is not a multiple of 4: its
// lanes past the end are buffer padding, which nothing reads.
// Each workgroup takes a contiguous block of vec4s, which invocation lid walks at lid, lid + WG, ... (neighbours
// touch neighbouring addresses), four vec4s a round. The host sizes the blocks (flatSpans in
// src/tensor/ops/workgroups.ts): one round per workgroup on a GPU, a few large blocks on a CPU adapter, where each
// workgroup, invocation and loop iteration has a fixed cost.
// Workgroups are laid out over x and y (see grid1d); the block index is rebuilt from both.
//
// Every entry binds a, b, out. Those with one input (affine, accumulate) bind it as b too, and ignore it there;
// accumulate updates out in place.

struct Params {
  count: u32,  // vec4s
  block: u32,  // vec4s per workgroup
  cols: u32,   // row length, for the *_rows broadcasts
  s: f32,      // scale
  t: f32,      // shift
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;

const WG: u32 = 64u;

const ADD: u32 = 0u;
const MUL: u32 = 1u;
const AFFINE: u32 = 2u;
const ADD_ROWS: u32 = 3u;
const MUL_ROWS: u32 = 4u;
const SCALE_BY: u32 = 5u;
const ACCUMULATE: u32 = 6u;

// b[c] for the four elements of vec4 i of a [rows, cols] tensor, c = element % cols.
fn row(i: u32) -> vec4f {
  if (p.cols % 4u == 0u) { return b[i % (p.cols / 4u)]; }
  var v: vec4f;
  for (var k = 0u; k < 4u; k++) {
    let c = (4u * i + k) % p.cols;
    v[k] = b[c / 4u][c % 4u];
  }
  return v;
}

// The new value of out[i]. Each entry passes its op as a constant, which the compiler folds.
fn value(op: u32, i: u32) -> vec4f {
  switch op {
    case ADD: { return a[i] + b[i]; }
    case MUL: { return a[i] * b[i]; }
    case AFFINE: { return a[i] * p.s + p.t; }             // out = a * s + t
    case ADD_ROWS: { return a[i] + row(i); }              // out[r, c] = a[r, c] + b[c]
    case MUL_ROWS: { return a[i] * row(i); }              // out[r, c] = a[r, c] * b[c]
    case SCALE_BY: { return a[i] * b[0].x; }              // out = a * b[0], b a one-element tensor
    default: { return out[i] + a[i] * p.s; }              // ACCUMULATE: out += a * s
  }
}

fn elementwise(op: u32, lid: u32, wid: vec3u, nwg: vec3u) {
  let start = (wid.x + wid.y * nwg.x) * p.block;
  let end = min(start + p.block, p.count);
  var i = start + lid;
  for (; i + 3u * WG < end; i += 4u * WG) {
    out[i] = value(op, i);
    out[i + WG] = value(op, i + WG);
    out[i + 2u * WG] = value(op, i + 2u * WG);
    out[i + 3u * WG] = value(op, i + 3u * WG);
  }
  for (; i < end; i += WG) { out[i] = value(op, i); }
}

@compute @workgroup_size(WG)
fn add(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(ADD, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn mul(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(MUL, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn affine(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(AFFINE, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn add_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(ADD_ROWS, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn mul_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(MUL_ROWS, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn scale_by(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(SCALE_BY, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  elementwise(ACCUMULATE, lid, wid, nwg);
}
