// Multi-head scaled dot-product attention on [B, T, E] tensors, E = heads * D, head h in columns h*D .. h*D+D-1
// (PyTorch's layout after in_proj), so no transposes are needed around these kernels. Probabilities P and score
// gradients dS are [B, heads, Tq, Tk]. The [B, T, E] operands may be column ranges of wider rows (q, k and v as
// the thirds of in_proj's packed [B, T, 3E] output, and their gradients written into one such tensor): each
// operand's row stride and first column come in the uniform block, in vec4s.
//
//   forward:  dots          S  = q k^T * scale (unmasked entries only)
//             softmax_rows  P  = softmax(S) in place, masked entries exactly 0
//             mix_rows      out = P v
//   backward: dots          dP = dO v^T
//             softmax_grad  dS = P * (dP - rowsum(dP * P)) in place
//             mix_rows      dQ = scale * dS k
//             mix_cols      dK = scale * dS^T q,  dV = P^T dO
//   display:  head_mean     mean of P over heads
//
// The products work on register tiles, 4 x 8 scores or 4 rows x 4 vec4 of a head's output per invocation, held
// in mat4x4 values with constant indices (an array or matrix indexed in a loop lives in memory on CPU drivers,
// several times slower), so that each vec4 loaded feeds 4 to 8 vec4 multiply-adds. Rows and columns past the
// edge are clamped for loads and skipped for stores. No atomics: every output element is written by one
// invocation. Rows are read as vec4, so D is a multiple of 4; D4 = D / 4 is an override constant.

struct Params {
  batch: u32,
  heads: u32,
  rows: u32,    // rows per (b, h) of the output: query rows, or key rows for mix_cols
  cols: u32,    // the other axis: what a dot product pairs with, or what a mix sums over
  causal: u32,  // 1: query i sees keys j <= i only (then Tq == Tk)
  scale: f32,
  a_stride: u32,  // rows of lhs (dots) or x (mixes), see Rows
  a_offset: u32,
  b_stride: u32,  // rows of rhs (dots) or y (mixes)
  b_offset: u32,
}

// Where a [B, T, E] operand's rows lie in its buffer, in vec4s: row r starts at r * stride + offset.
struct Rows {
  stride: u32,
  offset: u32,
}

fn a_rows() -> Rows { return Rows(p.a_stride, p.a_offset); }
fn b_rows() -> Rows { return Rows(p.b_stride, p.b_offset); }

@group(0) @binding(0) var<uniform> p: Params;
// dots: scores[b, h, i, j] = scale * <lhs[b, i, head h], rhs[b, j, head h]>
@group(0) @binding(1) var<storage, read> lhs: array<vec4f>;
@group(0) @binding(2) var<storage, read> rhs: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dots_out: array<f32>;
// softmax_rows
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
// softmax_grad (w = P, dscores = dP in, dS out); mix_rows, mix_cols (y = scale * w x per head); head_mean (w = P)
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;

const WG: u32 = 64u;
override D4: u32;  // head dim / 4

