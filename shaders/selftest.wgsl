// The GPU self-test the app runs once an adapter is found: y = a * x + y over n floats.

struct Params {
  n: u32,
  a: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn saxpy(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 2-D grid (see grid1d in src/gpu/runtime.ts): row-major over x then y.
  let i = id.y * groups.x * 64u + id.x;
  if (i < p.n) {
    y[i] = p.a * x[i] + y[i];
  }
}
