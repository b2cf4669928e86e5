// LayerNorm over the last axis of x viewed as [rows, cols], with PyTorch's biased variance:
//   y = (x - mean) * rstd * weight + bias,  rstd = 1 / sqrt(var + eps).
// Each row's mean is kept as two floats, mean[row] = (m0, m1) with mean = m0 + m1 (m1 tiny), and deviations are
// taken as (x - m0) - m1: a single f32 mean would be off by up to half an ulp of |mean|, which is a visible
// error in x - mean when |mean| >> std.
// forward and backward_input run one workgroup of WG = GROUP^2 invocations per row: they stride over the columns
// (neighbouring invocations read neighbouring addresses) and combine their partial sums in workgroup memory.
// GROUP is set by the host: 8 on a GPU, 2 on a CPU adapter, where barriers are expensive.
// forward_rows and backward_input_rows, for a CPU adapter and rows of whole vec4s (cols % 4 == 0), give each
// invocation a whole row read as vec4s: no workgroup memory, no barrier, four columns per loop iteration
// (3-4x faster than 4 invocations per row on SwiftShader at 64 columns).
// backward_params sums over rows, one invocation per column and chunk of rows; backward_params4, for rows of whole
// vec4s, one per four columns. backward_rows, for a CPU adapter and rows of whole vec4s up to LANE_QUADS of them, is
// backward_input_rows and backward_params4 in one pass: grad and x are read once for both.
//
// backward_input and backward_input_rows with ADDEND add `addend` to dx as they store it: the gradient the norm's
// input already holds (the residual stream's), without an add of their own (as matmul.wgsl's ADDEND does).
//
// Bindings, in the order the host passes buffers:
//   forward, forward_rows:                x, mean_out, rstd_out, bias, weight, y
//   backward_input, backward_input_rows:  x, mean, rstd, grad, weight, dx, addend (any buffer of dx's size without ADDEND)
//   backward_params, backward_params4:    x, mean, rstd, grad, part
//   backward_rows:                        x, mean, rstd, grad, weight, dx, addend, part (binding 8)

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  rows_per_chunk: u32,  // backward_params: rows summed by one invocation
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd_out: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
// The same buffers seen as vec4s, for the *_rows entries and backward_params4.
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(4) var<storage, read> grad4: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias4: array<vec4f>;
@group(0) @binding(5) var<storage, read> weight4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> dx4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> part4: array<vec4f>;
@group(0) @binding(7) var<storage, read> addend: array<f32>;
@group(0) @binding(7) var<storage, read> addend4: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> row_part4: array<vec4f>;
override ADDEND = false;

// A row's WG partial sums are added in two levels of GROUP, so a reduction costs two barriers, not log2(WG).
override GROUP: u32 = 8u;
override WG: u32 = GROUP * GROUP;
const COLUMN_WG: u32 = 64u;  // backward_params: columns per workgroup
const ROWS_WG: u32 = 64u;    // *_rows: rows per workgroup
var<workgroup> partial: array<vec2f, WG>;
var<workgroup> group_sums: array<vec2f, GROUP>;

// The sum of `v` over the workgroup, returned to every invocation. Call from uniform control flow.
// Back-to-back calls need no third barrier: nobody writes group_sums again before all have passed the
// next call's first barrier, which each reaches only after reading this call's group_sums.
fn row_sum(lid: u32, v: vec2f) -> vec2f {
  partial[lid] = v;
  workgroupBarrier();
  if (lid < GROUP) {
    var s = vec2f(0.0);
    for (var k = 0u; k < GROUP; k++) { s += partial[lid * GROUP + k]; }
    group_sums[lid] = s;
  }
  workgroupBarrier();
  var total = vec2f(0.0);
  for (var k = 0u; k < GROUP; k++) { total += group_sums[k]; }
  return total;
}

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// (x - mean) * rstd of element i of `row`, from the saved statistics.
fn normalized(i: u32, row: u32) -> f32 {
  return ((x[i] - mean[2u * row]) - mean[2u * row + 1u]) * rstd[row];
}

// The same for vec4 i, from the statistics of its row.
fn xhat4(i: u32, m0: f32, m1: f32, r: f32) -> vec4f {
  return ((x4[i] - m0) - m1) * r;
}

