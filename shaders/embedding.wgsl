// Embeddings: the token table lookup with its deterministic scatter-add backward, and the patch embedding's
// im2col (patchify) with its inverse. Workgroups are laid out over x and y (see grid1d); the flat invocation
// index is rebuilt from both.

const WG: u32 = 64u;

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// ---- token embedding ----------------------------------------------------------------------------------------

struct EmbedParams {
  tokens: u32,  // ids
  dim: u32,     // table row length
  rows: u32,    // table rows (vocabulary)
}

@group(0) @binding(0) var<uniform> pe: EmbedParams;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> gathered: array<f32>;
@group(0) @binding(2) var<storage, read> table4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> gathered4: array<vec4f>;

// The element offset of the table row of token t, and whether its id is in range.
fn table_row(t: u32) -> vec2u {
  let id = ids[t];
  let valid = id >= 0 && u32(id) < pe.rows;
  return vec2u(select(0u, u32(id) * pe.dim, valid), u32(valid));
}

// out[t, d] = table[ids[t], d]; 4 consecutive d per invocation. The host checks ids when it has them; an id
// out of range still never reads outside the table: its row comes out zero.
@compute @workgroup_size(WG)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let chunks = (pe.dim + 3u) / 4u;
  let i = flat(gid, nwg);
  if (i >= pe.tokens * chunks) { return; }
  let t = i / chunks;
  let d0 = (i % chunks) * 4u;
  let row = table_row(t);
  for (var d = d0; d < min(d0 + 4u, pe.dim); d++) {
    gathered[t * pe.dim + d] = select(0.0, table[row.x + d], row.y == 1u);
  }
}

// The same as vec4s, when dim % 4 == 0.
@compute @workgroup_size(WG)
fn embedding_forward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let quads = pe.dim / 4u;
  let i = flat(gid, nwg);
  if (i >= pe.tokens * quads) { return; }
  let row = table_row(i / quads);
  gathered4[i] = select(vec4f(0.0), table4[row.x / 4u + i % quads], row.y == 1u);
}

struct ScatterParams {
  distinct: u32,  // distinct ids in the batch
  dim: u32,
}

@group(0) @binding(0) var<uniform> ps: ScatterParams;
// The positions of each distinct id, grouped on the host: [row ids (distinct), starts (distinct + 1), positions].
@group(0) @binding(1) var<storage, read> grouped: array<i32>;
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_table: array<f32>;

// grad_table[row, d] = sum of grad_out[pos, d] over the positions holding that row's id, in ascending order:
// one writer per element, so no atomics and the same sum every run. Rows of ids absent from the batch keep the
// zeros the host filled in. ACCUMULATE: the sum is added to what grad_table holds (the table's gradient so far), as
// a separate add of the two would round it.
override ACCUMULATE = false;

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let chunks = (ps.dim + 3u) / 4u;
  let i = flat(gid, nwg);
  if (i >= ps.distinct * chunks) { return; }
  let k = i / chunks;
  let d0 = (i % chunks) * 4u;
  let n = min(d0 + 4u, ps.dim) - d0;
  let positions = 2u * ps.distinct + 1u;
  var acc = vec4f(0.0);
  for (var j = u32(grouped[ps.distinct + k]); j < u32(grouped[ps.distinct + k + 1u]); j++) {
    let base = u32(grouped[positions + j]) * ps.dim + d0;
    for (var q = 0u; q < n; q++) { acc[q] += grad_out[base + q]; }
  }
  let dst = u32(grouped[k]) * ps.dim + d0;
  for (var q = 0u; q < n; q++) { grad_table[dst + q] = select(0.0, grad_table[dst + q], ACCUMULATE) + acc[q]; }
}

// ---- patch embedding (im2col of a conv with kernel = stride = patch) ---------------------------------------

struct PatchParams {
  count: u32,     // elements written (vec4s for patchify4): patches for patchify, image pixels for unpatchify
  channels: u32,
  height: u32,
  width: u32,
  patch_size: u32,
  grid_h: u32,    // floor(height / patch_size): like conv2d, leftover rows and columns are not covered
  grid_w: u32,
}

@group(0) @binding(0) var<uniform> pp: PatchParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<storage, read> src4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4f>;

// The src [B, C, H, W] index of element i of dst [B, grid_h * grid_w, C * p * p]: patches row-major over the grid,
// columns (c, ky, kx).
fn patch_source(i: u32) -> u32 {
  let pp2 = pp.patch_size * pp.patch_size;
  let cols = pp.channels * pp2;
  let np = pp.grid_h * pp.grid_w;
  let col = i % cols;
  let n = (i / cols) % np;
  let b = i / (cols * np);
  let c = col / pp2;
  let y = (n / pp.grid_w) * pp.patch_size + (col % pp2) / pp.patch_size;
  let x = (n % pp.grid_w) * pp.patch_size + col % pp.patch_size;
  return ((b * pp.channels + c) * pp.height + y) * pp.width + x;
}

// 4 elements of dst per invocation.
@compute @workgroup_size(WG)
fn patchify(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = flat(gid, nwg) * 4u;
  for (var i = i0; i < min(i0 + 4u, pp.count); i++) { dst[i] = src[patch_source(i)]; }
}

// One vec4 of dst per invocation (count in vec4s), when patch_size and width are multiples of 4: the four come from
// four neighbouring pixels of one image row, themselves a vec4 of src.
@compute @workgroup_size(WG)
fn patchify4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = flat(gid, nwg);
  if (q < pp.count) { dst4[q] = src4[patch_source(4u * q) / 4u]; }
}

// The inverse permutation: dst [B, C, H, W] <- src [B, Np, C * p * p]; pixels outside the grid get zero.
@compute @workgroup_size(WG)
fn unpatchify(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = flat(gid, nwg) * 4u;
  let cols = pp.channels * pp.patch_size * pp.patch_size;
  for (var i = i0; i < min(i0 + 4u, pp.count); i++) {
    let x = i % pp.width;
    let y = (i / pp.width) % pp.height;
    let c = (i / (pp.width * pp.height)) % pp.channels;
    let b = i / (pp.width * pp.height * pp.channels);
    let gy = y / pp.patch_size;
    let gx = x / pp.patch_size;
    var v = 0.0;
    if (gy < pp.grid_h && gx < pp.grid_w) {
      let n = (b * pp.grid_h + gy) * pp.grid_w + gx;
      v = src[n * cols + (c * pp.patch_size + y % pp.patch_size) * pp.patch_size + x % pp.patch_size];
    }
    dst[i] = v;
  }
}
