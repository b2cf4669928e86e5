// Row kernels of the contrastive loss: L2 normalize over the last axis and mean cross-entropy, with backward.
// The row reductions give each row one workgroup: threads stride over the columns (neighbouring threads read
// neighbouring addresses) and combine in a fixed tree, so results are the same every run. Rows are laid out
// over workgroups x and y (see grid1d).

struct Params {
  rows: u32,
  cols: u32,
  s: f32,  // normalize: eps on the norm; cross-entropy backward: 1 / rows
}

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn workgroup_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span /= 2u) {
    if (lid < span) { partial[lid] += partial[lid + span]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();  // partial is reused by the next reduction
  return total;
}

fn workgroup_max(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span /= 2u) {
    if (lid < span) { partial[lid] = max(partial[lid], partial[lid + span]); }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

// ---- L2 normalize: y = x / max(|x|, eps), as torch.nn.functional.normalize ---------------------------------

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;  // |x| per row, before the clamp

@compute @workgroup_size(WG)
fn l2_normalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var ss = 0.0;
  for (var c = lid; c < p.cols; c += WG) { ss += x[base + c] * x[base + c]; }
  let norm = sqrt(workgroup_sum(lid, ss));
  let denom = max(norm, p.s);
  for (var c = lid; c < p.cols; c += WG) { y[base + c] = x[base + c] / denom; }
  if (lid == 0u) { norms[row] = norm; }
}

@group(0) @binding(1) var<storage, read> grad_y: array<f32>;
@group(0) @binding(2) var<storage, read> y_in: array<f32>;
@group(0) @binding(3) var<storage, read> norms_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_x: array<f32>;

// Above eps: dx = (g - y (g . y)) / |x|. Below, the clamp holds the divisor at eps: dx = g / eps.
@compute @workgroup_size(WG)
fn l2_normalize_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var gy = 0.0;
  for (var c = lid; c < p.cols; c += WG) { gy += grad_y[base + c] * y_in[base + c]; }
  let dot = workgroup_sum(lid, gy);
  let norm = norms_in[row];
  let projected = select(0.0, dot, norm > p.s);
  let denom = max(norm, p.s);
  for (var c = lid; c < p.cols; c += WG) {
    grad_x[base + c] = (grad_y[base + c] - y_in[base + c] * projected) / denom;
  }
}

// ---- cross-entropy: loss_r = logsumexp(logits_r) - logits_r[target_r]; the mean is taken on the host side ---

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;  // logsumexp per row, for backward

@compute @workgroup_size(WG)
fn cross_entropy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var m = -0x1.fffffep+127f;  // lowest f32
  for (var c = lid; c < p.cols; c += WG) { m = max(m, logits[base + c]); }
  let row_max = workgroup_max(lid, m);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += exp(logits[base + c] - row_max); }
  let log_sum = row_max + log(workgroup_sum(lid, s));
  if (lid == 0u) {
    // Targets must lie in [0, cols); one outside is clamped rather than read out of bounds.
    let t = u32(clamp(targets[row], 0, i32(p.cols) - 1));
    row_loss[row] = log_sum - logits[base + t];
    lse[row] = log_sum;
  }
}

@group(0) @binding(3) var<storage, read> lse_in: array<f32>;
@group(0) @binding(4) var<storage, read> grad_loss: array<f32>;  // the scalar upstream gradient
@group(0) @binding(5) var<storage, read_write> grad_logits: array<f32>;

// d logits = (softmax - onehot(target)) * g / rows; 4 consecutive elements per invocation, flat over x and y.
@compute @workgroup_size(WG)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = (gid.x + gid.y * nwg.x * WG) * 4u;
  let scale = grad_loss[0] * p.s;
  for (var i = i0; i < min(i0 + 4u, p.rows * p.cols); i++) {
    let row = i / p.cols;
    let hit = i32(i % p.cols) == targets[row];
    grad_logits[i] = (exp(logits[i] - lse_in[row]) - select(0.0, 1.0, hit)) * scale;
  }
}
