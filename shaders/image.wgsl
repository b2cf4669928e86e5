// Image resampling. Bicubic resize of planes [planes, H, W] -> [planes, out_h, out_w] as PyTorch's
// F.interpolate(mode='bicubic', align_corners=False): output i reads source coordinate scale * (i + 0.5) - 0.5
// (scale = 1 / scale_factor when one is given, else in / out), cubic convolution with A = -0.75 over the 4
// nearest source indices, clamped at the borders. The steps follow PyTorch's CPU kernel (f32 coordinates, rows
// interpolated along x first, then along y) so that results agree to rounding.
//
// Each invocation takes one output (or input, for backward) pixel of 4 consecutive planes: the weights are
// computed once for all 4. Workgroups are laid out over x and y (see grid1d).

struct Params {
  planes: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_h: f32,  // source step per output step, rows
  scale_w: f32,  // same, columns
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const WG: u32 = 64u;
const PLANES_PER_INVOCATION: u32 = 4u;
const A: f32 = -0.75;

// Cubic convolution weight at distance x in [0, 1] and in [1, 2]: PyTorch's polynomials (A + 2)x^3 - (A + 3)x^2 + 1
// and A(x^3 - 5x^2 + 8x - 4), in factored form. PyTorch's Horner form cancels terms near 3 down to weights near
// 1e-3 and so carries ~2e-7 of rounding in each weight; the factored form is accurate to an ulp or two.
fn cubic_near(x: f32) -> f32 {
  return (x - 1.0) * ((A + 2.0) * x * x - x - 1.0);
}

fn cubic_far(x: f32) -> f32 {
  return A * (x - 1.0) * (x - 2.0) * (x - 2.0);
}

// The 4 taps of output index o: source indices first .. first + 3 (before clamping) and their weights.
struct Taps {
  first: i32,
  w: vec4f,
}

fn taps(o: u32, scale: f32) -> Taps {
  let real = scale * (f32(o) + 0.5) - 0.5;
  let whole = floor(real);
  let t = real - whole;
  let u = 1.0 - t;
  return Taps(i32(whole) - 1, vec4f(cubic_far(t + 1.0), cubic_near(t), cubic_near(u), cubic_far(u + 1.0)));
}

fn clamped(i: i32, n: u32) -> u32 {
  return u32(clamp(i, 0, i32(n) - 1));
}

fn flat(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn bicubic(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let out_hw = p.out_h * p.out_w;
  let i = flat(gid, nwg);
  let plane0 = (i / out_hw) * PLANES_PER_INVOCATION;
  if (plane0 >= p.planes) { return; }
  let oy = (i % out_hw) / p.out_w;
  let ox = i % p.out_w;
  let ty = taps(oy, p.scale_h);
  let tx = taps(ox, p.scale_w);
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var j = 0; j < 4; j++) {
    rows[j] = clamped(ty.first + j, p.in_h) * p.in_w;
    cols[j] = clamped(tx.first + j, p.in_w);
  }
  let in_hw = p.in_h * p.in_w;
  for (var plane = plane0; plane < min(plane0 + PLANES_PER_INVOCATION, p.planes); plane++) {
    let base = plane * in_hw;
    var acc = 0.0;
    for (var j = 0; j < 4; j++) {
      let r = base + rows[j];
      let row = src[r + cols[0]] * tx.w[0] + src[r + cols[1]] * tx.w[1]
              + src[r + cols[2]] * tx.w[2] + src[r + cols[3]] * tx.w[3];
      acc += row * ty.w[j];
    }
    dst[plane * out_hw + i % out_hw] = acc;
  }
}

// The weight output o gives input index `at` along one axis: the sum of its taps that clamp onto `at`.
fn weight_onto(o: u32, at: u32, scale: f32, n: u32) -> f32 {
  let tp = taps(o, scale);
  var w = 0.0;
  for (var j = 0; j < 4; j++) {
    if (clamped(tp.first + j, n) == at) { w += tp.w[j]; }
  }
  return w;
}

// Backward: src = gradient [planes, out_h, out_w], dst = gradient [planes, in_h, in_w]. Each input pixel
// gathers the outputs that read it (no atomics, same sum every run). It scans every output row and, for the
// few rows that read it, every output column: fine for positional-embedding grids, not meant for large images.
@compute @workgroup_size(WG)
fn bicubic_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let in_hw = p.in_h * p.in_w;
  let i = flat(gid, nwg);
  let plane0 = (i / in_hw) * PLANES_PER_INVOCATION;
  if (plane0 >= p.planes) { return; }
  let y = (i % in_hw) / p.in_w;
  let x = i % p.in_w;
  let out_hw = p.out_h * p.out_w;
  let count = min(PLANES_PER_INVOCATION, p.planes - plane0);
  var acc = vec4f(0.0);
  for (var oy = 0u; oy < p.out_h; oy++) {
    let wy = weight_onto(oy, y, p.scale_h, p.in_h);
    if (wy == 0.0) { continue; }
    for (var ox = 0u; ox < p.out_w; ox++) {
      let w = wy * weight_onto(ox, x, p.scale_w, p.in_w);
      if (w == 0.0) { continue; }
      for (var q = 0u; q < count; q++) { acc[q] += w * src[(plane0 + q) * out_hw + oy * p.out_w + ox]; }
    }
  }
  for (var q = 0u; q < count; q++) { dst[(plane0 + q) * in_hw + i % in_hw] = acc[q]; }
}
