// scale: dst *= s, in place. Shapes: dst [n]. Bindings: 0 p (Scale, ops/elementwise.rs), 1 dst.

@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

fn apply(i: u32) {
    dst[i] = dst[i] * p.s;
}
