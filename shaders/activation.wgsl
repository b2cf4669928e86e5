// Elementwise activations: exact GELU (x * Phi(x), as torch.nn.GELU(approximate='none')), exp, and QuickGELU.
// Flat kernels over vec4s, split into blocks as elementwise.wgsl describes (every tensor's buffer holds whole vec4s; the lanes of the
// last vec4 past the end are padding that nothing reads), four vec4s a round per invocation.
//
// Every entry binds x, g, out; the forward entries bind x as g too, and ignore it there.

struct Params {
  count: u32,  // vec4s
  block: u32,  // vec4s per workgroup
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> g: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;

const WG: u32 = 64u;
const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;

const GELU_FORWARD: u32 = 0u;
const GELU_BACKWARD: u32 = 1u;
const EXP_FORWARD: u32 = 2u;
const QUICK_GELU_FORWARD: u32 = 3u;
const QUICK_GELU_BACKWARD: u32 = 4u;
// QuickGELU (OpenAI's CLIP, OpenCLIP's quick_gelu): y = x * s, s = sigmoid(1.702 x).
const QUICK_GELU_SCALE: f32 = 1.702;

// WGSL has no erf. Two fits (Chebyshev least squares against mpmath's erf, erfc):
//   |z| < 1:  erf(z) = z * Q(z^2): fit error 4e-8 relative, <= 1.6e-7 evaluated in f32;
//   z >= 1:   erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2): the form of Numerical Recipes' erfcc, refit
//             on z >= 1 only. Fit error 2e-8 relative; in f32 the rounding of the argument -z^2 dominates,
//             about 4e-7 relative for z < 2, growing like z^2 * 2^-24 beyond (absolute error below 1e-9).
fn erf_small(z: vec4f) -> vec4f {
  let u = z * z;
  return z * (1.128379127 + u * (-0.3761234978 + u * (0.1128036441 + u * (-0.02671638510
    + u * (0.004923277665 + u * -0.0005654105860)))));
}

// Past z = 10, erfc is below the smallest f32; clamping keeps -z^2 finite (WGSL does not promise infinities).
fn erfc_tail(z_in: vec4f) -> vec4f {
  let z = min(z_in, vec4f(10.0));
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.265512145 + t * (1.000005760 + t * (0.3747485634 + t * (0.08757533662 + t * (-0.1218367057
    + t * (0.02604181301 + t * (-0.5531823851 + t * (0.7076048603 + t * -0.2566617346)))))));
  return t * exp(-z * z + poly);
}

// Phi(x), the standard normal CDF. For x < -sqrt(2) it is 0.5 * erfc(|z|), which keeps full relative precision
// in the tail, where 0.5 * (1 + erf(z)) would cancel to nothing. Both fits are evaluated and each lane picks its
// own: branching per lane would run both anyway wherever a SIMD group's lanes disagree.
fn normal_cdf(v: vec4f) -> vec4f {
  let z = v * SQRT1_2;
  let tail = 0.5 * erfc_tail(abs(z));
  return select(select(1.0 - tail, tail, z < vec4f(0.0)), 0.5 + 0.5 * erf_small(z), abs(z) < vec4f(1.0));
}

// (s, 1 - s) of QuickGELU without cancellation on either side: formed from e = exp(-|1.702 x|) <= 1, so nothing
// overflows whatever x (WGSL does not promise infinities).
struct QuickSigmoid {
  s: vec4f,
  one_minus_s: vec4f,
}

fn quick_sigmoid(v: vec4f) -> QuickSigmoid {
  let z = QUICK_GELU_SCALE * v;
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  let positive = z >= vec4f(0.0);
  return QuickSigmoid(select(e * r, r, positive), select(r, e * r, positive));
}

// The new value of out[i]. Each entry passes its op as a constant, which the compiler folds.
fn value(op: u32, i: u32) -> vec4f {
  let v = x[i];
  switch op {
    case GELU_FORWARD: { return v * normal_cdf(v); }
    // dx = g * (Phi(x) + x * phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    case GELU_BACKWARD: {
      let a = min(abs(v), vec4f(20.0));  // exp(-200) is 0 in f32 already; the clamp keeps v * v finite
      let pdf = INV_SQRT_2PI * exp(-0.5 * a * a);
      return g[i] * (normal_cdf(v) + v * pdf);
    }
    case QUICK_GELU_FORWARD: { return v * quick_sigmoid(v).s; }
    // dx = g * (s + 1.702 x s (1 - s))
    case QUICK_GELU_BACKWARD: {
      let q = quick_sigmoid(v);
      return g[i] * (q.s + QUICK_GELU_SCALE * v * q.s * q.one_minus_s);
    }
    default: { return exp(v); }  // EXP_FORWARD
  }
}

fn activation(op: u32, lid: u32, wid: vec3u, nwg: vec3u) {
  let start = (wid.x + wid.y * nwg.x) * p.block;
  let end = min(start + p.block, p.count);
  var i = start + lid;
  for (; i + 3u * WG < end; i += 4u * WG) {
    out[i] = value(op, i);
    out[i + WG] = value(op, i + WG);
    out[i + 2u * WG] = value(op, i + 2u * WG);
    out[i + 3u * WG] = value(op, i + 3u * WG);
  }
  for (; i < end; i += WG) { out[i] = value(op, i); }
}

@compute @workgroup_size(WG)
fn gelu_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  activation(GELU_FORWARD, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn gelu_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  activation(GELU_BACKWARD, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn exp_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  activation(EXP_FORWARD, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn quick_gelu_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  activation(QUICK_GELU_FORWARD, lid, wid, nwg);
}

@compute @workgroup_size(WG)
fn quick_gelu_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  activation(QUICK_GELU_BACKWARD, lid, wid, nwg);
}
