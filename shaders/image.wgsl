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

// ---------------------------------------------------------------------------------------------------------------
// Augmented views (src/cosmos/views/imageViews.ts): the pixel work of DINO-style multi-crop views, following
// torchvision 0.14's tensor functions. One dispatch per pipeline step covers a whole batch of one view index;
// each sample reads its own random choices (drawn on the host) from `samples`. Images are [batch, 3, size, size].

struct ViewParams {
  batch: u32,
  in_h: u32,   // source images, for view_crop_resize
  in_w: u32,
  size: u32,   // side of the square view
}

// One sample's choices; imageViews.ts writes the same 22 words in this order.
struct ViewSample {
  crop_x: u32,
  crop_y: u32,
  crop_w: u32,
  crop_h: u32,
  flip: u32,
  step_w: f32,       // crop_w / size, rounded to f32 as PyTorch does
  step_h: f32,
  jitter_ops: u32,   // op of jitter step k in bits 4k..4k+3: JITTER_* below
  brightness: f32,
  contrast: f32,
  saturation: f32,
  hue: f32,
  grayscale: u32,
  solarize: u32,
  blur_radius: u32,  // 0: no blur
  blur_w: array<f32, 7>,  // normalized Gaussian weights at distance 0 .. 6
}

const JITTER_BRIGHTNESS: u32 = 0u;
const JITTER_CONTRAST: u32 = 1u;
const JITTER_SATURATION: u32 = 2u;
const JITTER_HUE: u32 = 3u;

// torchvision's rgb_to_grayscale weights on tensors (0.2989, not PIL's 0.299).
const LUMA = vec3f(0.2989, 0.587, 0.114);
const CLIP_MEAN = vec3f(0.48145466, 0.4578275, 0.40821073);
const CLIP_STD = vec3f(0.26862954, 0.26130258, 0.27577711);
override JITTER_WG: u32 = 256u;

@group(0) @binding(0) var<uniform> vp: ViewParams;
@group(0) @binding(1) var<storage, read> samples: array<ViewSample>;
@group(0) @binding(2) var<storage, read> pixels_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> pixels_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> pixels: array<f32>;

var<workgroup> partial_sums: array<f32, JITTER_WG>;

// Summed in torchvision's order: (0.2989 r + 0.587 g) + 0.114 b.
fn gray(c: vec3f) -> f32 {
  return LUMA.x * c.x + LUMA.y * c.y + LUMA.z * c.z;
}

// Index of the red channel's value of pixel q of sample b in a [batch, 3, size, size] image; green and blue follow
// a plane (size^2) and two further on. Worked out once per pixel, from the sample the caller has already found:
// integer division is a loop over the lanes on CPU drivers.
fn red_at(b: u32, q: u32) -> u32 {
  return b * 3u * vp.size * vp.size + q;
}

fn load_rgb(red: u32) -> vec3f {
  let hw = vp.size * vp.size;
  return vec3f(pixels_in[red], pixels_in[red + hw], pixels_in[red + 2u * hw]);
}

fn store_rgb(red: u32, c: vec3f) {
  let hw = vp.size * vp.size;
  pixels_out[red] = c.r;
  pixels_out[red + hw] = c.g;
  pixels_out[red + 2u * hw] = c.b;
}

// RandomResizedCrop + RandomHorizontalFlip: F.resized_crop(img, y, x, h, w, size, BICUBIC, antialias=False), that
// is F.interpolate(crop, size, mode='bicubic', align_corners=False) with taps clamped to the crop box, then
// clamped to [0, 1] (as uint8 images would be), then mirrored. One output pixel (3 channels) per invocation.
@compute @workgroup_size(WG)
fn view_crop_resize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let hw = vp.size * vp.size;
  let b = i / hw;
  if (b >= vp.batch) { return; }
  let s = samples[b];
  let oy = (i % hw) / vp.size;
  var ox = i % vp.size;
  if (s.flip != 0u) { ox = vp.size - 1u - ox; }
  let ty = taps(oy, s.step_h);
  let tx = taps(ox, s.step_w);
  // Tap indices written out, not arrays indexed in a loop: CPU drivers keep those in memory.
  let rows = vec4u(clamped(ty.first, s.crop_h), clamped(ty.first + 1, s.crop_h), clamped(ty.first + 2, s.crop_h),
                   clamped(ty.first + 3, s.crop_h)) + s.crop_y;
  let cols = vec4u(clamped(tx.first, s.crop_w), clamped(tx.first + 1, s.crop_w), clamped(tx.first + 2, s.crop_w),
                   clamped(tx.first + 3, s.crop_w)) + s.crop_x;
  let in_hw = vp.in_h * vp.in_w;
  let at = rows * vp.in_w;
  let plane = b * 3u * in_hw;
  let rgb = vec3f(resampled(plane, at, cols, tx.w, ty.w), resampled(plane + in_hw, at, cols, tx.w, ty.w),
                  resampled(plane + 2u * in_hw, at, cols, tx.w, ty.w));
  store_rgb(red_at(b, i % hw), rgb);
}

