//! The backward pass on the GPU, step for step the CPU's `backend/cpu/backward.rs`: loss on the
//! counted answer tokens, then down through the layers, handing every projection's input X
//! and output gradient dY to a handler (LoRA-B gradients or the exact variant's factors).
//!
//! Examples run as one left-padded batch (each row sees only itself). Padding rows get no
//! loss, and masked keys have probability 0, so no gradient reaches or leaves them.

use labelcast_gpu::{Gpu, Tensor};

use super::forward::{GpuCache, Recorded};
use super::GpuBackend;
use crate::error::Result;
use crate::grad::{targets, TokenExample};
use crate::model::Proj;

/// What to do with each projection's (X [B*t, in], dY [B*t, out]).
#[allow(async_fn_in_trait)]
pub(crate) trait ProjHandler {
    /// Records GPU work for one projection (no read-back).
    fn record(&mut self, gpu: &Gpu, l: usize, p: Proj, x: &Tensor, dy: &Tensor) -> Result<()>;
    /// Called after each layer: reads back what was recorded, so memory stays one layer deep.
    async fn flush(&mut self, gpu: &Gpu) -> Result<()>;
}

/// A padded batch: `t` columns, `pad[b]` padding columns on the left of row b.
pub(crate) struct Batch {
    pub t: usize,
    pub pad: Vec<usize>,
}

impl GpuBackend {
    /// Forward and backward of `examples` as one padded batch; returns each example's loss.
    pub(crate) async fn backward<H: ProjHandler>(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        handler: &mut H,
    ) -> Result<(Batch, Vec<f64>)> {
        let c = &self.config;
        let g = &self.gpu;
        let b = examples.len();
        let t = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let pad: Vec<usize> = examples.iter().map(|e| t - e.ids.len()).collect();
        let targets = targets(examples, excluded, first_index, c.max_position_embeddings)?;
        // Rows of the padded [B*t] token axis that predict a counted answer token.
        let rows: Vec<usize> = targets.iter().map(|x| x.example * t + pad[x.example] + x.pos).collect();
        let labels: Vec<u32> = targets.iter().map(|x| x.label).collect();
        let weights: Vec<f32> = targets.iter().map(|x| x.weight as f32).collect();
        let mut ids = Vec::with_capacity(b * t);
        for (ex, &p) in examples.iter().zip(&pad) {
            ids.extend(std::iter::repeat_n(0u32, p));
            ids.extend_from_slice(&ex.ids);
        }
        let mut cache = GpuCache::new(pad.clone());
        let mut rec = Recorded::new();
        let hidden = self.forward(&ids, &mut cache, Some(&mut rec))?;

        // Loss and dL/dhidden on the counted rows only (a [rows, vocab] block, not [B*t, vocab]).
        let n = rows.len();
        let sel = g.gather_rows(&hidden, &rows)?;
        let logits = g.linear_q(&sel, self.w.output(), None)?;
        let (loss_rows, dlogits) =
            g.cross_entropy(&logits, &g.upload_u32(&labels, &[n])?, &g.upload_f32(&weights, &[n])?)?;
        let d_rows = g.linear_q_backward(&dlogits, self.w.output())?;
        let dh = g.scatter_rows(&d_rows, &rows, b * t)?;
        let final_in = rec.final_in.take().expect("recorded");
        let final_inv = rec.final_inv.take().expect("recorded");
        let mut dx = g.rms_norm_backward(&dh, &final_in, &final_inv, &self.w.norm)?;
        let (cos, sin) = (rec.cos.take().expect("recorded"), rec.sin.take().expect("recorded"));
        let (nh, nkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let scale = 1.0 / (hd as f32).sqrt();

        for l in (0..c.num_layers).rev() {
            let a = rec.layers.pop().expect("one record per layer");
            let lw = &self.w.layers[l];
            let w = |p: Proj| &lw.proj[p.index()];
            // MLP.
            handler.record(g, l, Proj::Down, &a.act, &dx)?;
            let d_act = g.linear_q_backward(&dx, w(Proj::Down))?;
            let (d_gate, d_up) = g.silu_mul_backward(&d_act, &a.gate, &a.up)?;
            handler.record(g, l, Proj::Gate, &a.h2, &d_gate)?;
            handler.record(g, l, Proj::Up, &a.h2, &d_up)?;
            let dh2 = g.linear_q_backward(&d_gate, w(Proj::Gate))?;
            g.linear_q_backward_into(&d_up, w(Proj::Up), &dh2, true)?;
            let dx_mid = g.rms_norm_backward(&dh2, &a.x_mid, &a.inv2, &lw.post_norm)?;
            g.add_into(&dx_mid, &dx)?;
            // Attention.
            handler.record(g, l, Proj::O, &a.attn, &dx_mid)?;
            let d_o = g.linear_q_backward(&dx_mid, w(Proj::O))?;
            let (dq, dk, dv) = g.attention_backward(&d_o, &a.q, &cache.k[l], &cache.v[l], &a.probs, nh, nkv, scale)?;
            let dy_q = g.rope(&dq, &cos, &sin, nh, true)?;
            let dy_k = g.rope(&dk, &cos, &sin, nkv, true)?;
            handler.record(g, l, Proj::Q, &a.h1, &dy_q)?;
            handler.record(g, l, Proj::K, &a.h1, &dy_k)?;
            handler.record(g, l, Proj::V, &a.h1, &dv)?;
            if l > 0 {
                // Nothing below layer 0 has an adapter.
                let dh1 = g.linear_q_backward(&dy_q, w(Proj::Q))?;
                g.linear_q_backward_into(&dy_k, w(Proj::K), &dh1, true)?;
                g.linear_q_backward_into(&dv, w(Proj::V), &dh1, true)?;
                dx = g.rms_norm_backward(&dh1, &a.x_in, &a.inv1, &lw.input_norm)?;
                g.add_into(&dx, &dx_mid)?;
            }
            handler.flush(g).await?;
        }
        let per_row = g.read_f32(&loss_rows).await?;
        let mut losses = vec![0f64; b];
        for (v, x) in per_row.iter().zip(&targets) {
            losses[x.example] += *v as f64;
        }
        Ok((Batch { t, pad }, losses))
    }
}

/// Splits examples into consecutive padded batches of at most `budget` tokens
/// (rows × longest row); an example longer than the budget runs alone.
pub(crate) fn batches(examples: &[TokenExample], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut longest) = (0, 0);
    for (i, e) in examples.iter().enumerate() {
        let l = longest.max(e.ids.len());
        if i > start && l * (i + 1 - start) > budget {
            out.push(start..i);
            start = i;
            longest = e.ids.len();
        } else {
            longest = l;
        }
    }
    if start < examples.len() {
        out.push(start..examples.len());
    }
    out
}

/// Rows of example `b` in a padded batch, without its padding.
pub(crate) fn example_rows(batch: &Batch, b: usize) -> std::ops::Range<usize> {
    b * batch.t + batch.pad[b]..(b + 1) * batch.t
}
