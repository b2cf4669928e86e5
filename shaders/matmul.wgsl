// C = op(A) op(B) (+ bias[n] on every row), batched over workgroup z.
// op(A) is [M, K]: A, or with TRANS_A the [K, M] data read transposed. op(B) is [K, N]: B, or with TRANS_B
// the [N, K] data read transposed. The backward products use the same kernel with other transpose flags.
//
// Register blocking: each invocation computes an 8 x 16 tile of C (2 x 4 blocks of 4 x 4, each a mat4x4f)
// stepping K four at a time, so a step is 6 block loads for 8 block products. There is no shared-memory
// tiling: on CPU adapters barriers cost more than they save, and load count per product is what pays.
// Measured on SwiftShader (2 CPU cores), 8 x 16 runs about 1.3x faster than 8 x 8 and 15x faster than one
// output per invocation. CPU adapters with subgroups run matmul_subgroups.wgsl instead, on the same helpers.
//
// A and B are bound as arrays of vec4. Where an operand's contiguous axis is a multiple of 4 (A_VEC4,
// B_VEC4) a block row is one vec4 load; otherwise the same memory is read one float at a time. Rows and
// columns past the edge of C are clamped onto the last one (in-bounds reads whose sums are never stored),
// so the main K loop has no branches; a K that is not a multiple of 4 ends with up to three scalar steps.
//
// Split K: workgroup z also numbers `slices` ranges of K, k_split long (a multiple of 4), for products whose
// M x N alone gives too few workgroups to fill the device (weight gradients: small M x N, K = batch rows).
// Each range writes its own [M, N] partial sums, which matmul.ts adds up; only the first adds the bias.
//
// ADDEND (one range of K only): C = op(A) op(B) (+ bias) + addend, addend being C's shape, added as C is stored:
// a residual stream, or the gradient an operand already holds, without an add of its own.
//
// ROW_SUMS (the *_row_sums entries; one batch item, K a multiple of 4): the first column of tiles also writes each
// row of op(A) summed over its range of K, row_sums [slices, M]. For a linear layer's weight gradient dYᵀ X, op(A)
// is dYᵀ and those sums are the bias gradient: read from the blocks the product loads anyway, not in a pass of its own.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  a_batch: u32, // elements between consecutive batch items of A: 0 when one A serves the whole batch
  b_batch: u32, // the same for B
  slices: u32, // ranges of K per batch item: C is [batch * slices, M, N]
  k_split: u32, // length of each range but the last
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
// Bound in any case: without ADDEND, any buffer (matmul.ts binds A).
@group(0) @binding(4) var<storage, read> addend: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> row_sums: array<f32>;

override TRANS_A = false;
override TRANS_B = false;
override A_VEC4 = false; // TRANS_A ? M % 4 == 0 : K % 4 == 0
override B_VEC4 = false; // TRANS_B ? K % 4 == 0 : N % 4 == 0
override K_TAIL = true; // K % 4 != 0: the code for the last steps of K is only compiled where there are any
override ADDEND = false;
override ROW_SUMS = false;

// Mirrored in src/tensor/ops/matmul.ts.
const TM = 8u;
const TN = 16u;
const WG_X = 8u;
const WG_Y = 8u;

struct Tile {
  m0: u32,
  n0: u32,
  a_off: u32,
  b_off: u32,
  k_begin: u32,
  k_end: u32,
  z: u32, // batch item * slices + slice: which [M, N] of C
}

// cIJ is the block at rows m0 + 4I, columns n0 + 4J. WGSL matrices are column-major: column r of a block
// (block[r]) holds row r of that 4 x 4 block of C.
struct Sums {
  c00: mat4x4f,
  c01: mat4x4f,
  c02: mat4x4f,
  c03: mat4x4f,
  c10: mat4x4f,
  c11: mat4x4f,
  c12: mat4x4f,
  c13: mat4x4f,
}

fn a_elem(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }
fn b_elem(i: u32) -> f32 { return b[i >> 2u][i & 3u]; }
fn a_run(i: u32, step: u32) -> vec4f { return vec4f(a_elem(i), a_elem(i + step), a_elem(i + 2u * step), a_elem(i + 3u * step)); }
fn b_run(i: u32, step: u32) -> vec4f { return vec4f(b_elem(i), b_elem(i + step), b_elem(i + 2u * step), b_elem(i + 3u * step)); }

// Storage index of op(A)[m, k] and op(B)[k, n].
fn a_index(t: Tile, m: u32, k: u32) -> u32 { return t.a_off + select(m * p.K + k, k * p.M + m, TRANS_A); }
fn b_index(t: Tile, k: u32, n: u32) -> u32 { return t.b_off + select(k * p.N + n, n * p.K + k, TRANS_B); }

// Rows and columns past the edge read the last one: in bounds, and never stored.
fn row(m: u32) -> u32 { return min(m, p.M - 1u); }
fn col(n: u32) -> u32 { return min(n, p.N - 1u); }

