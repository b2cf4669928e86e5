// Elementwise activations: exact GELU (x * Phi(x), as torch.nn.GELU(approximate='none')) and exp. Each
// invocation handles 4 consecutive elements, over a grid laid out by grid1d.
//
// Bindings, in the order the host passes buffers:
//   gelu_forward, exp_forward:  x, y
//   gelu_backward:              x, grad, dx

struct Params {
  n: u32,  // element count
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

const WG: u32 = 64u;
const PER_THREAD: u32 = 4u;
const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;

fn first(gid: vec3u, nwg: vec3u) -> u32 {
  return (gid.x + gid.y * nwg.x * WG) * PER_THREAD;
}

// WGSL has no erf. Two fits (Chebyshev least squares against mpmath's erf, erfc):
//   |z| < 1:  erf(z) = z * Q(z^2): fit error 4e-8 relative, <= 1.6e-7 evaluated in f32;
//   z >= 1:   erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2): the form of Numerical Recipes' erfcc, refit
//             on z >= 1 only. Fit error 2e-8 relative; in f32 the rounding of the argument -z^2 dominates,
//             about 4e-7 relative for z < 2, growing like z^2 * 2^-24 beyond (absolute error below 1e-9).
fn erf_small(z: f32) -> f32 {
  let u = z * z;
  return z * (1.128379127 + u * (-0.3761234978 + u * (0.1128036441 + u * (-0.02671638510
    + u * (0.004923277665 + u * -0.0005654105860)))));
}

// Past z = 10, erfc is below the smallest f32; clamping keeps -z^2 finite (WGSL does not promise infinities).
fn erfc_tail(z_in: f32) -> f32 {
  let z = min(z_in, 10.0);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.265512145 + t * (1.000005760 + t * (0.3747485634 + t * (0.08757533662 + t * (-0.1218367057
    + t * (0.02604181301 + t * (-0.5531823851 + t * (0.7076048603 + t * -0.2566617346)))))));
  return t * exp(-z * z + poly);
}

// Phi(x), the standard normal CDF. For x < -sqrt(2) it is 0.5 * erfc(|z|), which keeps full relative precision
// in the tail, where 0.5 * (1 + erf(z)) would cancel to nothing.
fn normal_cdf(v: f32) -> f32 {
  let z = v * SQRT1_2;
  if (abs(z) < 1.0) { return 0.5 + 0.5 * erf_small(z); }
  let tail = 0.5 * erfc_tail(abs(z));
  return select(1.0 - tail, tail, z < 0.0);
}

@compute @workgroup_size(WG)
fn gelu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { y[i] = x[i] * normal_cdf(x[i]); }
}

// dx = g * (Phi(x) + x * phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
@compute @workgroup_size(WG)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) {
    let v = x[i];
    let a = min(abs(v), 20.0);  // exp(-200) is 0 in f32 already; the clamp keeps v * v finite
    let pdf = INV_SQRT_2PI * exp(-0.5 * a * a);
    dx[i] = grad[i] * (normal_cdf(v) + v * pdf);
  }
}

@compute @workgroup_size(WG)
fn exp_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { y[i] = exp(x[i]); }
}

// QuickGELU (OpenAI's CLIP, OpenCLIP's quick_gelu): y = x * s, s = sigmoid(1.702 x). The sigmoid is formed from
// e = exp(-|1.702 x|) <= 1, so nothing overflows whatever x (WGSL does not promise infinities), and so is 1 - s.
// Bindings as gelu_forward and gelu_backward.
const QUICK_GELU_SCALE: f32 = 1.702;

// (s, 1 - s) without cancellation on either side.
fn quick_sigmoid(v: f32) -> vec2f {
  let z = QUICK_GELU_SCALE * v;
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return select(vec2f(e * r, r), vec2f(r, e * r), z >= 0.0);
}

@compute @workgroup_size(WG)
fn quick_gelu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) { y[i] = x[i] * quick_sigmoid(x[i]).x; }
}

// dx = g * (s + 1.702 x s (1 - s))
@compute @workgroup_size(WG)
fn quick_gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, p.n); i++) {
    let s = quick_sigmoid(x[i]);
    dx[i] = grad[i] * (s.x + QUICK_GELU_SCALE * x[i] * s.x * s.y);
  }
}