// One channel's output pixel: 4 rows interpolated along x, then those along y, clamped to [0, 1].
fn resampled(plane: u32, at: vec4u, cols: vec4u, wx: vec4f, wy: vec4f) -> f32 {
  var acc = tap_row(plane + at.x, cols, wx) * wy.x;
  acc += tap_row(plane + at.y, cols, wx) * wy.y;
  acc += tap_row(plane + at.z, cols, wx) * wy.z;
  acc += tap_row(plane + at.w, cols, wx) * wy.w;
  return clamp(acc, 0.0, 1.0);
}

// One source row's 4 taps, interpolated along x.
fn tap_row(r: u32, cols: vec4u, w: vec4f) -> f32 {
  return pixels_in[r + cols.x] * w.x + pixels_in[r + cols.y] * w.y + pixels_in[r + cols.z] * w.z + pixels_in[r + cols.w] * w.w;
}

// torchvision's _blend: factor * img + (1 - factor) * other, clamped to [0, 1].
fn blend(c: vec3f, other: vec3f, factor: f32) -> vec3f {
  return clamp(factor * c + (1.0 - factor) * other, vec3f(0.0), vec3f(1.0));
}

// torchvision's _rgb2hsv (Pillow's formulas): hue in [0, 1), ties between max channels resolved r, then g.
fn rgb_to_hsv(c: vec3f) -> vec3f {
  let maxc = max(max(c.r, c.g), c.b);
  let minc = min(min(c.r, c.g), c.b);
  let eqc = maxc == minc;
  let cr = maxc - minc;
  let sat = cr / select(maxc, 1.0, eqc);
  let rgbc = (vec3f(maxc) - c) / select(cr, 1.0, eqc);
  var h: f32;
  if (maxc == c.r) {
    h = rgbc.b - rgbc.g;
  } else if (maxc == c.g) {
    h = 2.0 + rgbc.r - rgbc.b;
  } else {
    h = 4.0 + rgbc.g - rgbc.r;
  }
  h = h / 6.0 + 1.0;
  return vec3f(h - floor(h), sat, maxc);
}

// torchvision's _hsv2rgb.
fn hsv_to_rgb(hsv: vec3f) -> vec3f {
  let h6 = hsv.x * 6.0;
  let sector = floor(h6);
  let f = h6 - sector;
  let v = hsv.z;
  let p = clamp(v * (1.0 - hsv.y), 0.0, 1.0);
  let q = clamp(v * (1.0 - hsv.y * f), 0.0, 1.0);
  let t = clamp(v * (1.0 - hsv.y * (1.0 - f)), 0.0, 1.0);
  switch (u32(sector) % 6u) {
    case 0u: { return vec3f(v, t, p); }
    case 1u: { return vec3f(q, v, p); }
    case 2u: { return vec3f(p, v, t); }
    case 3u: { return vec3f(p, q, v); }
    case 4u: { return vec3f(t, p, v); }
    default: { return vec3f(v, p, q); }
  }
}

// adjust_hue: shift the hue by `factor`, wrapped to [0, 1) as torch's remainder does.
fn shift_hue(c: vec3f, factor: f32) -> vec3f {
  let hsv = rgb_to_hsv(c);
  let h = hsv.x + factor;
  return hsv_to_rgb(vec3f(h - floor(h), hsv.y, hsv.z));
}

fn load_pixel(red: u32) -> vec3f {
  let hw = vp.size * vp.size;
  return vec3f(pixels[red], pixels[red + hw], pixels[red + 2u * hw]);
}