// op(A)[m .. m + 3, k0 .. k0 + 3]; column r is row m + r.
fn a_block(t: Tile, m: u32, k0: u32) -> mat4x4f {
  if (A_VEC4 && !TRANS_A) {
    return mat4x4f(a[a_index(t, row(m), k0) >> 2u], a[a_index(t, row(m + 1u), k0) >> 2u],
                   a[a_index(t, row(m + 2u), k0) >> 2u], a[a_index(t, row(m + 3u), k0) >> 2u]);
  }
  if (A_VEC4) {
    // One run along m per k, transposed in registers. M % 4 == 0: a group past the edge is wholly past it.
    let i = a_index(t, min(m, p.M - 4u), k0) >> 2u;
    let s = p.M >> 2u;
    return transpose(mat4x4f(a[i], a[i + s], a[i + 2u * s], a[i + 3u * s]));
  }
  let step = select(1u, p.M, TRANS_A);
  return mat4x4f(a_run(a_index(t, row(m), k0), step), a_run(a_index(t, row(m + 1u), k0), step),
                 a_run(a_index(t, row(m + 2u), k0), step), a_run(a_index(t, row(m + 3u), k0), step));
}

// op(B)[k0 .. k0 + 3, n .. n + 3]; column kk is row k0 + kk.
fn b_block(t: Tile, n: u32, k0: u32) -> mat4x4f {
  if (B_VEC4 && !TRANS_B) {
    // N % 4 == 0: a group past the edge is wholly past it.
    let i = b_index(t, k0, min(n, p.N - 4u)) >> 2u;
    let s = p.N >> 2u;
    return mat4x4f(b[i], b[i + s], b[i + 2u * s], b[i + 3u * s]);
  }
  if (B_VEC4) {
    // One run along k per column, transposed in registers.
    return transpose(mat4x4f(b[b_index(t, k0, col(n)) >> 2u], b[b_index(t, k0, col(n + 1u)) >> 2u],
                             b[b_index(t, k0, col(n + 2u)) >> 2u], b[b_index(t, k0, col(n + 3u)) >> 2u]));
  }
  let step = select(p.N, 1u, TRANS_B);
  return transpose(mat4x4f(b_run(b_index(t, k0, col(n)), step), b_run(b_index(t, k0, col(n + 1u)), step),
                           b_run(b_index(t, k0, col(n + 2u)), step), b_run(b_index(t, k0, col(n + 3u)), step)));
}

// One step of K past the last multiple of 4: op(A)[m .. m + 3, k] times op(B)[k, n .. n + 3].
fn k_step(t: Tile, m: u32, n: u32, k: u32) -> mat4x4f {
  let bk = vec4f(b_elem(b_index(t, k, col(n))), b_elem(b_index(t, k, col(n + 1u))),
                 b_elem(b_index(t, k, col(n + 2u))), b_elem(b_index(t, k, col(n + 3u))));
  return mat4x4f(bk * a_elem(a_index(t, row(m), k)), bk * a_elem(a_index(t, row(m + 1u), k)),
                 bk * a_elem(a_index(t, row(m + 2u), k)), bk * a_elem(a_index(t, row(m + 3u), k)));
}

// With ROW_SUMS, the sums over K of the rows of op(A) a product reads: product() those of rows m0 .. m0 + 7 of
// the tile, matmul_subgroups.wgsl's shared_product the lane's SG_ROWS (column q: rows 4q .. 4q + 3 of them).
var<private> a_row_sums: mat4x4f;

// The 4 rows of a block of op(A), each summed over its 4 steps of K.
fn block_row_sums(block: mat4x4f) -> vec4f {
  return transpose(block) * vec4f(1.0);
}

// Row sums of op(A) for rows m .. m + 3 of slice z, as far as M.
fn store_row_sums(z: u32, m: u32, v: vec4f) {
  let i = z * p.M + m;
  if (m < p.M) { row_sums[i] = v.x; }
  if (m + 1u < p.M) { row_sums[i + 1u] = v.y; }
  if (m + 2u < p.M) { row_sums[i + 2u] = v.z; }
  if (m + 3u < p.M) { row_sums[i + 3u] = v.w; }
}

