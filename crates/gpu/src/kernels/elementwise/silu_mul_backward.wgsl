// silu_mul_backward: gradients of act = silu(gate) * up, as the CPU backward computes them:
//   sig = σ(gate), silu = gate · sig, dsilu = sig · (1 + gate · (1 − sig)),
//   d_gate = d_act · up · dsilu, d_up = d_act · silu.
// Shapes: d_act, gate, up, d_gate, d_up [n] (flattened [T, I]).
// Bindings: 0 p (Count, ops/elementwise.rs), 1 d_act, 2 gate, 3 up, 4 d_gate, 5 d_up. Needs
// lib/sigmoid.wgsl.

@group(0) @binding(1) var<storage, read> d_act: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_gate: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_up: array<f32>;

fn apply(i: u32) {
    let g = gate[i];
    let d = d_act[i];
    let sig = sigmoid(g);
    let dsilu = sig * (1.0 + g * (1.0 - sig));
    d_gate[i] = d * up[i] * dsilu;
    d_up[i] = d * (g * sig);
}
