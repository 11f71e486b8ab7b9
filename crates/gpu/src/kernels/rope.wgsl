// rope: rotary position embedding, Hugging Face's rotate_half convention, per head.
//   forward (inverse = 0): y = x ⊙ cos + rotate_half(x) ⊙ sin,    rotate_half(z) = [-z2, z1]
//   inverse (inverse = 1): y = x ⊙ cos + rotate_half_t(x ⊙ sin),  rotate_half_t(z) = [z2, -z1]
// The inverse is the transpose of the forward map (the backward pass of RoPE, applied to a
// gradient); since the rotation is orthogonal it also undoes the forward.
//
// Shapes: x, y [rows, heads * hd]; cos, sin [rows, hd] laid out cat(freqs, freqs), shared
// by every head of a row. Bindings: 0 p (RopeParams, ops/rope.rs), 1 x, 2 cos, 3 sin, 4 y.
// One thread per element of y (lib/per_element.wgsl).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cos_t: array<f32>;
@group(0) @binding(3) var<storage, read> sin_t: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn apply(i: u32) {
    let row = i / (p.heads * p.hd);
    let d = i % p.hd;
    let half = p.hd / 2u;
    let t = row * p.hd;
    // The partner element of the same head: the other half, same frequency.
    var pd = d + half;
    var sign = -1.0;
    if (d >= half) {
        pd = d - half;
        sign = 1.0;
    }
    let partner = x[i - d + pd];
    if (p.inverse == 0u) {
        y[i] = x[i] * cos_t[t + d] + sign * partner * sin_t[t + d];
    } else {
        y[i] = x[i] * cos_t[t + d] - sign * partner * sin_t[t + pd];
    }
}