// The tile's sums over K, added to `start`.
fn product(t: Tile, start: Sums) -> Sums {
  var s = start;
  let k_full = t.k_begin + ((t.k_end - t.k_begin) & ~3u);
  for (var k0 = t.k_begin; k0 < k_full; k0 += 4u) {
    let a0 = a_block(t, t.m0, k0);
    let a1 = a_block(t, t.m0 + 4u, k0);
    if (ROW_SUMS) { a_row_sums[0] += block_row_sums(a0); a_row_sums[1] += block_row_sums(a1); }
    let b0 = b_block(t, t.n0, k0);
    let b1 = b_block(t, t.n0 + 4u, k0);
    let b2 = b_block(t, t.n0 + 8u, k0);
    let b3 = b_block(t, t.n0 + 12u, k0);
    s.c00 += b0 * a0;
    s.c01 += b1 * a0;
    s.c02 += b2 * a0;
    s.c03 += b3 * a0;
    s.c10 += b0 * a1;
    s.c11 += b1 * a1;
    s.c12 += b2 * a1;
    s.c13 += b3 * a1;
  }
  for (var k = k_full; K_TAIL && k < t.k_end; k++) {
    s.c00 += k_step(t, t.m0, t.n0, k);
    s.c01 += k_step(t, t.m0, t.n0 + 4u, k);
    s.c02 += k_step(t, t.m0, t.n0 + 8u, k);
    s.c03 += k_step(t, t.m0, t.n0 + 12u, k);
    s.c10 += k_step(t, t.m0 + 4u, t.n0, k);
    s.c11 += k_step(t, t.m0 + 4u, t.n0 + 4u, k);
    s.c12 += k_step(t, t.m0 + 4u, t.n0 + 8u, k);
    s.c13 += k_step(t, t.m0 + 4u, t.n0 + 12u, k);
  }
  return s;
}

// Row m of C from column n on, as far as M and N. Each element is written with a constant index: CPU
// drivers turn a dynamic index into a vector into scratch memory.
fn store_row(z: u32, m: u32, n: u32, sums: vec4f) {
  if (m >= p.M || n >= p.N) { return; }
  let i = (z * p.M + m) * p.N + n;
  var v = sums;
  if (n + 3u < p.N) {
    if (ADDEND) { v += vec4f(addend[i], addend[i + 1u], addend[i + 2u], addend[i + 3u]); }
    c[i] = v.x;
    c[i + 1u] = v.y;
    c[i + 2u] = v.z;
    c[i + 3u] = v.w;
  } else {
    // Reads past the row's end are clamped onto its last element; what they add is not stored.
    let last = i + p.N - 1u - n;
    if (ADDEND) { v += vec4f(addend[i], addend[min(i + 1u, last)], addend[min(i + 2u, last)], 0.0); }
    c[i] = v.x;
    if (n + 1u < p.N) { c[i + 1u] = v.y; }
    if (n + 2u < p.N) { c[i + 2u] = v.z; }
  }
}

// A loop, not four calls: unrolled stores in every block made the kernels so long that they ran 10-20%
// slower on SwiftShader.
fn store_block(z: u32, m: u32, n: u32, block: mat4x4f) {
  for (var r = 0u; r < 4u; r++) { store_row(z, m + r, n, block[r]); }
}

fn store(t: Tile, s: Sums) {
  store_block(t.z, t.m0, t.n0, s.c00);
  store_block(t.z, t.m0, t.n0 + 4u, s.c01);
  store_block(t.z, t.m0, t.n0 + 8u, s.c02);
  store_block(t.z, t.m0, t.n0 + 12u, s.c03);
  store_block(t.z, t.m0 + 4u, t.n0, s.c10);
  store_block(t.z, t.m0 + 4u, t.n0 + 4u, s.c11);
  store_block(t.z, t.m0 + 4u, t.n0 + 8u, s.c12);
  store_block(t.z, t.m0 + 4u, t.n0 + 12u, s.c13);
}

// The tile at rows m0, columns n0 of slice wid.z.
fn tile(m0: u32, n0: u32, wid: vec3u) -> Tile {
  let item = wid.z / p.slices;
  let k_begin = (wid.z % p.slices) * p.k_split;
  return Tile(m0, n0, item * p.a_batch, item * p.b_batch, k_begin, min(k_begin + p.k_split, p.K), wid.z);
}

// bias[n .. n + 3] in every row of a block, in the first slice only (the others' sums are added to it).
fn bias_block(t: Tile, n: u32) -> mat4x4f {
  if (t.k_begin > 0u) { return mat4x4f(); }
  let v = vec4f(bias[col(n)], bias[col(n + 1u)], bias[col(n + 2u)], bias[col(n + 3u)]);
  return mat4x4f(v, v, v, v);
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = tile(gid.y * TM, gid.x * TN, wid);
  if (t.m0 >= p.M || t.n0 >= p.N) { return; }
  store(t, product(t, Sums()));
}

// The sums start from the bias, which is so added once per output.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_bias(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = tile(gid.y * TM, gid.x * TN, wid);
  if (t.m0 >= p.M || t.n0 >= p.N) { return; }
  let b0 = bias_block(t, t.n0);
  let b1 = bias_block(t, t.n0 + 4u);
  let b2 = bias_block(t, t.n0 + 8u);
  let b3 = bias_block(t, t.n0 + 12u);
  store(t, product(t, Sums(b0, b1, b2, b3, b0, b1, b2, b3)));
}

// C = op(A) op(B) and, from the first column of tiles, op(A)'s row sums.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_row_sums(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = tile(gid.y * TM, gid.x * TN, wid);
  if (t.m0 >= p.M || t.n0 >= p.N) { return; }
  store(t, product(t, Sums()));
  if (gid.x == 0u) {
    store_row_sums(t.z, t.m0, a_row_sums[0]);
    store_row_sums(t.z, t.m0 + 4u, a_row_sums[1]);
  }
}
