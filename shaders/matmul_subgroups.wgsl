// The matmul for CPU adapters: appended to matmul.wgsl (whose helpers it uses) after `enable subgroups;`,
// `const SG_LANES = 4u;` or `8u;`, the lanes of one subgroup that a workgroup is, and `const SG_COLS = 16u;` or `8u;`,
// the columns of C each lane computes.
//
// A CPU driver runs a subgroup's invocations as the lanes of one SIMD register (SwiftShader 4, Mesa's lavapipe 8)
// and cannot tell that lanes read neighbouring or equal addresses: every storage read is a gather, one scalar load
// per lane each behind its own branch, while arithmetic runs on all lanes at once. So here a workgroup is one
// subgroup computing a 64 x (SG_COLS x SG_LANES) tile of C: the 64 rows of op(A) are read once, a share by each
// lane, and handed to all lanes with subgroupBroadcast (a few register shuffles); each lane reads its own SG_COLS
// columns of op(B) and keeps their 64 x SG_COLS sums. With 4 lanes x 16 columns (SwiftShader's), a step of 4 along K
// is 8 block reads per lane for 64 block products (the 8 x 16 kernel: 6 for 8). Timed on SwiftShader with parts
// taken out (at 32 x 32), reads were still about half of the time, the arithmetic most of the rest and the
// broadcasts under a tenth. Against 8 x 16 there (2 cores, loaded machine, CPU time) it is 1.6-1.7x faster at 512^3
// and 1024^3 and 1.5-2.1x on the training step's shapes; a 32 x 64 tile was 1.2x slower at 1024^3 (level at
// K = 64), 32 x 32 1.3x slower than that; taking two steps of K per trip of the loop (the sums loaded and stored
// half as often) was no faster, and 1.2x slower at K = 64. On lavapipe, 8 lanes x 16 columns (64 x 128) against
// 4 x 16 (half of each SIMD register idle) were 1.85-1.9x faster at 512^3 and 1024^3, and 8 x 8 (64 x 64) 1.1-1.2x
// faster where N is 64: src/tensor/ops/matmul.ts picks by N.
//
// The sums live in an array, indexed by constants except in the store loop: as named blocks with every
// store written out, the pipeline took 4x longer to compile (seconds on SwiftShader) and ran no faster.
//
// Assumes the SG_LANES invocations of a workgroup form one subgroup, as they do wherever subgroups have at least
// SG_LANES lanes and are filled in invocation order.

const SG_TM = 64u;
const SG_TN = SG_COLS * SG_LANES;
// The rows of op(A) each lane reads: 16 (4 blocks) of 4 lanes, 8 (2 blocks) of 8.
const SG_ROWS = SG_TM / SG_LANES;

// A lane's op(B) blocks for 4 steps of K by its SG_COLS columns, or its sums for 4 rows by those columns (q2 and
// q3 unused where SG_COLS is 8).
struct Quad {
  q0: mat4x4f,
  q1: mat4x4f,
  q2: mat4x4f,
  q3: mat4x4f,
}

fn from_lane0(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 0u), subgroupBroadcast(m[1], 0u), subgroupBroadcast(m[2], 0u), subgroupBroadcast(m[3], 0u));
}
fn from_lane1(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 1u), subgroupBroadcast(m[1], 1u), subgroupBroadcast(m[2], 1u), subgroupBroadcast(m[3], 1u));
}
fn from_lane2(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 2u), subgroupBroadcast(m[1], 2u), subgroupBroadcast(m[2], 2u), subgroupBroadcast(m[3], 2u));
}
fn from_lane3(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 3u), subgroupBroadcast(m[1], 3u), subgroupBroadcast(m[2], 3u), subgroupBroadcast(m[3], 3u));
}
fn from_lane4(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 4u), subgroupBroadcast(m[1], 4u), subgroupBroadcast(m[2], 4u), subgroupBroadcast(m[3], 4u));
}
fn from_lane5(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 5u), subgroupBroadcast(m[1], 5u), subgroupBroadcast(m[2], 5u), subgroupBroadcast(m[3], 5u));
}
fn from_lane6(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 6u), subgroupBroadcast(m[1], 6u), subgroupBroadcast(m[2], 6u), subgroupBroadcast(m[3], 6u));
}
fn from_lane7(m: mat4x4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(m[0], 7u), subgroupBroadcast(m[1], 7u), subgroupBroadcast(m[2], 7u), subgroupBroadcast(m[3], 7u));
}

// s + the rows a (op(A) for 4 rows by 4 steps of K) times b.
fn add_products(s: Quad, a: mat4x4f, b: Quad) -> Quad {
  var r = Quad(s.q0 + b.q0 * a, s.q1 + b.q1 * a, s.q2, s.q3);
  if (SG_COLS == 16u) { r.q2 += b.q2 * a; r.q3 += b.q3 * a; }
  return r;
}

// One step of K past the last multiple of 4, each lane reading what it needs.
fn add_k_step(t: Tile, s: Quad, m: u32, n: u32, k: u32) -> Quad {
  var r = Quad(s.q0 + k_step(t, m, n, k), s.q1 + k_step(t, m, n + 4u, k), s.q2, s.q3);
  if (SG_COLS == 16u) { r.q2 += k_step(t, m, n + 8u, k); r.q3 += k_step(t, m, n + 12u, k); }
  return r;
}