fn invocation(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// vec4 index of head h in row t (clamped to T - 1) of a [B, T, E] operand laid out as `at`.
fn head_row(b: u32, t: u32, T: u32, h: u32, at: Rows) -> u32 {
  return (b * T + min(t, T - 1u)) * at.stride + at.offset + h * D4;
}

// Columns [0, visible(i)) of row i of S, P or dS are unmasked.
fn visible(i: u32) -> u32 {
  return select(p.cols, min(i + 1u, p.cols), p.causal != 0u);
}

// vec4 indices of head h in rows t0 .. t0+3 (clamped) of a [B, T, E] operand laid out as `at`.
fn head_rows(b: u32, t0: u32, T: u32, h: u32, at: Rows) -> vec4u {
  return vec4u(head_row(b, t0, T, h, at), head_row(b, t0 + 1u, T, h, at), head_row(b, t0 + 2u, T, h, at), head_row(b, t0 + 3u, T, h, at));
}

// One invocation per tile of 4 rows x 8 columns; tiles wholly above a causal diagonal have nothing to do.
@compute @workgroup_size(WG)
fn dots(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = invocation(gid, nwg);
  let row_tiles = (p.rows + 3u) / 4u;
  let col_tiles = (p.cols + 7u) / 8u;
  if (id >= p.batch * p.heads * row_tiles * col_tiles) { return; }
  let bh = id / (row_tiles * col_tiles);
  let b = bh / p.heads;
  let h = bh % p.heads;
  let i0 = (id / col_tiles) % row_tiles * 4u;
  let j0 = id % col_tiles * 8u;
  if (j0 >= visible(min(i0 + 3u, p.rows - 1u))) { return; }
  let a = head_rows(b, i0, p.rows, h, a_rows());
  let c = head_rows(b, j0, p.cols, h, b_rows());
  let c2 = head_rows(b, j0 + 4u, p.cols, h, b_rows());
  var s = mat4x4f();
  var s2 = mat4x4f();
  for (var d = 0u; d < D4; d++) {
    let A = mat4x4f(lhs[a.x + d], lhs[a.y + d], lhs[a.z + d], lhs[a.w + d]);
    let C = mat4x4f(rhs[c.x + d], rhs[c.y + d], rhs[c.z + d], rhs[c.w + d]);
    let C2 = mat4x4f(rhs[c2.x + d], rhs[c2.y + d], rhs[c2.z + d], rhs[c2.w + d]);
    s += transpose(C) * A;  // s[k][l] = <lhs row i0 + k, rhs row j0 + l>
    s2 += transpose(C2) * A;
  }
  let at = (bh * p.rows + i0) * p.cols + j0;
  store_dots(at, i0, j0, s);
  store_dots(at + 4u, i0, j0 + 4u, s2);
}

// Stores the 4x4 block s[k][l] at rows i0 + k, columns j0 + l.
fn store_dots(at: u32, i0: u32, j0: u32, s: mat4x4f) {
  store_dots_row(at, i0, j0, s[0]);
  store_dots_row(at + p.cols, i0 + 1u, j0, s[1]);
  store_dots_row(at + 2u * p.cols, i0 + 2u, j0, s[2]);
  store_dots_row(at + 3u * p.cols, i0 + 3u, j0, s[3]);
}

// Columns j0 .. j0+3 of row i, those inside the matrix and unmasked.
fn store_dots_row(at: u32, i: u32, j0: u32, s: vec4f) {
  if (i >= p.rows) { return; }
  let n = visible(i);
  if (j0 < n) { dots_out[at] = s.x * p.scale; }
  if (j0 + 1u < n) { dots_out[at + 1u] = s.y * p.scale; }
  if (j0 + 2u < n) { dots_out[at + 2u] = s.z * p.scale; }
  if (j0 + 3u < n) { dots_out[at + 3u] = s.w * p.scale; }
}

// One invocation per row: subtract the row max, exponentiate, normalize; masked columns get exactly 0.
@compute @workgroup_size(WG)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = invocation(gid, nwg);  // = (b * heads + h) * rows + i
  if (id >= p.batch * p.heads * p.rows) { return; }
  let n = visible(id % p.rows);
  let row = id * p.cols;
  var top = scores[row];
  for (var j = 1u; j < n; j++) { top = max(top, scores[row + j]); }
  var total = 0.0;
  for (var j = 0u; j < n; j++) {
    let e = exp(scores[row + j] - top);
    scores[row + j] = e;
    total += e;
  }
  for (var j = 0u; j < n; j++) { scores[row + j] = scores[row + j] / total; }
  for (var j = n; j < p.cols; j++) { scores[row + j] = 0.0; }
}

// One invocation per row: dS = P * (dP - sum_j P dP), in place over dP; masked columns get exactly 0.
@compute @workgroup_size(WG)
fn softmax_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = invocation(gid, nwg);
  if (id >= p.batch * p.heads * p.rows) { return; }
  let n = visible(id % p.rows);
  let row = id * p.cols;
  var delta = 0.0;
  for (var j = 0u; j < n; j++) { delta += w[row + j] * dscores[row + j]; }
  for (var j = 0u; j < n; j++) { dscores[row + j] = w[row + j] * (dscores[row + j] - delta); }
  for (var j = n; j < p.cols; j++) { dscores[row + j] = 0.0; }
}

// One invocation per tile of 4 output rows x 4 vec4 columns of one head.
struct MixTile {
  b: u32,
  h: u32,
  bh: u32,
  r0: u32,
  d0: u32,
  rows: vec4u,  // r0 .. r0+3 clamped to the last row
}

