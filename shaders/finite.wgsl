// Counts the NaN and infinite values of a float32 tensor into one slot of `counts`: the training step's check of
// its loss and gradients before anything is updated. Both have an exponent of all ones, so the test is on the
// bits. Each workgroup walks its block of elements (see workgroups.ts); an invocation that found any adds its
// count once.

struct Params {
  n: u32,
  block: u32,
  slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

const WG: u32 = 64u;
const EXPONENT: u32 = 0x7f800000u;

@compute @workgroup_size(WG)
fn count_non_finite(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let start = (wid.x + wid.y * nwg.x) * p.block;
  let end = min(start + p.block, p.n);
  var found = 0u;
  for (var i = start + lid; i < end; i += WG) {
    if ((x[i] & EXPONENT) == EXPONENT) {
      found++;
    }
  }
  if (found > 0u) {
    atomicAdd(&counts[p.slot], found);
  }
}
