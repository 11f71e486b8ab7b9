//! The backward pass on the GPU, step for step the CPU's `backend/cpu/backward.rs`: loss on the
//! counted answer tokens, then down through the layers, handing every projection's input X
//! and output gradient dY to a handler (LoRA-B gradients or the exact variant's factors).
//!
//! Examples run as one left-padded batch (each row sees only itself). Padding rows get no
//! loss, and masked keys have probability 0, so no gradient reaches or leaves them.

use labelcast_gpu::{Gpu, Tensor};

use labelcast_modelfile::ModelConfig;

use super::forward::{GpuCache, Recorded, SPARE_COLUMNS};
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
        checkpoint: bool,
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
        let mut rec = Recorded::new(checkpoint);
        let hidden = self.forward(&ids, &mut cache, Some(&mut rec))?;

        let (dh, loss_blocks) = self.loss(&hidden, &rows, &labels, &weights)?;
        let final_in = rec.final_in.take().expect("recorded");
        let final_inv = rec.final_inv.take().expect("recorded");
        let mut dx = g.rms_norm_backward(&dh, &final_in, &final_inv, &self.w.norm)?;
        let step = rec.step.take().expect("recorded");
        let (nh, nkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let scale = 1.0 / (hd as f32).sqrt();

        for l in (0..c.num_layers).rev() {
            let a = self.layer_rec(l, &mut rec, &step, &cache)?;
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
            let dy_q = g.rope(&dq, &step.cos, &step.sin, nh, true)?;
            let dy_k = g.rope(&dk, &step.cos, &step.sin, nkv, true)?;
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
        let mut per_row = Vec::with_capacity(rows.len());
        for block in &loss_blocks {
            per_row.extend(g.read_f32(block).await?);
        }
        let mut losses = vec![0f64; b];
        for (v, x) in per_row.iter().zip(&targets) {
            losses[x.example] += *v as f64;
        }
        Ok((Batch { t, pad }, losses))
    }
}

impl GpuBackend {
    /// The loss and dL/dhidden [B*t, H] on the counted `rows` of `hidden` only ([rows, vocab]
    /// logits, not [B*t, vocab]), a block of rows at a time within the largest binding: 512
    /// answer tokens of Qwen2.5-14B's 152,064-token vocabulary are 311 MB of logits, where
    /// lavapipe binds 128 MiB. The blocks' rows are disjoint, so each row gets what one block
    /// would give it, up to the kernel its block's size picks (matvec for at most
    /// `MATVEC_MAX_ROWS` rows: float rounding). Returns each block's per-row losses.
    fn loss(&self, hidden: &Tensor, rows: &[usize], labels: &[u32], weights: &[f32]) -> Result<(Tensor, Vec<Tensor>)> {
        let g = &self.gpu;
        let (bt, h) = (hidden.shape()[0], self.config.hidden_size);
        let row_bytes = 4 * self.config.vocab_size as u64;
        let per_block = (self.loss_block_bytes.min(g.max_binding()) / row_bytes).max(1) as usize;
        let mut dh: Option<Tensor> = None;
        let mut losses = Vec::new();
        for start in (0..rows.len()).step_by(per_block) {
            let r = start..(start + per_block).min(rows.len());
            let n = r.len();
            let logits = g.linear_q(&g.gather_rows(hidden, &rows[r.clone()])?, self.w.output(), None)?;
            let (loss_rows, dlogits) = g.cross_entropy(
                &logits,
                &g.upload_u32(&labels[r.clone()], &[n])?,
                &g.upload_f32(&weights[r.clone()], &[n])?,
            )?;
            let d = g.scatter_rows(&g.linear_q_backward(&dlogits, self.w.output())?, &rows[r], bt)?;
            match &dh {
                Some(sum) => g.add_into(sum, &d)?,
                None => dh = Some(d),
            }
            losses.push(loss_rows);
        }
        let dh = match dh {
            Some(d) => d,
            None => g.zeros(&[bt, h], labelcast_gpu::DType::F32)?,
        };
        Ok((dh, losses))
    }
}

/// Splits examples into consecutive padded batches of at most `budget` tokens (rows ×
/// longest row) for which `fits(rows, longest row, answer tokens)` holds; an example over
/// either bound runs alone.
pub(crate) fn batches(
    examples: &[TokenExample],
    budget: usize,
    fits: impl Fn(usize, usize, usize) -> bool,
) -> Vec<std::ops::Range<usize>> {
    crate::grad::packs::consecutive(examples, |s| {
        let longest = s.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        longest * s.len() <= budget && fits(s.len(), longest, s.iter().map(TokenExample::answer_len).sum())
    })
}

