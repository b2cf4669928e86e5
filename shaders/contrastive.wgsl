// Row kernels of the contrastive loss: L2 normalize over the last axis and mean cross-entropy, with backward.
// The row reductions give each row one workgroup of ROW_WG invocations (the host's rowGroup()^2: 64 on a GPU, 4 on a
// CPU adapter, where each barrier costs more than a row's arithmetic): they stride over the columns (neighbouring
// invocations read neighbouring addresses) and combine in a fixed tree, so results are the same every run. Rows
// are laid out over workgroups x and y (see grid1d).

struct Params {
  rows: u32,
  cols: u32,
  s: f32,  // normalize: eps on the norm; cross-entropy backward: 1 / rows
}

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 64u;
override ROW_WG: u32 = 64u;

var<workgroup> partial: array<f32, ROW_WG>;

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn workgroup_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var span = ROW_WG / 2u; span > 0u; span /= 2u) {
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
  for (var span = ROW_WG / 2u; span > 0u; span /= 2u) {
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

@compute @workgroup_size(ROW_WG)
fn l2_normalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var ss = 0.0;
  for (var c = lid; c < p.cols; c += ROW_WG) { ss += x[base + c] * x[base + c]; }
  let norm = sqrt(workgroup_sum(lid, ss));
  let denom = max(norm, p.s);
  for (var c = lid; c < p.cols; c += ROW_WG) { y[base + c] = x[base + c] / denom; }
  if (lid == 0u) { norms[row] = norm; }
}

@group(0) @binding(1) var<storage, read> grad_y: array<f32>;
@group(0) @binding(2) var<storage, read> y_in: array<f32>;
@group(0) @binding(3) var<storage, read> norms_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_x: array<f32>;

// Above eps: dx = (g - y (g . y)) / |x|. Below, the clamp holds the divisor at eps: dx = g / eps.
@compute @workgroup_size(ROW_WG)
fn l2_normalize_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var gy = 0.0;
  for (var c = lid; c < p.cols; c += ROW_WG) { gy += grad_y[base + c] * y_in[base + c]; }
  let dot = workgroup_sum(lid, gy);
  let norm = norms_in[row];
  let projected = select(0.0, dot, norm > p.s);
  let denom = max(norm, p.s);
  for (var c = lid; c < p.cols; c += ROW_WG) {
    grad_x[base + c] = (grad_y[base + c] - y_in[base + c] * projected) / denom;
  }
}

// ---- cross-entropy: loss_r = logsumexp(logits_r) - logits_r[target_r]; the mean is taken on the host side ---

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;  // logsumexp per row, for backward

@compute @workgroup_size(ROW_WG)
fn cross_entropy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var m = -0x1.fffffep+127f;  // lowest f32
  for (var c = lid; c < p.cols; c += ROW_WG) { m = max(m, logits[base + c]); }
  let row_max = workgroup_max(lid, m);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ROW_WG) { s += exp(logits[base + c] - row_max); }
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

// ---- Multi-view CLIP loss (COSMOS-SPEC section 5) ----------------------------------------------------------
// One call covers every pair of views: sim = A Bᵀ is [va * n, vb * n] (n = batch), and block (a, b) holds the
// cosines of view a against view b. For each block, each row's cross-entropy (image -> text, say) and each
// column's (text -> image), of logits exp(log_scale) * sim, target the diagonal. loss = coef * (sum of all of
// them), coef = 0.5 / (va * vb * n): the mean over pairs and rows of 0.5 (CE + CEᵀ), as the reference's ClipLoss.

struct ClipParams {
  n: u32,
  va: u32,
  vb: u32,
  coef: f32,
}

@group(0) @binding(0) var<uniform> cp: ClipParams;
@group(0) @binding(1) var<storage, read> sim: array<f32>;
@group(0) @binding(2) var<storage, read> log_scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> clip_terms: array<f32>;  // coef * CE, per row and column segment
@group(0) @binding(4) var<storage, read_write> clip_lse: array<f32>;    // their logsumexps, for backward

// Segment k: rows first (row i of S against view b: k = i * vb + b), then columns (column j against view a:
// k = va * n * vb + j * va + a). Returns (first element, stride between elements, offset of the diagonal one).
fn clip_segment(k: u32) -> vec3u {
  let cols = cp.vb * cp.n;
  let row_segments = cp.va * cp.n * cp.vb;
  if (k < row_segments) {
    let i = k / cp.vb;
    let first = i * cols + (k % cp.vb) * cp.n;
    return vec3u(first, 1u, i % cp.n);
  }
  let j = (k - row_segments) / cp.va;
  let a = (k - row_segments) % cp.va;
  return vec3u(a * cp.n * cols + j, cols, j % cp.n);
}

@compute @workgroup_size(WG)
fn clip_loss(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= 2u * cp.va * cp.vb * cp.n) { return; }
  let seg = clip_segment(k);
  let s = exp(log_scale[0]);
  var m = -0x1.fffffep+127f;
  for (var t = 0u; t < cp.n; t++) { m = max(m, s * sim[seg.x + t * seg.y]); }
  var total = 0.0;
  for (var t = 0u; t < cp.n; t++) { total += exp(s * sim[seg.x + t * seg.y] - m); }
  let lse = m + log(total);
  clip_lse[k] = lse;
  clip_terms[k] = cp.coef * (lse - s * sim[seg.x + seg.z * seg.y]);
}

@group(0) @binding(3) var<storage, read> clip_lse_in: array<f32>;
@group(0) @binding(4) var<storage, read> clip_grad_loss: array<f32>;            // the scalar upstream gradient
@group(0) @binding(5) var<storage, read_write> clip_grad_sim: array<f32>;       // dL/dsim, [va * n, vb * n]
@group(0) @binding(6) var<storage, read_write> clip_grad_scale: array<f32>;     // per element, summed to dL/dlog_scale

// With z = exp(log_scale) * sim: dL/dz = g * coef * (softmax over the row segment + softmax over the column
// segment - 2 on the diagonal); dL/dsim = exp(log_scale) dL/dz, and dL/dlog_scale = sum of dL/dz * z.
@compute @workgroup_size(WG)
fn clip_loss_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * WG;
  let cols = cp.vb * cp.n;
  let rows = cp.va * cp.n;
  if (e >= rows * cols) { return; }
  let i = e / cols;
  let j = e % cols;
  let s = exp(log_scale[0]);
  let z = s * sim[e];
  let by_row = exp(z - clip_lse_in[i * cp.vb + j / cp.n]);
  let by_col = exp(z - clip_lse_in[rows * cp.vb + j * cp.va + i / cp.n]);
  let diagonal = select(0.0, 2.0, i % cp.n == j % cp.n);
  let dz = clip_grad_loss[0] * cp.coef * (by_row + by_col - diagonal);
  clip_grad_sim[e] = s * dz;
  clip_grad_scale[e] = dz * z;
}