// (row tiles, column tiles) per head.
fn mix_grid() -> vec2u {
  return vec2u((p.rows + 3u) / 4u, (D4 + 3u) / 4u);
}

fn mix_tile(id: u32) -> MixTile {
  let grid = mix_grid();
  let bh = id / (grid.x * grid.y);
  let r0 = (id / grid.y) % grid.x * 4u;
  let last = p.rows - 1u;
  let rows = vec4u(r0, min(r0 + 1u, last), min(r0 + 2u, last), min(r0 + 3u, last));
  return MixTile(bh / p.heads, bh % p.heads, bh, r0, id % grid.y * 4u, rows);
}

// The tile of y = scale * sum over c in [c0, c1) of w[at[k] + c * w_step] * x[b, c, head h], for its rows k.
// The weights are zero past a causal diagonal, so summing over the union of the 4 rows' ranges is exact.
fn mix(t: MixTile, c0: u32, c1: u32, at: vec4u, w_step: u32) {
  let e = vec4u(t.d0, min(t.d0 + 1u, D4 - 1u), min(t.d0 + 2u, D4 - 1u), min(t.d0 + 3u, D4 - 1u));
  var xc = head_row(t.b, c0, p.cols, t.h, a_rows());
  var y0 = mat4x4f();
  var y1 = mat4x4f();
  var y2 = mat4x4f();
  var y3 = mat4x4f();
  for (var c = c0; c < c1; c++) {
    let X = mat4x4f(x[xc + e.x], x[xc + e.y], x[xc + e.z], x[xc + e.w]);
    let wc = c * w_step;
    y0 += w[at.x + wc] * X;
    y1 += w[at.y + wc] * X;
    y2 += w[at.z + wc] * X;
    y3 += w[at.w + wc] * X;
    xc += p.a_stride;
  }
  store_mix(t, t.r0, y0);
  store_mix(t, t.r0 + 1u, y1);
  store_mix(t, t.r0 + 2u, y2);
  store_mix(t, t.r0 + 3u, y3);
}

fn store_mix(t: MixTile, r: u32, acc: mat4x4f) {
  if (r >= p.rows) { return; }
  let at = head_row(t.b, r, p.rows, t.h, b_rows()) + t.d0;
  y[at] = acc[0] * p.scale;
  if (t.d0 + 1u < D4) { y[at + 1u] = acc[1] * p.scale; }
  if (t.d0 + 2u < D4) { y[at + 2u] = acc[2] * p.scale; }
  if (t.d0 + 3u < D4) { y[at + 3u] = acc[3] * p.scale; }
}

// w is [B, heads, rows, cols]: out = P v, dQ = scale dS k.
@compute @workgroup_size(WG)
fn mix_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = invocation(gid, nwg);
  let grid = mix_grid();
  if (id >= p.batch * p.heads * grid.x * grid.y) { return; }
  let t = mix_tile(id);
  mix(t, 0u, visible(t.rows.w), (t.bh * p.rows + t.rows) * p.cols, 1u);
}

// w is [B, heads, cols, rows], read transposed: dK = scale dS^T q, dV = P^T dO. Causal: key r is seen by
// queries c >= r only.
@compute @workgroup_size(WG)
fn mix_cols(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = invocation(gid, nwg);
  let grid = mix_grid();
  if (id >= p.batch * p.heads * grid.x * grid.y) { return; }
  let t = mix_tile(id);
  mix(t, select(0u, t.r0, p.causal != 0u), p.cols, t.bh * p.cols * p.rows + t.rows, p.rows);
}

// mean[b, i, j] = mean over h of P[b, h, i, j] (rows = Tq, cols = Tk), one invocation per element.
@compute @workgroup_size(WG)
fn head_mean(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let id = invocation(gid, nwg);
  let per_batch = p.rows * p.cols;
  if (id >= p.batch * per_batch) { return; }
  let b = id / per_batch;
  let ij = id % per_batch;
  var total = 0.0;
  for (var h = 0u; h < p.heads; h++) { total += w[(b * p.heads + h) * per_batch + ij]; }
  mean[id] = total / f32(p.heads);
}
