// σ(x), with exp of a non-positive argument only: WGSL leaves overflow to infinity undefined.
fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    let r = 1.0 / (1.0 + e);
    return select(e * r, r, x >= 0.0);
}
