//! The hand-written backward pass of one sequence, down to the gradient at every
//! projection's output (dY) next to that projection's input (X).
//!
//! Why by hand: candle's autograd also forms the gradient of every weight matrix it meets
//! (a weight-sized tensor per projection), which is exactly what per-example gradients of
//! an 8B model cannot afford; and the same steps are ported to WGSL next. It costs about one
//! forward pass (activation gradients only) and is checked against candle's autograd and
//! finite differences in the tests.

use candle_core::{DType, Device, Tensor, D};

use super::forward::ModelActs;
use super::fused::{softmax_backward, swiglu_backward};
use super::model::Model;
use super::ops::{rotate_half_t, softmax_last};
use crate::error::Result;
use crate::grad::{activation_bytes, segments, targets, ProjSink, Target, TokenExample};
use crate::model::{rope_tables, Proj};

/// Gradient of RMSNorm `y = w * x * inv` given dL/dy; `inv` = 1/rms [T, 1].
fn rms_norm_backward(x: &Tensor, inv: &Tensor, w: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let g = dy.broadcast_mul(w)?;
    let h = x.dim(D::Minus1)? as f64;
    let dot = (g.mul(x)?.sum_keepdim(D::Minus1)? / h)?;
    let coef = inv.powf(3.0)?.mul(&dot)?;
    Ok(g.broadcast_mul(inv)?.sub(&x.broadcast_mul(&coef)?)?)
}

/// Each example's mean cross-entropy and the gradient of their sum with respect to the
/// final hidden states [T, H]. Since packed examples do not see each other, the rows of an
/// example hold exactly the gradient of its own loss. Softmax and loss in f64 on the host.
fn loss_and_grad(model: &Model, hidden: &Tensor, targets: &[Target], k: usize) -> Result<(Vec<f64>, Tensor)> {
    let dev = Device::Cpu;
    let idx = Tensor::new(targets.iter().map(|t| t.pos as u32).collect::<Vec<_>>().as_slice(), &dev)?;
    let logits = model.logits_exact(&hidden.index_select(&idx, 0)?)?.to_dtype(DType::F64)?;
    let mut d = softmax_last(&logits)?.to_vec2::<f64>()?;
    drop(logits);
    let mut losses = vec![0.0; k];
    for (row, t) in d.iter_mut().zip(targets) {
        let label = t.label as usize;
        losses[t.example] -= row[label].max(f64::MIN_POSITIVE).ln() * t.weight;
        row[label] -= 1.0;
        row.iter_mut().for_each(|v| *v *= t.weight);
    }
    let vocab = d[0].len();
    let d = Tensor::from_vec(d.concat(), (targets.len(), vocab), &dev)?.to_dtype(hidden.dtype())?;
    let d_rows = model.weights.output().backward_input(&d)?;
    let dh = hidden.zeros_like()?.index_add(&idx, &d_rows, 0)?;
    Ok((losses, dh))
}

