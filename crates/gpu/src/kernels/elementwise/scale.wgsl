// scale: dst *= s, in place. Shapes: dst [n]. Bindings: 0 params, 1 dst.

struct Params {
    n: u32,
    s: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

fn apply(i: u32) {
    dst[i] = dst[i] * p.s;
}