fn normalized4(i: u32, row: u32) -> vec4f {
  return xhat4(i, mean[2u * row], mean[2u * row + 1u], rstd[row]);
}

fn hsum(v: vec4f) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// 1 / std from the moments (E[d], E[d^2]) of d = x - m0: var = E[d^2] - E[d]^2 loses nothing, since E[d] is tiny.
fn rstd_of(moments: vec2f) -> f32 {
  return inverseSqrt(max(moments.y - moments.x * moments.x, 0.0) + p.eps);
}

fn save_stats(row: u32, m0: f32, m1: f32, r: f32) {
  mean_out[2u * row] = m0;
  mean_out[2u * row + 1u] = m1;
  rstd_out[row] = r;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }  // the same for the whole workgroup, so the barriers stay uniform
  let base = row * p.cols;
  let n = f32(p.cols);
  // Corrected two-pass moments: a first mean m0, then the sums of d = x - m0 and d^2. The correction
  // m1 = E[d] recovers the first mean's rounding.
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += x[base + c]; }
  let m0 = row_sum(lid, vec2f(s, 0.0)).x / n;
  var sd = vec2f(0.0);
  for (var c = lid; c < p.cols; c += WG) { let d = x[base + c] - m0; sd += vec2f(d, d * d); }
  let moments = row_sum(lid, sd) / n;
  let m1 = moments.x;
  let r = rstd_of(moments);
  for (var c = lid; c < p.cols; c += WG) { y[base + c] = ((x[base + c] - m0) - m1) * r * weight[c] + bias[c]; }
  if (lid == 0u) { save_stats(row, m0, m1, r); }
}

// forward, one row per invocation, in vec4s.
@compute @workgroup_size(ROWS_WG)
fn forward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * ROWS_WG;
  if (row >= p.rows) { return; }
  let quads = p.cols / 4u;
  let base = row * quads;
  let n = f32(p.cols);
  var s = vec4f(0.0);
  for (var c = 0u; c < quads; c++) { s += x4[base + c]; }
  let m0 = hsum(s) / n;
  var sd = vec4f(0.0);
  var sq = vec4f(0.0);
  for (var c = 0u; c < quads; c++) {
    let d = x4[base + c] - m0;
    sd += d;
    sq += d * d;
  }
  let moments = vec2f(hsum(sd), hsum(sq)) / n;
  let m1 = moments.x;
  let r = rstd_of(moments);
  for (var c = 0u; c < quads; c++) { y4[base + c] = ((x4[base + c] - m0) - m1) * r * weight4[c] + bias4[c]; }
  save_stats(row, m0, m1, r);
}

// dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)),  gw = grad * weight,  xhat = (x - mean) * rstd
@compute @workgroup_size(WG)
fn backward_input(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var s = vec2f(0.0);
  for (var c = lid; c < p.cols; c += WG) {
    let gw = grad[base + c] * weight[c];
    s += vec2f(gw, gw * normalized(base + c, row));
  }
  let m = row_sum(lid, s) / f32(p.cols);
  let r = rstd[row];
  for (var c = lid; c < p.cols; c += WG) {
    let gw = grad[base + c] * weight[c];
    var v = r * (gw - m.x - normalized(base + c, row) * m.y);
    if (ADDEND) { v += addend[base + c]; }
    dx[base + c] = v;
  }
}

// A row's saved statistics (m0, m1, rstd), loaded once: every load is bounds-checked, which is what costs on a
// CPU adapter.
fn stats_of(row: u32) -> vec3f {
  return vec3f(mean[2u * row], mean[2u * row + 1u], rstd[row]);
}

// (mean of gw, mean of gw * xhat) over the row of vec4s starting at base, gw = grad * weight.
fn row_grad_means(base: u32, quads: u32, st: vec3f) -> vec2f {
  var s = vec4f(0.0);
  var sx = vec4f(0.0);
  for (var c = 0u; c < quads; c++) {
    let gw = grad4[base + c] * weight4[c];
    s += gw;
    sx += gw * xhat4(base + c, st.x, st.y, st.z);
  }
  return vec2f(hsum(s), hsum(sx)) / f32(p.cols);
}

