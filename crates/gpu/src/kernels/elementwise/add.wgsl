// add: out = a + b (residual connections). Shapes: a, b, out [n] (any shape, flattened).
// Bindings: 0 p (Count, ops/elementwise.rs), 1 a, 2 b, 3 out.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn apply(i: u32) {
    out[i] = a[i] + b[i];
}
