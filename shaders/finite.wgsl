// Counts the NaN and infinite values of up to seven float32 tensors at once, each into its own slot of `counts`:
// the training step's check of its loss and gradients before anything is updated, in a seventh of the dispatches
// that one tensor a dispatch took. Both have an exponent of all ones, so the test is on the bits.
// Each tensor has its own run of workgroups; a workgroup walks its block of the tensor's vec4s (see workgroups.ts)
// and each invocation that found any adds its count once. Buffers hold whole vec4s (the pool's size classes are
// multiples of 32 bytes): the lanes of the last vec4 past the tensor's end are not counted.
// WGSL cannot index bindings, so which tensor a workgroup reads is a switch on a value uniform across it.

struct Span {
  elements: u32,
  block: u32,        // vec4s per workgroup
  first_group: u32,  // the first workgroup of this tensor's run
  slot: u32,         // its entry of `counts`
}

struct Params {
  tensors: u32,
  @align(16) spans: array<Span, 7>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x0: array<vec4u>;
@group(0) @binding(2) var<storage, read> x1: array<vec4u>;
@group(0) @binding(3) var<storage, read> x2: array<vec4u>;
@group(0) @binding(4) var<storage, read> x3: array<vec4u>;
@group(0) @binding(5) var<storage, read> x4: array<vec4u>;
@group(0) @binding(6) var<storage, read> x5: array<vec4u>;
@group(0) @binding(7) var<storage, read> x6: array<vec4u>;
@group(0) @binding(8) var<storage, read_write> counts: array<atomic<u32>>;

const WG: u32 = 64u;
const EXPONENT: u32 = 0x7f800000u;

// The lanes of vec4 i that hold NaN or an infinity; lanes past the last element are padding.
fn bad_lanes(w: vec4u, i: u32, elements: u32) -> u32 {
  let bad = (w & vec4u(EXPONENT)) == vec4u(EXPONENT);
  let inside = 4u * i + vec4u(0u, 1u, 2u, 3u) < vec4u(elements);
  return dot(vec4u(bad & inside), vec4u(1u));
}

@compute @workgroup_size(WG)
fn count_non_finite(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let group = wid.x + wid.y * nwg.x;
  var tensor = 0u;
  for (var t = 1u; t < p.tensors; t++) {
    if (group >= p.spans[t].first_group) { tensor = t; }
  }
  let span = p.spans[tensor];
  let n = span.elements;
  let vec4s = (n + 3u) / 4u;
  let start = (group - span.first_group) * span.block + lid;
  let end = min(start - lid + span.block, vec4s);
  var found = 0u;
  // The switch outside the loops: inside, a CPU driver ran every case's load for every vec4 (7x slower).
  switch tensor {
    case 0u: { for (var i = start; i < end; i += WG) { found += bad_lanes(x0[i], i, n); } }
    case 1u: { for (var i = start; i < end; i += WG) { found += bad_lanes(x1[i], i, n); } }
    case 2u: { for (var i = start; i < end; i += WG) { found += bad_lanes(x2[i], i, n); } }
    case 3u: { for (var i = start; i < end; i += WG) { found += bad_lanes(x3[i], i, n); } }
    case 4u: { for (var i = start; i < end; i += WG) { found += bad_lanes(x4[i], i, n); } }
    case 5u: { for (var i = start; i < end; i += WG) { found += bad_lanes(x5[i], i, n); } }
    default: { for (var i = start; i < end; i += WG) { found += bad_lanes(x6[i], i, n); } }
  }
  if (found > 0u) {
    atomicAdd(&counts[span.slot], found);
  }
}