// dx of vec4 i (column quad c) of a row: rstd (g w - mean(gw) - xhat mean(gw xhat)), plus the held gradient
// with ADDEND.
fn input_grad4(i: u32, c: u32, g: vec4f, xh: vec4f, r: f32, m: vec2f) -> vec4f {
  var v = r * (g * weight4[c] - m.x - xh * m.y);
  if (ADDEND) { v += addend4[i]; }
  return v;
}

// backward_input, one row per invocation, in vec4s.
@compute @workgroup_size(ROWS_WG)
fn backward_input_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * ROWS_WG;
  if (row >= p.rows) { return; }
  let quads = p.cols / 4u;
  let base = row * quads;
  let st = stats_of(row);
  let m = row_grad_means(base, quads, st);
  for (var c = 0u; c < quads; c++) { dx4[base + c] = input_grad4(base + c, c, grad4[base + c], xhat4(base + c, st.x, st.y, st.z), st.z, m); }
}

// Partial column sums over a chunk of rows, part [chunks, 2, cols]: part[chunk, 0, c] = sum grad * xhat (the
// weight's), part[chunk, 1, c] = sum grad (the bias'), so that one column sum over the chunks finishes both.
// The host adds the chunks; chunking keeps many invocations busy when there are few columns and many rows.
@compute @workgroup_size(COLUMN_WG)
fn backward_params(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let chunk = gid.y;
  if (c >= p.cols) { return; }
  let first = chunk * p.rows_per_chunk;
  var dw = 0.0;
  var db = 0.0;
  for (var row = first; row < min(first + p.rows_per_chunk, p.rows); row++) {
    let g = grad[row * p.cols + c];
    dw += g * normalized(row * p.cols + c, row);
    db += g;
  }
  part[2u * chunk * p.cols + c] = dw;
  part[(2u * chunk + 1u) * p.cols + c] = db;
}

// backward_params in vec4s of columns (cols % 4 == 0). Invocation k takes column quad k % quads of chunk
// k / quads: a dense 1-d grid, however few the columns.
@compute @workgroup_size(COLUMN_WG)
fn backward_params4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let quads = p.cols / 4u;
  let k = gid.x + gid.y * nwg.x * COLUMN_WG;
  let chunk = k / quads;
  let first = chunk * p.rows_per_chunk;
  if (first >= p.rows) { return; }
  let c = k % quads;
  var dw = vec4f(0.0);
  var db = vec4f(0.0);
  for (var row = first; row < min(first + p.rows_per_chunk, p.rows); row++) {
    let g = grad4[row * quads + c];
    dw += g * normalized4(row * quads + c, row);
    db += g;
  }
  part4[2u * chunk * quads + c] = dw;
  part4[(2u * chunk + 1u) * quads + c] = db;
}

const LANE_ROWS: u32 = 8u;    // backward_rows: rows per invocation, and per chunk of its partial sums
const LANE_QUADS: u32 = 32u;  // backward_rows: the widest row, in vec4s, its partial sums hold

// backward_input_rows for LANE_ROWS consecutive rows, and backward_params4's terms of those rows summed in the
// invocation's own partial sums (private arrays), written as chunk `chunk` of row_part4 [chunks, 2, cols].
@compute @workgroup_size(ROWS_WG)
fn backward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let chunk = gid.x + gid.y * nwg.x * ROWS_WG;
  let first = chunk * LANE_ROWS;
  if (first >= p.rows) { return; }
  let quads = p.cols / 4u;
  var dw: array<vec4f, LANE_QUADS>;
  var db: array<vec4f, LANE_QUADS>;
  for (var row = first; row < min(first + LANE_ROWS, p.rows); row++) {
    let base = row * quads;
    let st = stats_of(row);
    let m = row_grad_means(base, quads, st);
    for (var c = 0u; c < quads; c++) {
      let g = grad4[base + c];
      let xh = xhat4(base + c, st.x, st.y, st.z);
      dx4[base + c] = input_grad4(base + c, c, g, xh, st.z, m);
      dw[c] += g * xh;
      db[c] += g;
    }
  }
  for (var c = 0u; c < quads; c++) {
    row_part4[2u * chunk * quads + c] = dw[c];
    row_part4[(2u * chunk + 1u) * quads + c] = db[c];
  }
}
