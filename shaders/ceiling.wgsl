// The adapter's arithmetic ceiling, for the benchmarks: f32 multiply-adds with no memory traffic at all, to set
// beside what the kernels reach. Each invocation runs six independent vec4 fma chains in registers and stores
// their sum once, so that no compiler can drop them (on SwiftShader one chain ran at a quarter of the rate of
// four to eight, which ran alike within this machine's noise: one leaves the FMA units waiting on its latency). a <- a m + c with m just under 1 converges to c / (1 - m) = 1:
// the values stay finite whatever the iteration count. Measured on SwiftShader: fma() runs about 1.7x as many
// FLOPs a second as the same chains written a * m + c, and writing eight steps out in each trip around the loop
// 1.9x as many as one step a trip (a CPU driver counts and branches per lane).

struct Params {
  iterations: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> sums: array<vec4f>;

fn eight_steps(a: vec4f, m: vec4f, c: vec4f) -> vec4f {
  return fma(fma(fma(fma(fma(fma(fma(fma(a, m, c), m, c), m, c), m, c), m, c), m, c), m, c), m, c);
}

@compute @workgroup_size(64)
fn fma_chains(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let x = f32(i & 1023u) * 1e-6;
  let m = vec4f(0.999 + x);
  let c = vec4f(1e-3);
  var a0 = vec4f(x);
  var a1 = vec4f(x + 0.1);
  var a2 = vec4f(x + 0.2);
  var a3 = vec4f(x + 0.3);
  var a4 = vec4f(x + 0.4);
  var a5 = vec4f(x + 0.5);
  // Eight steps of each chain per trip around the loop, so that the loop's own counting and branching (per lane,
  // on a CPU driver) costs little beside them.
  for (var k = 0u; k < p.iterations; k++) {
    a0 = eight_steps(a0, m, c);
    a1 = eight_steps(a1, m, c);
    a2 = eight_steps(a2, m, c);
    a3 = eight_steps(a3, m, c);
    a4 = eight_steps(a4, m, c);
    a5 = eight_steps(a5, m, c);
  }
  sums[i] = a0 + a1 + a2 + a3 + a4 + a5;
}