/// What a padded batch of `rows` rows of `t` tokens, `answers` of them in the loss, takes of
/// GPU memory at the backward pass's peak, in bytes (f32): every layer's `LayerRec` (eleven
/// token-wide tensors and each row's attention probabilities) and one layer's more for the
/// backward's own gradients, or with `checkpoint` two layers' and each layer's input; every
/// layer's keys and values; the mask, the final norm's input and gradient; the logits of the
/// answer tokens and their gradient (at most: a large vocabulary's come in blocks within the
/// binding limit, `GpuBackend::loss`). The pool rounds each buffer up by at most an eighth.
pub fn gpu_batch_bytes(c: &ModelConfig, rows: usize, t: usize, answers: usize, checkpoint: bool) -> u64 {
    let (b, t, n) = (rows as u64, t as u64, answers as u64);
    let tokens = b * t;
    let (h, l) = (c.hidden_size as u64, c.num_layers as u64);
    let per_token = 4 * h + 2 * c.q_dim() as u64 + 3 * c.intermediate_size as u64 + 2;
    let per_layer = tokens * per_token + c.num_heads as u64 * b * t * t;
    let (layers, inputs) = if checkpoint { (2, l * tokens * h) } else { (l + 1, 0) };
    let kv = l * 2 * b * c.kv_dim() as u64 * (t + SPARE_COLUMNS as u64);
    let floats = layers * per_layer + inputs + kv + b * t * t + 2 * tokens * h + 2 * n * (c.vocab_size as u64 + h);
    4 * floats
}

/// Rows of example `b` in a padded batch, without its padding.
pub(crate) fn example_rows(batch: &Batch, b: usize) -> std::ops::Range<usize> {
    b * batch.t + batch.pad[b]..(b + 1) * batch.t
}

#[cfg(test)]
mod tests {
    use super::super::gpu_coslow_bytes;
    use super::*;
    use crate::grad::packs::tests::ex;
    use crate::grad::LoraOptions;
    use labelcast_modelfile::synth::config;

    #[test]
    fn batches_stop_at_the_padded_tokens_or_the_bytes() {
        let examples: Vec<_> = [10, 30, 20, 20, 40].iter().map(|&n| ex(n, 5)).collect();
        let any = |_: usize, _: usize, _: usize| true;
        // Padded: 10 and 30 take 2 × 30; a third of 20 keeps 3 × 30 = 90.
        assert_eq!(batches(&examples, 90, any), vec![0..3, 3..5]);
        assert_eq!(batches(&examples, 1, any), (0..5).map(|i| i..i + 1).collect::<Vec<_>>());
        // At most 10 answer tokens a batch: pairs, whatever the tokens allow.
        assert_eq!(batches(&examples, 1000, |_, _, a| a <= 10), vec![0..2, 2..4, 4..5]);
        // Told the shape it would hold: rows and the longest row so far.
        assert_eq!(batches(&examples, 1000, |rows, t, _| rows * t <= 60), vec![0..2, 2..4, 4..5]);
        assert!(batches(&[], 512, any).is_empty());
    }

    #[test]
    fn wide_models_compute_each_layer_again_within_the_default() {
        let default = 2u64 << 30;
        let small = config("smollm2-135m-instruct").unwrap();
        assert!(gpu_batch_bytes(&small, 1, 512, 512, false) < 1 << 30, "SmolLM2 keeps every layer");
        for m in ["llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3", "qwen2.5-14b-instruct"] {
            let c = config(m).unwrap();
            for (rows, t) in [(1, 512), (16, 32)] {
                let (kept, again) = (gpu_batch_bytes(&c, rows, t, 128, false), gpu_batch_bytes(&c, rows, t, 128, true));
                assert!(kept > 2 * default, "{m} {rows}×{t}: {kept}");
                assert!(again < 1_500_000_000, "{m} {rows}×{t}: {again}");
                // Each layer's input stays: layers × tokens × hidden floats.
                assert!(again > 4 * (c.num_layers * rows * t * c.hidden_size) as u64);
            }
        }
        // What a page states beside the weights for CoS-Low of 32: SmolLM2's whole gradients
        // (9,953,280 floats each) and every layer of a batch; the 8B's sketched to the default
        // budget (16 Mi floats) and its layers computed again, well within a 16 GB GPU.
        let opts = |pack_bytes| LoraOptions { pack_bytes, ..LoraOptions::default() };
        let smol = gpu_coslow_bytes(&small, 32, &opts(Some(default)));
        assert_eq!(smol, 4 * 9_953_280 * 32 + gpu_batch_bytes(&small, 1, 512, 512, false));
        let big = config("llama-3.1-8b-instruct").unwrap();
        let eight = gpu_coslow_bytes(&big, 32, &opts(Some(default)));
        assert_eq!(eight, 4 * (16 << 20) * 32 + gpu_batch_bytes(&big, 1, 512, 512, true));
        assert!(eight < 4 << 30, "{eight}");
        assert!(gpu_coslow_bytes(&big, 32, &opts(None)) > eight + (4 << 30), "every layer kept");
        assert_eq!(gpu_coslow_bytes(&big, 32, &opts(Some(1 << 20))), 4 * (16 << 20) * 32 + (1 << 20));
        // One row attends over all 512 tokens, 16 rows of 32 over 32 each.
        let c = config("qwen2.5-14b-instruct").unwrap();
        assert!(gpu_batch_bytes(&c, 1, 512, 0, false) > gpu_batch_bytes(&c, 16, 32, 0, false));
    }
}
