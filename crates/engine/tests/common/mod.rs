//! Shared helpers for the engine's tests: tiny configurations, a blocking executor and a
//! naive reference forward pass written with plain loops (independent of candle).
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use candle_core::{DType, Tensor};
use labelcast_engine::model::{Proj, Weights};
use labelcast_modelfile::{Architecture, ModelConfig};

/// Runs a future that never waits (the CPU backend's) to completion.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

pub fn tiny(arch: Architecture, heads: usize, kv_heads: usize, tied: bool) -> ModelConfig {
    ModelConfig {
        arch,
        vocab_size: 61,
        hidden_size: 24,
        intermediate_size: 40,
        num_layers: 2,
        num_heads: heads,
        num_kv_heads: kv_heads,
        head_dim: 6,
        rope_theta: 10000.0,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 48,
        tie_word_embeddings: tied,
        rope_scaling: None,
        sliding_window: None,
    }
}

pub fn llama() -> ModelConfig {
    tiny(Architecture::Llama, 4, 2, false)
}

pub fn qwen2() -> ModelConfig {
    tiny(Architecture::Qwen2, 4, 2, true)
}

/// Llama with a 3-token sliding window (Mistral-style), shorter than the test sequences.
pub fn windowed() -> ModelConfig {
    ModelConfig { sliding_window: Some(3), ..llama() }
}

/// Qwen2 with "llama3" rope scaling: with head_dim 6 and theta 1e4 the wavelengths are
/// 2π·{1, 21.5, 464}; an original context of 256 (cut-offs 64 and 256) keeps the first,
/// interpolates the second and stretches the third.
pub fn rope_scaled() -> ModelConfig {
    ModelConfig {
        rope_scaling: Some(labelcast_modelfile::RopeScaling::Llama3 {
            factor: 4.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 256,
        }),
        ..qwen2()
    }
}

pub fn ids(seed: u64, n: usize, vocab: usize) -> Vec<u32> {
    let mut r = labelcast_core::rng::Rng::new(seed);
    (0..n).map(|_| r.below(vocab) as u32).collect()
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

pub fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

fn mat(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2().unwrap()
}

fn vecf(t: &Tensor) -> Vec<f64> {
    flat(t)
}

fn matvec(w: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    w.iter().map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}

fn rms(x: &[f64], w: &[f64], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let inv = 1.0 / (ms + eps).sqrt();
    x.iter().zip(w).map(|(v, g)| v * inv * g).collect()
}

/// `inv_freq` is the config's (checked against hand-computed values in labelcast-modelfile).
fn rope(x: &mut [f64], pos: usize, inv_freq: &[f64]) {
    let d = x.len();
    let half = d / 2;
    let orig = x.to_vec();
    for i in 0..d {
        let f = inv_freq[i % half];
        let (s, c) = (pos as f64 * f).sin_cos();
        let rot = if i < half { -orig[i + half] } else { orig[i - half] };
        x[i] = orig[i] * c + rot * s;
    }
}

/// Logits [T][vocab] of one sequence, by the book: per token, per head, in f64 loops.
pub fn naive_logits(w: &Weights, ids: &[u32]) -> Vec<Vec<f64>> {
    let c = &w.config;
    let (nh, nkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
    let inv_freq = c.rope_inv_freq();
    let window = c.sliding_window.unwrap_or(usize::MAX);
    let emb = mat(&w.embed.dense().unwrap());
    let mut xs: Vec<Vec<f64>> = ids.iter().map(|&i| emb[i as usize].clone()).collect();
    for lw in &w.layers {
        let wq = |p: Proj| mat(&lw.w(p).dense().unwrap());
        let (q_w, k_w, v_w, o_w) = (wq(Proj::Q), wq(Proj::K), wq(Proj::V), wq(Proj::O));
        let (g_w, u_w, d_w) = (wq(Proj::Gate), wq(Proj::Up), wq(Proj::Down));
        let bias = lw.qkv_bias.as_ref().map(|b| [vecf(&b[0]), vecf(&b[1]), vecf(&b[2])]);
        let n1 = vecf(&lw.input_norm);
        let n2 = vecf(&lw.post_norm);
        let mut qs = Vec::new();
        let mut ks = Vec::new();
        let mut vs = Vec::new();
        for (t, x) in xs.iter().enumerate() {
            let h = rms(x, &n1, c.rms_norm_eps);
            let mut q = matvec(&q_w, &h);
            let mut k = matvec(&k_w, &h);
            let mut v = matvec(&v_w, &h);
            if let Some(b) = &bias {
                q.iter_mut().zip(&b[0]).for_each(|(a, b)| *a += b);
                k.iter_mut().zip(&b[1]).for_each(|(a, b)| *a += b);
                v.iter_mut().zip(&b[2]).for_each(|(a, b)| *a += b);
            }
            for hq in q.chunks_mut(hd) {
                rope(hq, t, &inv_freq);
            }
            for hk in k.chunks_mut(hd) {
                rope(hk, t, &inv_freq);
            }
            qs.push(q);
            ks.push(k);
            vs.push(v);
        }
        let mut out = Vec::new();
        for (t, x) in xs.iter().enumerate() {
            let mut attn = vec![0.0; nh * hd];
            for head in 0..nh {
                let kvh = head / (nh / nkv);
                let q = &qs[t][head * hd..(head + 1) * hd];
                // Keys t+1-window ..= t: the sliding window, when there is one.
                let first = (t + 1).saturating_sub(window);
                let scores: Vec<f64> = (first..=t)
                    .map(|s| {
                        let k = &ks[s][kvh * hd..(kvh + 1) * hd];
                        q.iter().zip(k).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for (s, p) in (first..=t).zip(&e) {
                    for d in 0..hd {
                        attn[head * hd + d] += p / z * vs[s][kvh * hd + d];
                    }
                }
            }
            let o = matvec(&o_w, &attn);
            let mid: Vec<f64> = x.iter().zip(&o).map(|(a, b)| a + b).collect();
            let h2 = rms(&mid, &n2, c.rms_norm_eps);
            let g = matvec(&g_w, &h2);
            let u = matvec(&u_w, &h2);
            let act: Vec<f64> = g.iter().zip(&u).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
            let d = matvec(&d_w, &act);
            out.push(mid.iter().zip(&d).map(|(a, b)| a + b).collect());
        }
        xs = out;
    }
    let norm = vecf(&w.norm);
    let head = mat(&w.output().dense().unwrap());
    xs.iter().map(|x| matvec(&head, &rms(x, &norm, c.rms_norm_eps))).collect()
}
