// In-place optimizer-side updates, outside the tape: AdamW (torch.optim.AdamW), the teacher EMA, clamp.
// Each invocation handles 4 consecutive elements (see elementwise.wgsl); workgroups are laid out over x and y
// (see grid1d) and the flat index is rebuilt from both.
// Every entry writes x (the parameter, the EMA target, the clamped tensor) at @binding(1); AdamW and EMA
// read src (the gradient, the EMA source) at @binding(2). The uniform block differs per entry.

// What stays fixed over a run; the uniform block is cached, so a step allocates nothing.
struct AdamwParams {
  n: u32,
  row: u32,        // this parameter's row of `hyper`
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
}

struct EmaParams {
  n: u32,
  momentum: f32,
  one_minus_momentum: f32,
}

struct ClampParams {
  n: u32,
  lo: f32,
  hi: f32,
}

@group(0) @binding(0) var<uniform> adamw_p: AdamwParams;
@group(0) @binding(0) var<uniform> ema_p: EmaParams;
@group(0) @binding(0) var<uniform> clamp_p: ClampParams;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq: array<f32>;
// What changes every step, one row of 4 per parameter, written by the host once per step for all parameters:
// (1 - lr * weight_decay, sqrt(1 - beta2^step), -lr / (1 - beta1^step), unused), from float64 on the host.
@group(0) @binding(5) var<storage, read> hyper: array<vec4f>;

const WG: u32 = 64u;
const PER_THREAD: u32 = 4u;

fn first(gid: vec3u, nwg: vec3u) -> u32 {
  return (gid.x + gid.y * nwg.x * WG) * PER_THREAD;
}

// torch 1.13 _single_tensor_adamw, operation for operation and rounding for rounding. Its vectorized CPU kernels
// fuse the two moment updates into FMAs (its scalar tail does not); fma() fuses where the GPU does (SwiftShader
// does not), so the moments agree with torch to an ulp of their terms either way.
//   param.mul_(1 - lr*wd); exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
//   denom = exp_avg_sq.sqrt() / sqrt(bc2) + eps; param.addcdiv_(exp_avg, denom, value=-lr/bc1)
@compute @workgroup_size(WG)
fn adamw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  let h = hyper[adamw_p.row];
  let decay = h.x;
  let sqrt_bc2 = h.y;
  let neg_step = h.z;
  for (var i = i0; i < min(i0 + PER_THREAD, adamw_p.n); i++) {
    let g = src[i];
    let m = fma(g, adamw_p.one_minus_beta1, exp_avg[i] * adamw_p.beta1);
    let v = fma(adamw_p.one_minus_beta2 * g, g, exp_avg_sq[i] * adamw_p.beta2);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    let denom = sqrt(v) / sqrt_bc2 + adamw_p.eps;
    x[i] = x[i] * decay + (neg_step * m) / denom;
  }
}

// target.mul_(m).add_((1 - m) * source), as the COSMOS training loop updates the teacher.
@compute @workgroup_size(WG)
fn ema(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, ema_p.n); i++) {
    x[i] = x[i] * ema_p.momentum + ema_p.one_minus_momentum * src[i];
  }
}

@compute @workgroup_size(WG)
fn clamp_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  for (var i = i0; i < min(i0 + PER_THREAD, clamp_p.n); i++) {
    x[i] = clamp(x[i], clamp_p.lo, clamp_p.hi);
  }
}
