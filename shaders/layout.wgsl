// Layout copies for concat, slice and transpose. Elements are moved as u32 words, so the copies are
// bit-exact for f32 and i32 tensors alike (a float load/store could flush denormal bit patterns).

// copy_runs counts in u32 words, copy_runs4 in vec4s of them.
struct CopyParams {
  rows: u32,        // number of runs
  run: u32,         // units per run
  src_stride: u32,  // units between the starts of consecutive runs in src
  src_offset: u32,  // unit index of the first run in src
  dst_stride: u32,
  dst_offset: u32,
  block: u32,       // units per workgroup (see blocks in src/tensor/ops/workgroups.ts)
}

struct TransposeParams {
  batch: u32,  // number of matrices
  m: u32,      // rows of each input matrix
  n: u32,      // columns of each input matrix
}

@group(0) @binding(0) var<uniform> cp: CopyParams;
@group(0) @binding(0) var<uniform> tp: TransposeParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@group(0) @binding(1) var<storage, read> src4: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4u>;

const WG: u32 = 64u;
const PER_THREAD: u32 = 4u;

// Copies `rows` strided runs of `run` units: one dispatch moves every run of a concat input or a slice, however
// many and however short. Each workgroup takes a contiguous block of the flattened runs, which invocation lid walks
// at lid, lid + WG, ...: a few large blocks on a CPU adapter, one unit per invocation and round on a GPU.
// copy_runs4 moves vec4s, for runs whose lengths, strides and offsets are all multiples of 4 words.

// (source, destination) index of unit k of the flattened runs.
fn run_unit(k: u32) -> vec2u {
  let r = k / cp.run;
  let c = k % cp.run;
  return vec2u(cp.src_offset + r * cp.src_stride + c, cp.dst_offset + r * cp.dst_stride + c);
}

// This invocation's first unit and the end of its workgroup's block.
fn copy_span(lid: u32, wid: vec3u, nwg: vec3u) -> vec2u {
  let start = (wid.x + wid.y * nwg.x) * cp.block;
  return vec2u(start + lid, min(start + cp.block, cp.rows * cp.run));
}

@compute @workgroup_size(WG)
fn copy_runs(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let span = copy_span(lid, wid, nwg);
  for (var k = span.x; k < span.y; k += WG) {
    let at = run_unit(k);
    dst[at.y] = src[at.x];
  }
}

@compute @workgroup_size(WG)
fn copy_runs4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let span = copy_span(lid, wid, nwg);
  for (var k = span.x; k < span.y; k += WG) {
    let at = run_unit(k);
    dst4[at.y] = src4[at.x];
  }
}

// [batch, m, n] -> [batch, n, m]. Each invocation writes 4 consecutive outputs; its reads are strided, which
// caches absorb. A workgroup-memory tile would make the reads contiguous on a GPU, but its barrier costs more
// than the whole copy on a CPU adapter (15-50x slower under SwiftShader), and no transpose is on a hot path.
@compute @workgroup_size(WG)
fn transpose(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let per_matrix = tp.m * tp.n;
  let total = tp.batch * per_matrix;
  let i0 = (gid.x + gid.y * nwg.x * WG) * PER_THREAD;
  if (i0 >= total) { return; }
  var matrix = i0 - i0 % per_matrix;
  var r = (i0 % per_matrix) / tp.m;  // output row = input column
  var c = i0 % tp.m;                 // output column = input row
  for (var i = i0; i < min(i0 + PER_THREAD, total); i++) {
    dst[i] = src[matrix + c * tp.n + r];
    c++;
    if (c == tp.m) {
      c = 0u;
      r++;
      if (r == tp.n) { r = 0u; matrix += per_matrix; }
    }
  }
}
