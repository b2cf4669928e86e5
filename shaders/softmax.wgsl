// Softmax and log-softmax over the last axis of x viewed as [rows, cols], one workgroup of WG = GROUP^2
// invocations per row (GROUP set by the host: 8 on a GPU, 2 on a CPU adapter, where barriers are expensive).
// Each invocation strides over the columns keeping a running (max, sum of exp(x - max)), rescaling the sum when
// the max grows, so exp never sees a positive argument and one read of the row gives both.
//
// Bindings, in the order the host passes buffers:
//   softmax_forward, log_softmax_forward:    x, out
//   softmax_backward, log_softmax_backward:  y (the forward's output), grad, dx
//
// Masked entries must be large finite negatives (WGSL does not promise IEEE infinities); they contribute 0.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// A row's WG partials are combined in two levels of GROUP: two barriers per reduction, not log2(WG).
override GROUP: u32 = 8u;
override WG: u32 = GROUP * GROUP;
const LOWEST: f32 = -0x1.fffffep+127f;  // the lowest f32: the running max before any element
var<workgroup> partial: array<vec2f, WG>;
var<workgroup> group_partial: array<vec2f, GROUP>;

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Merges two (max, sum of exp(x - max)) pairs.
fn merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

// The row's (max, sum of exp(x - max)), returned to every invocation. Call from uniform control flow.
fn row_max_sum(lid: u32, v: vec2f) -> vec2f {
  partial[lid] = v;
  workgroupBarrier();
  if (lid < GROUP) {
    var s = partial[lid * GROUP];
    for (var k = 1u; k < GROUP; k++) { s = merge(s, partial[lid * GROUP + k]); }
    group_partial[lid] = s;
  }
  workgroupBarrier();
  var total = group_partial[0];
  for (var k = 1u; k < GROUP; k++) { total = merge(total, group_partial[k]); }
  return total;
}

// The row sum of `v`, returned to every invocation, with the same two-level scheme.
fn row_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = vec2f(v, 0.0);
  workgroupBarrier();
  if (lid < GROUP) {
    var s = 0.0;
    for (var k = 0u; k < GROUP; k++) { s += partial[lid * GROUP + k].x; }
    group_partial[lid] = vec2f(s, 0.0);
  }
  workgroupBarrier();
  var total = 0.0;
  for (var k = 0u; k < GROUP; k++) { total += group_partial[k].x; }
  return total;
}

// This invocation's share of the row: its (max, sum of exp(x - max)) over columns lid, lid + WG, ...
fn local_max_sum(base: u32, lid: u32) -> vec2f {
  var m = LOWEST;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let v = x[base + c];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  return vec2f(m, s);
}

@compute @workgroup_size(WG)
fn softmax_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }  // the same for the whole workgroup, so the barriers stay uniform
  let base = row * p.cols;
  let ms = row_max_sum(lid, local_max_sum(base, lid));
  let inv = 1.0 / ms.y;
  for (var c = lid; c < p.cols; c += WG) { out[base + c] = exp(x[base + c] - ms.x) * inv; }
}

// log_softmax = (x - max) - log(sum of exp(x - max))
@compute @workgroup_size(WG)
fn log_softmax_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let ms = row_max_sum(lid, local_max_sum(base, lid));
  let log_sum = log(ms.y);
  for (var c = lid; c < p.cols; c += WG) { out[base + c] = (x[base + c] - ms.x) - log_sum; }
}

// dx = y * (g - sum(g * y))
@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += grad[base + c] * y[base + c]; }
  let dot = row_sum(lid, s);
  for (var c = lid; c < p.cols; c += WG) { dx[base + c] = y[base + c] * (grad[base + c] - dot); }
}

// dx = g - exp(y) * sum(g), y = log_softmax(x)
@compute @workgroup_size(WG)
fn log_softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += grad[base + c]; }
  let total = row_sum(lid, s);
  for (var c = lid; c < p.cols; c += WG) { dx[base + c] = grad[base + c] - exp(y[base + c]) * total; }
}
