//! Elementwise steps of the hand-written backward pass in one pass over their inputs. Written
//! as chains of candle ops, each step made a tensor of the full size ([T, I] for the MLP,
//! [heads, T, T] for attention), and up to five of them were alive at once: the largest part of
//! the backward's memory after the recorded activations (`grad::packs` counts what is left).
//! Each value is computed with the same operations in the same order as those candle ops
//! (`exp`, `1 / x`, `x * m + a`, `*`, `-`), so the results are the same bits.

use candle_core::{DType, Device, Tensor, WithDType};

use crate::error::{EngineError, Result};

/// The float types the backward runs in: f32, and f64 for the gradient checks.
trait Float:
    WithDType
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Neg<Output = Self>
{
    fn exp(self) -> Self;
}

impl Float for f32 {
    fn exp(self) -> Self {
        f32::exp(self)
    }
}

impl Float for f64 {
    fn exp(self) -> Self {
        f64::exp(self)
    }
}

/// Runs `f` on the values of contiguous CPU tensors of one dtype.
fn with_values<T: Float, R>(ts: &[&Tensor], f: impl FnOnce(&[&[T]]) -> R) -> Result<R> {
    let guards: Vec<_> = ts.iter().map(|t| t.storage_and_layout()).collect();
    let mut slices = Vec::with_capacity(ts.len());
    for (storage, layout) in &guards {
        let candle_core::Storage::Cpu(cpu) = &**storage else {
            return Err(EngineError::Invalid("a fused CPU step was given a tensor off the CPU".into()));
        };
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| EngineError::Invalid("a fused CPU step was given a strided tensor".into()))?;
        slices.push(&cpu.as_slice::<T>()?[start..end]);
    }
    Ok(f(&slices))
}

fn same_shape(a: &Tensor, b: &Tensor, what: &str) -> Result<()> {
    if a.dims() != b.dims() || a.dtype() != b.dtype() {
        return Err(EngineError::Invalid(format!(
            "{what}: {:?} {:?} against {:?} {:?}",
            a.dims(),
            a.dtype(),
            b.dims(),
            b.dtype()
        )));
    }
    Ok(())
}

/// The SiLU-gated MLP's elementwise backward: for act = silu(gate) · up and its gradient
/// `d_act`, returns (d_gate, d_up) = (d_act · up · silu'(gate), d_act · silu(gate)), where
/// σ = 1 / (exp(−g) + 1), silu = g σ and silu' = σ (g (1 − σ) + 1). (`x * one + one` and
/// `sig * -one + one` are candle's `+ 1.0` and `1.0 - x`, affine maps.)
pub fn swiglu_backward(gate: &Tensor, up: &Tensor, d_act: &Tensor) -> Result<(Tensor, Tensor)> {
    same_shape(gate, up, "swiglu_backward")?;
    same_shape(gate, d_act, "swiglu_backward")?;
    fn run<T: Float>(gate: &Tensor, up: &Tensor, d_act: &Tensor) -> Result<(Tensor, Tensor)> {
        let (dg, du) = with_values::<T, _>(&[&gate.contiguous()?, &up.contiguous()?, &d_act.contiguous()?], |v| {
            let (g, u, d) = (v[0], v[1], v[2]);
            let (mut dg, mut du) = (Vec::with_capacity(g.len()), Vec::with_capacity(g.len()));
            let one = T::from_f64(1.0);
            for k in 0..g.len() {
                let sig = one / ((-g[k]).exp() * one + one);
                let silu = g[k] * sig;
                let dsilu = sig * (g[k] * (sig * -one + one) * one + one);
                dg.push(d[k] * u[k] * dsilu);
                du.push(d[k] * silu);
            }
            (dg, du)
        })?;
        Ok((Tensor::from_vec(dg, gate.shape(), &Device::Cpu)?, Tensor::from_vec(du, gate.shape(), &Device::Cpu)?))
    }
    match gate.dtype() {
        DType::F32 => run::<f32>(gate, up, d_act),
        DType::F64 => run::<f64>(gate, up, d_act),
        other => Err(EngineError::Invalid(format!("swiglu_backward: {other:?}"))),
    }
}