/// Runs the forward and backward pass of a pack of examples (concatenated on the token
/// axis, each attending only to itself) and hands every projection's packed (X, dY) to
/// `sink`; `segments` says which rows belong to which example. Returns each example's loss
/// (mean cross-entropy over its counted answer tokens). `first_index` numbers the examples
/// in errors: one with no counted answer token has no gradient, one longer than the
/// context cannot run. Where keeping every layer's activations would take more than
/// `activation_limit` bytes (`grad::activation_bytes`), only each layer's input is kept and
/// the rest computed again on the way back (`ModelActs::checkpoint`).
pub fn backward(
    model: &Model,
    first_index: usize,
    examples: &[TokenExample],
    excluded: &[u32],
    activation_limit: Option<u64>,
    sink: &mut ProjSink<'_>,
) -> Result<Vec<f64>> {
    let c = model.config();
    let starts = segments(examples);
    // Positions on the packed token axis.
    let targets: Vec<Target> = targets(examples, excluded, first_index, c.max_position_embeddings)?
        .into_iter()
        .map(|t| Target { pos: starts[t.example].0 + t.pos, ..t })
        .collect();
    let ids: Vec<u32> = examples.iter().flat_map(|e| e.ids.iter().copied()).collect();
    let lens: Vec<usize> = examples.iter().map(|e| e.ids.len()).collect();
    let t = ids.len();
    let answers = examples.iter().map(TokenExample::answer_len).sum();
    let checkpoint = activation_limit.is_some_and(|b| activation_bytes(model.estimate(), t, answers) > b);
    let mut acts = ModelActs { checkpoint, ..ModelActs::default() };
    let hidden = model.forward_packed(&ids, &lens, Some(&mut acts), None)?;
    let (losses, dh) = loss_and_grad(model, &hidden, &targets, examples.len())?;
    drop(hidden);

    let w = &model.weights;
    let final_in = acts.final_in.take().expect("recorded");
    let mut dx = rms_norm_backward(&final_in, acts.final_inv.as_ref().expect("recorded"), &w.norm, &dh)?;
    drop((dh, final_in));

    let (nh, nkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
    let g = nh / nkv;
    let scale = 1.0 / (hd as f64).sqrt();
    let (cos, sin) = rope_tables(&acts.positions, &c.rope_inv_freq(), w.dtype())?;
    // Transpose of the rotation y = x cos + rot(x) sin, applied per head: [heads, T, hd].
    let unrope =
        |dy: &Tensor| -> Result<Tensor> { Ok((dy.broadcast_mul(&cos)? + rotate_half_t(&dy.broadcast_mul(&sin)?)?)?) };

    for l in (0..c.num_layers).rev() {
        let a = model.layer_acts(&acts, l)?;
        let lw = &w.layers[l];
        // MLP. Each gradient is dropped once used, so a layer holds few [T, I] and
        // [heads, T, T] tensors at a time (`grad::packs` counts them).
        sink(l, Proj::Down, &a.act, &dx)?;
        let (d_gate, d_up) = swiglu_backward(&a.gate, &a.up, &lw.w(Proj::Down).backward_input(&dx)?)?;
        sink(l, Proj::Gate, &a.h2, &d_gate)?;
        sink(l, Proj::Up, &a.h2, &d_up)?;
        let d_h2_gate = lw.w(Proj::Gate).backward_input(&d_gate)?;
        drop(d_gate);
        let dh2 = (d_h2_gate + lw.w(Proj::Up).backward_input(&d_up)?)?;
        drop(d_up);
        let dx_mid = (&dx + rms_norm_backward(&a.x_mid, &a.inv2, &lw.post_norm, &dh2)?)?;
        drop(dh2);

        // Attention. Query heads of one KV head are stacked on the row axis, as in the
        // forward pass, so the sums over each group fall out of the matmuls.
        sink(l, Proj::O, &a.attn, &dx_mid)?;
        let d_o = lw.w(Proj::O).backward_input(&dx_mid)?.reshape((t, nh, hd))?.transpose(0, 1)?.contiguous()?;
        let d_og = d_o.reshape((nkv, g * t, hd))?;
        let pg = a.probs.reshape((nkv, g * t, t))?;
        let qg = a.q.reshape((nkv, g * t, hd))?;
        let d_v = pg.t()?.matmul(&d_og)?;
        let (d_q, d_k) = {
            let d_s = {
                let d_p = d_og.matmul(&a.v.t()?)?;
                let row = d_p.mul(&pg)?.sum_keepdim(D::Minus1)?;
                softmax_backward(&pg, &d_p, &row, scale)?
            };
            (d_s.matmul(&a.k)?.reshape((nh, t, hd))?, d_s.t()?.matmul(&qg)?)
        };
        let heads_to_rows = |x: Tensor, heads: usize| -> Result<Tensor> {
            Ok(x.transpose(0, 1)?.contiguous()?.reshape((t, heads * hd))?)
        };
        let dy_q = heads_to_rows(unrope(&d_q)?, nh)?;
        let dy_k = heads_to_rows(unrope(&d_k)?, nkv)?;
        let dy_v = heads_to_rows(d_v, nkv)?;
        sink(l, Proj::Q, &a.h1, &dy_q)?;
        sink(l, Proj::K, &a.h1, &dy_k)?;
        sink(l, Proj::V, &a.h1, &dy_v)?;
        if l == 0 {
            break; // nothing below layer 0 has a LoRA adapter
        }
        let dh1 = (lw.w(Proj::Q).backward_input(&dy_q)?
            + lw.w(Proj::K).backward_input(&dy_k)?
            + lw.w(Proj::V).backward_input(&dy_v)?)?;
        dx = (dx_mid + rms_norm_backward(&a.x_in, &a.inv1, &lw.input_norm, &dh1)?)?;
    }
    Ok(losses)
}
