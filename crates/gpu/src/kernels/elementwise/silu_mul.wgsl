// silu_mul: act = silu(gate) * up, the gated MLP activation (the CPU forward: gate.silu() * up).
// Shapes: gate, up, act [n] (flattened [T, I]). Bindings: 0 p (Count, ops/elementwise.rs), 1 gate,
// 2 up, 3 act. Needs lib/sigmoid.wgsl.

@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> act: array<f32>;

fn apply(i: u32) {
    let g = gate[i];
    act[i] = g * sigmoid(g) * up[i];
}