// The lane's columns n .. n + SG_COLS - 1 of the tile; s[i], the sums of rows 4i .. 4i + 3, start from `start`.
fn shared_product(t: Tile, lane: u32, start: Quad) {
  let n = t.n0 + SG_COLS * lane;
  var s = array<Quad, 16>(start, start, start, start, start, start, start, start, start, start, start, start, start, start, start, start);
  let k_full = t.k_begin + ((t.k_end - t.k_begin) & ~3u);
  for (var k0 = t.k_begin; k0 < k_full; k0 += 4u) {
    var b = Quad(b_block(t, n, k0), b_block(t, n + 4u, k0), mat4x4f(), mat4x4f());
    if (SG_COLS == 16u) { b.q2 = b_block(t, n + 8u, k0); b.q3 = b_block(t, n + 12u, k0); }
    // Lane l reads rows SG_ROWS l .. SG_ROWS (l + 1) - 1 of the 64; each block then reaches every lane, one lane's
    // at a time, and s[i] takes rows 4i .. 4i + 3.
    let m = t.m0 + SG_ROWS * lane;
    let w = a_block(t, m, k0);
    let x = a_block(t, m + 4u, k0);
    if (SG_LANES == 4u) {
      let y = a_block(t, m + 8u, k0);
      let z = a_block(t, m + 12u, k0);
      if (ROW_SUMS) { a_row_sums += mat4x4f(block_row_sums(w), block_row_sums(x), block_row_sums(y), block_row_sums(z)); }
      s[0] = add_products(s[0], from_lane0(w), b);
      s[1] = add_products(s[1], from_lane0(x), b);
      s[2] = add_products(s[2], from_lane0(y), b);
      s[3] = add_products(s[3], from_lane0(z), b);
      s[4] = add_products(s[4], from_lane1(w), b);
      s[5] = add_products(s[5], from_lane1(x), b);
      s[6] = add_products(s[6], from_lane1(y), b);
      s[7] = add_products(s[7], from_lane1(z), b);
      s[8] = add_products(s[8], from_lane2(w), b);
      s[9] = add_products(s[9], from_lane2(x), b);
      s[10] = add_products(s[10], from_lane2(y), b);
      s[11] = add_products(s[11], from_lane2(z), b);
      s[12] = add_products(s[12], from_lane3(w), b);
      s[13] = add_products(s[13], from_lane3(x), b);
      s[14] = add_products(s[14], from_lane3(y), b);
      s[15] = add_products(s[15], from_lane3(z), b);
    } else {
      if (ROW_SUMS) { a_row_sums += mat4x4f(block_row_sums(w), block_row_sums(x), vec4f(), vec4f()); }
      s[0] = add_products(s[0], from_lane0(w), b);
      s[1] = add_products(s[1], from_lane0(x), b);
      s[2] = add_products(s[2], from_lane1(w), b);
      s[3] = add_products(s[3], from_lane1(x), b);
      s[4] = add_products(s[4], from_lane2(w), b);
      s[5] = add_products(s[5], from_lane2(x), b);
      s[6] = add_products(s[6], from_lane3(w), b);
      s[7] = add_products(s[7], from_lane3(x), b);
      s[8] = add_products(s[8], from_lane4(w), b);
      s[9] = add_products(s[9], from_lane4(x), b);
      s[10] = add_products(s[10], from_lane5(w), b);
      s[11] = add_products(s[11], from_lane5(x), b);
      s[12] = add_products(s[12], from_lane6(w), b);
      s[13] = add_products(s[13], from_lane6(x), b);
      s[14] = add_products(s[14], from_lane7(w), b);
      s[15] = add_products(s[15], from_lane7(x), b);
    }
  }
  for (var k = k_full; K_TAIL && k < t.k_end; k++) {
    for (var i = 0u; i < 16u; i++) { s[i] = add_k_step(t, s[i], t.m0 + 4u * i, n, k); }
  }
  // Row by row: each row's sums are read back with dynamic indices (a gather per element), each written once.
  for (var r = 0u; r < SG_TM; r++) {
    let i = r >> 2u;
    let j = r & 3u;
    store_row(t.z, t.m0 + r, n, s[i].q0[j]);
    store_row(t.z, t.m0 + r, n + 4u, s[i].q1[j]);
    if (SG_COLS == 16u) {
      store_row(t.z, t.m0 + r, n + 8u, s[i].q2[j]);
      store_row(t.z, t.m0 + r, n + 12u, s[i].q3[j]);
    }
  }
}

@compute @workgroup_size(SG_LANES)
fn matmul_sg(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  shared_product(tile(wid.y * SG_TM, wid.x * SG_TN, wid), lane, Quad());
}

@compute @workgroup_size(SG_LANES)
fn matmul_sg_bias(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile(wid.y * SG_TM, wid.x * SG_TN, wid);
  let n = t.n0 + SG_COLS * lane;
  shared_product(t, lane, Quad(bias_block(t, n), bias_block(t, n + 4u), bias_block(t, n + 8u), bias_block(t, n + 12u)));
}

@compute @workgroup_size(SG_LANES)
fn matmul_sg_row_sums(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile(wid.y * SG_TM, wid.x * SG_TN, wid);
  shared_product(t, lane, Quad());
  if (wid.x == 0u) {
    let m = t.m0 + SG_ROWS * lane;
    store_row_sums(t.z, m, a_row_sums[0]);
    store_row_sums(t.z, m + 4u, a_row_sums[1]);
    if (SG_LANES == 4u) {
      store_row_sums(t.z, m + 8u, a_row_sums[2]);
      store_row_sums(t.z, m + 12u, a_row_sums[3]);
    }
  }
}
