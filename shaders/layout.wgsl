// Layout copies for concat, slice and transpose. Elements are moved as u32 words, so the copies are
// bit-exact for f32 and i32 tensors alike (a float load/store could flush denormal bit patterns).

struct CopyParams {
  rows: u32,        // number of runs
  run: u32,         // elements per run
  src_stride: u32,  // elements between the starts of consecutive runs in src
  src_offset: u32,  // element index of the first run in src
  dst_stride: u32,
  dst_offset: u32,
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

const WG: u32 = 64u;
const PER_THREAD: u32 = 4u;

// Copies `rows` strided runs of `run` elements: one dispatch moves every run of a concat input or a slice,
// however many and however short. Each invocation copies 4 consecutive elements of the flattened runs.
@compute @workgroup_size(WG)
fn copy_runs(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = cp.rows * cp.run;
  let i0 = (gid.x + gid.y * nwg.x * WG) * PER_THREAD;
  if (i0 >= total) { return; }
  var r = i0 / cp.run;
  var c = i0 % cp.run;
  for (var i = i0; i < min(i0 + PER_THREAD, total); i++) {
    dst[cp.dst_offset + r * cp.dst_stride + c] = src[cp.src_offset + r * cp.src_stride + c];
    c++;
    if (c == cp.run) { c = 0u; r++; }
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
