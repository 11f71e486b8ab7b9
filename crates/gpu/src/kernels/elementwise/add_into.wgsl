// add_into: dst += src (gradient accumulation). An op of its own because one buffer cannot be
// bound both read-only and read-write in a dispatch. Shapes: dst, src [n].
// Bindings: 0 p (Count, ops/elementwise.rs), 1 dst, 2 src.

@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

fn apply(i: u32) {
    dst[i] = dst[i] + src[i];
}