// ColorJitter, in place: the four adjustments in each sample's random order, one workgroup per sample of
// JITTER_WG invocations (the host's choice: 256 on a GPU, one SIMD group of 4 on a CPU adapter). Each
// invocation owns the pixels lid, lid + JITTER_WG, ...: it reads only what it wrote, so the steps need no storage
// barrier. adjust_contrast blends toward the mean of the grayscale image as it stands at that step, summed in
// torchvision's grouping per invocation and then over the workgroup; every step reaches the barriers, so control
// flow around them stays uniform.
@compute @workgroup_size(JITTER_WG)
fn view_jitter(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let s = samples[b];
  let hw = vp.size * vp.size;
  for (var step = 0u; step < 4u; step++) {
    let op = (s.jitter_ops >> (4u * step)) & 15u;
    var acc = 0.0;
    if (op == JITTER_CONTRAST) {
      for (var q = lid; q < hw; q += JITTER_WG) { acc += gray(load_pixel(red_at(b, q))); }
    }
    partial_sums[lid] = acc;
    for (var stride = JITTER_WG / 2u; stride > 0u; stride /= 2u) {
      workgroupBarrier();
      if (lid < stride) { partial_sums[lid] += partial_sums[lid + stride]; }
    }
    workgroupBarrier();
    let mean = partial_sums[0] / f32(hw);
    workgroupBarrier(); // everyone has read the mean before the next step writes partial_sums
    if (op <= JITTER_HUE) {
      for (var q = lid; q < hw; q += JITTER_WG) {
        let red = red_at(b, q);
        var c = load_pixel(red);
        switch (op) {
          case JITTER_BRIGHTNESS: { c = clamp(s.brightness * c, vec3f(0.0), vec3f(1.0)); }
          case JITTER_CONTRAST: { c = blend(c, vec3f(mean), s.contrast); }
          case JITTER_SATURATION: { c = blend(c, vec3f(gray(c)), s.saturation); }
          default: { c = shift_hue(c, s.hue); }
        }
        pixels[red] = c.r;
        pixels[red + hw] = c.g;
        pixels[red + 2u * hw] = c.b;
      }
    }
  }
}

// Reflect padding (torch's 'reflect': the edge pixel is not repeated); the host keeps radius < size.
fn reflect_index(i: i32, n: u32) -> u32 {
  let last = i32(n) - 1;
  return u32(last - abs(last - abs(i)));
}

// Gaussian blur along x: the first of the two separable passes of F.gaussian_blur(img, k, sigma).
@compute @workgroup_size(WG)
fn view_blur_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let hw = vp.size * vp.size;
  let b = i / hw;
  if (b >= vp.batch) { return; }
  let s = samples[b];
  let red = red_at(b, i % hw);
  let x = i32(i % vp.size);
  let row = red - u32(x);
  var acc = s.blur_w[0] * load_rgb(red);
  for (var d = 1; d <= i32(s.blur_radius); d++) {
    acc += s.blur_w[d] * (load_rgb(row + reflect_index(x - d, vp.size)) + load_rgb(row + reflect_index(x + d, vp.size)));
  }
  store_rgb(red, acc);
}

// Gaussian blur along y, then RandomGrayscale (which commutes with the blur: both are linear), Solarization
// (threshold 0.5: x >= 0.5 -> 1 - x) and the CLIP normalization.
@compute @workgroup_size(WG)
fn view_blur_cols_finish(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let hw = vp.size * vp.size;
  let b = i / hw;
  if (b >= vp.batch) { return; }
  let s = samples[b];
  let red = red_at(b, i % hw);
  let column = red_at(b, i % vp.size);
  let y = i32((i % hw) / vp.size);
  var c = s.blur_w[0] * load_rgb(red);
  for (var d = 1; d <= i32(s.blur_radius); d++) {
    c += s.blur_w[d] * (load_rgb(column + reflect_index(y - d, vp.size) * vp.size)
                      + load_rgb(column + reflect_index(y + d, vp.size) * vp.size));
  }
  if (s.grayscale != 0u) { c = vec3f(gray(c)); }
  if (s.solarize != 0u) { c = select(c, 1.0 - c, c >= vec3f(0.5)); }
  store_rgb(red, (c - CLIP_MEAN) / CLIP_STD);
}