/// Softmax's backward with the attention scale: for probabilities `p` [.., n] and the
/// gradient `d_p` at them, p (d_p − Σ_j d_p p) · scale, the row sums given as `row` [.., 1].
pub fn softmax_backward(p: &Tensor, d_p: &Tensor, row: &Tensor, scale: f64) -> Result<Tensor> {
    same_shape(p, d_p, "softmax_backward")?;
    let n = p.dims().last().copied().unwrap_or(1).max(1);
    if row.elem_count() * n != p.elem_count() {
        return Err(EngineError::Invalid(format!("softmax_backward: rows {:?} for {:?}", row.dims(), p.dims())));
    }
    fn run<T: Float>(p: &Tensor, d_p: &Tensor, row: &Tensor, n: usize, scale: T) -> Result<Tensor> {
        let out = with_values::<T, _>(&[&p.contiguous()?, &d_p.contiguous()?, &row.contiguous()?], |v| {
            let (p, d, row) = (v[0], v[1], v[2]);
            // `* scale` was candle's affine: x · scale + 0.
            (0..p.len()).map(|k| p[k] * (d[k] - row[k / n]) * scale + T::zero()).collect::<Vec<T>>()
        })?;
        Ok(Tensor::from_vec(out, p.shape(), &Device::Cpu)?)
    }
    match p.dtype() {
        DType::F32 => run::<f32>(p, d_p, row, n, scale as f32),
        DType::F64 => run::<f64>(p, d_p, row, n, scale),
        other => Err(EngineError::Invalid(format!("softmax_backward: {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::D;

    fn random(shape: &[usize], seed: u64, dtype: DType) -> Tensor {
        let mut r = labelcast_core::rng::Rng::new(seed);
        let n = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|_| 3.0 * r.normal()).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
    }

    fn bits(t: &Tensor) -> Vec<u64> {
        let v = t.flatten_all().unwrap().to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The candle op chains the backward used before, bit for bit, in f32 and f64.
    #[test]
    fn fused_steps_give_the_bits_of_the_candle_ops() {
        for dtype in [DType::F32, DType::F64] {
            let (gate, up, d_act) =
                (random(&[37, 53], 1, dtype), random(&[37, 53], 2, dtype), random(&[37, 53], 3, dtype));
            let sig =
                Tensor::ones_like(&gate).unwrap().broadcast_div(&(gate.neg().unwrap().exp().unwrap() + 1.0).unwrap());
            let sig = sig.unwrap();
            let silu = gate.mul(&sig).unwrap();
            let dsilu = sig.mul(&(gate.mul(&(1.0 - &sig).unwrap()).unwrap() + 1.0).unwrap()).unwrap();
            let (dg, du) = swiglu_backward(&gate, &up, &d_act).unwrap();
            assert_eq!(bits(&dg), bits(&d_act.mul(&up).unwrap().mul(&dsilu).unwrap()), "{dtype:?}");
            assert_eq!(bits(&du), bits(&d_act.mul(&silu).unwrap()), "{dtype:?}");

            let p = crate::backend::cpu::ops::softmax_last(&random(&[3, 11, 17], 4, dtype)).unwrap();
            let d_p = random(&[3, 11, 17], 5, dtype);
            let row = d_p.mul(&p).unwrap().sum_keepdim(D::Minus1).unwrap();
            let scale = 1.0 / 8f64.sqrt();
            let want = (p.mul(&d_p.broadcast_sub(&row).unwrap()).unwrap() * scale).unwrap();
            assert_eq!(bits(&softmax_backward(&p, &d_p, &row, scale).unwrap()), bits(&want), "{dtype:?}");
        }
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let (a, b) = (random(&[2, 3], 1, DType::F32), random(&[3, 2], 2, DType::F32));
        assert!(swiglu_backward(&a, &a, &b).is_err());
        assert!(softmax_backward(&a, &a, &random(&[3, 1], 3, DType::F32), 1.0).is_err());
    }
}
