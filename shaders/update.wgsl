// In-place optimizer-side updates, outside the tape: AdamW (torch.optim.AdamW), the teacher EMA, clamp.
// Flat kernels over vec4s, split into blocks as elementwise.wgsl describes: every tensor's range holds whole vec4s,
// so the last vec4 is updated whole, its lanes past the end being padding that nothing reads; each workgroup walks
// its block four vec4s a round per invocation.
// Every entry writes x (the parameters, the EMA target, the clamped tensor) at @binding(1); AdamW and EMA
// read src (the gradients, the EMA source) at @binding(2). The uniform block differs per entry; each starts
// with the vec4 count and the block size.
// AdamW runs over a chunk of the optimizer's flat buffers (src/tensor/flat.ts): every parameter of the chunk in one
// dispatch, each 256-byte slot reading its parameter's row of `hyper` through `slot_rows`. With EMA it also moves
// the EMA teacher (@binding(7), the same layout) toward the parameters before updating them: the teacher EMA and
// the optimizer step in one pass.

// What stays fixed over a run; the uniform block is cached, so a step allocates nothing.
struct AdamwParams {
  count: u32,
  block: u32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  momentum: f32,   // with EMA only: the teacher EMA's
  one_minus_momentum: f32,
}

struct EmaParams {
  count: u32,
  block: u32,
  momentum: f32,
  one_minus_momentum: f32,
}

struct ClampParams {
  count: u32,
  block: u32,
  lo: f32,
  hi: f32,
}

@group(0) @binding(0) var<uniform> adamw_p: AdamwParams;
@group(0) @binding(0) var<uniform> ema_p: EmaParams;
@group(0) @binding(0) var<uniform> clamp_p: ClampParams;
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> src: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> exp_avg: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq: array<vec4f>;
// What changes every step, one row of 4 per parameter, written by the host once per step for all parameters:
// (1 - lr * weight_decay, sqrt(1 - beta2^step), -lr / (1 - beta1^step), 1 if the parameter steps else 0), from
// float64 on the host. A parameter without a gradient does not step, as torch skips it.
@group(0) @binding(5) var<storage, read> hyper: array<vec4f>;
// The parameter (row of `hyper`) of each 256-byte slot of the chunk.
@group(0) @binding(6) var<storage, read> slot_rows: array<u32>;
@group(0) @binding(7) var<storage, read_write> teacher: array<vec4f>;

const WG: u32 = 64u;
const SLOT_VEC4S: u32 = 16u;
// AdamW with the teacher EMA; without it, `teacher` is bound to a stand-in and never touched.
override EMA = false;

// This invocation's first vec4 and the end of its workgroup's block.
fn span(count: u32, block: u32, lid: u32, wid: vec3u, nwg: vec3u) -> vec2u {
  let start = (wid.x + wid.y * nwg.x) * block;
  return vec2u(start + lid, min(start + block, count));
}

// torch 1.13 _single_tensor_adamw, operation for operation and rounding for rounding. Its vectorized CPU kernels
// fuse the two moment updates into FMAs (its scalar tail does not); fma() fuses where the GPU does (SwiftShader
// does not), so the moments agree with torch to an ulp of their terms either way.
//   param.mul_(1 - lr*wd); exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
//   denom = exp_avg_sq.sqrt() / sqrt(bc2) + eps; param.addcdiv_(exp_avg, denom, value=-lr/bc1)
fn adamw_at(i: u32, h: vec4f) {
  // The teacher moves toward the parameter before its step, as `ema` does with the same operations; the teachers
  // of parameters that do not step move too.
  // The parameter is read once for both: the compiler cannot tell that the teacher's store leaves it unchanged.
  let param = x[i];
  if (EMA) { teacher[i] = teacher[i] * adamw_p.momentum + adamw_p.one_minus_momentum * param; }
  if (h.w == 0.0) { return; }
  let decay = h.x;
  let sqrt_bc2 = h.y;
  let neg_step = h.z;
  let g = src[i];
  let m = fma(g, vec4f(adamw_p.one_minus_beta1), exp_avg[i] * adamw_p.beta1);
  let v = fma(adamw_p.one_minus_beta2 * g, g, exp_avg_sq[i] * adamw_p.beta2);
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denom = sqrt(v) / sqrt_bc2 + adamw_p.eps;
  x[i] = param * decay + (neg_step * m) / denom;
}

// The row of `hyper` of vec4 i's parameter.
fn hyper_of(i: u32) -> vec4f {
  return hyper[slot_rows[i / SLOT_VEC4S]];
}

// Neighbouring invocations take neighbouring vec4s, as a GPU's memory wants.
@compute @workgroup_size(WG)
fn adamw(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = span(adamw_p.count, adamw_p.block, lid, wid, nwg);
  var i = r.x;
  for (; i + 3u * WG < r.y; i += 4u * WG) {
    adamw_at(i, hyper_of(i));
    adamw_at(i + WG, hyper_of(i + WG));
    adamw_at(i + 2u * WG, hyper_of(i + 2u * WG));
    adamw_at(i + 3u * WG, hyper_of(i + 3u * WG));
  }
  for (; i < r.y; i += WG) { adamw_at(i, hyper_of(i)); }
}

// For CPU adapters, where every read is a lane's own gather anyway: each invocation takes whole slots (a block is a
// whole number of them), so a slot's parameter row of `hyper`, and the index behind it, is read once for its 16
// vec4s (3.56M parameters on SwiftShader: 75-80 -> 58-63 ms).
@compute @workgroup_size(WG)
fn adamw_slots(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = span(adamw_p.count, adamw_p.block, 0u, wid, nwg);
  for (var slot = r.x / SLOT_VEC4S + lid; slot * SLOT_VEC4S < r.y; slot += WG) {
    let h = hyper[slot_rows[slot]];
    let i = slot * SLOT_VEC4S;
    for (var j = 0u; j < SLOT_VEC4S; j += 4u) {
      adamw_at(i + j, h);
      adamw_at(i + j + 1u, h);
      adamw_at(i + j + 2u, h);
      adamw_at(i + j + 3u, h);
    }
  }
}

// target.mul_(m).add_((1 - m) * source), as the COSMOS training loop updates the teacher.
fn ema_at(i: u32) {
  x[i] = x[i] * ema_p.momentum + ema_p.one_minus_momentum * src[i];
}

@compute @workgroup_size(WG)
fn ema(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = span(ema_p.count, ema_p.block, lid, wid, nwg);
  var i = r.x;
  for (; i + 3u * WG < r.y; i += 4u * WG) {
    ema_at(i);
    ema_at(i + WG);
    ema_at(i + 2u * WG);
    ema_at(i + 3u * WG);
  }
  for (; i < r.y; i += WG) { ema_at(i); }
}

// Only ever given a few elements (the logit scales after each step): its loop is not unrolled.
@compute @workgroup_size(WG)
fn clamp_in_place(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = span(clamp_p.count, clamp_p.block, lid, wid, nwg);
  for (var i = r.x; i < r.y; i += WG) { x[i] = clamp(x[i], vec4f(clamp_p.lo), vec4f(clamp_p.hi)); }
}
