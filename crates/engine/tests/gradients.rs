//! Per-example gradients: the hand-written backward against candle's autograd and finite
//! differences (f64), the exact variant against autograd weight gradients, LoRA-B against
//! the exact variant's stored factors, the count-sketch, and CoS-Low end to end.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::*;
use labelcast_engine::backend::cpu::{backward, LoraLayer, Model};
use labelcast_engine::backend::{Backend, CpuBackend};
use labelcast_engine::coslow::coslow;
use labelcast_engine::grad::{
    activation_bytes, counted_positions, lora_grad_len, lora_offset, AdapterInit, ExactMethod, ExactStore, GradStore,
    GradVariant, LoraA, LoraOptions, Reduction, TokenExample,
};
use labelcast_engine::model::{KvCache, Matrix, Proj, Weights};
use labelcast_engine::EngineError;
use labelcast_modelfile::ModelConfig;

const EXCLUDED: [u32; 2] = [0, 5];

fn examples(c: &ModelConfig, k: usize) -> Vec<TokenExample> {
    (0..k)
        .map(|i| {
            let n = 6 + (i * 5) % 11;
            let mut ids = ids(100 + i as u64, n, c.vocab_size);
            ids[n - 2] = EXCLUDED[1]; // an excluded answer token, masked out of the loss
            TokenExample { ids, n_prompt: 2 + i % 4 }
        })
        .collect()
}

/// Mean cross-entropy over the counted answer tokens, as a candle graph.
fn graph_loss(model: &Model, ex: &TokenExample, lora: Option<&[LoraLayer]>) -> Tensor {
    let h = model.forward(&ex.ids, &mut KvCache::new(vec![0]), None, lora).unwrap();
    let pos = counted_positions(ex, &EXCLUDED);
    let dev = Device::Cpu;
    let idx = Tensor::new(pos.iter().map(|&t| t as u32).collect::<Vec<_>>().as_slice(), &dev).unwrap();
    let logits = model.logits(&h.index_select(&idx, 0).unwrap()).unwrap();
    let max = logits.max_keepdim(1).unwrap().detach();
    let lse =
        (logits.broadcast_sub(&max).unwrap().exp().unwrap().sum_keepdim(1).unwrap().log().unwrap() + max).unwrap();
    let labels: Vec<u32> = pos.iter().map(|&t| ex.ids[t + 1]).collect();
    let labels = Tensor::new(labels.as_slice(), &dev).unwrap().unsqueeze(1).unwrap();
    (lse - logits.gather(&labels, 1).unwrap()).unwrap().mean_all().unwrap()
}

fn lora_layers(a: &LoraA, c: &ModelConfig) -> (Vec<LoraLayer>, Vec<[Var; 7]>) {
    let mut layers = Vec::new();
    let mut vars = Vec::new();
    for l in 0..c.num_layers {
        let bs: [Var; 7] = Proj::ALL.map(|p| Var::zeros((p.shape(c).0, a.rank), DType::F64, &Device::Cpu).unwrap());
        layers.push(LoraLayer { a: a.a[l].clone(), b: bs.clone().map(|v| v.as_tensor().clone()), scale: a.scale });
        vars.push(bs);
    }
    (layers, vars)
}

/// Hand-written (X, dY) turned into LoRA-B gradients, per (layer, projection).
fn hand_lora(model: &Model, a: &LoraA, ex: &TokenExample) -> (f64, Vec<Vec<Vec<f64>>>) {
    let c = model.config();
    let mut out = vec![vec![Vec::new(); 7]; c.num_layers];
    let losses = backward(model, 0, std::slice::from_ref(ex), &EXCLUDED, None, &mut |l, p, x, dy| {
        out[l][p.index()] = flat(&a.grad_b(l, p, x, dy)?);
        Ok(())
    })
    .unwrap();
    (losses[0], out)
}

fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1e-30);
    max_abs_diff(got, want) / scale
}

#[test]
fn hand_backward_matches_autograd_lora_b_gradients() {
    // The sliding window and the scaled rotary frequencies must reach the backward pass too.
    for c in [llama(), qwen2(), windowed(), rope_scaled()] {
        let model = Model::new(Weights::random(&c, 21).unwrap().to_dtype(DType::F64).unwrap());
        let a = LoraA::seeded(&c, 4, 8.0, 3).unwrap().to_dtype(DType::F64).unwrap();
        let (layers, vars) = lora_layers(&a, &c);
        for ex in examples(&c, 3) {
            let loss = graph_loss(&model, &ex, Some(&layers));
            let grads = loss.backward().unwrap();
            let (hand_loss, hand) = hand_lora(&model, &a, &ex);
            assert!((hand_loss - loss.to_scalar::<f64>().unwrap()).abs() < 1e-12);
            for l in 0..c.num_layers {
                for p in Proj::ALL {
                    let want = flat(grads.get(vars[l][p.index()].as_tensor()).expect("B has a gradient"));
                    let err = rel_err(&hand[l][p.index()], &want);
                    assert!(err < 1e-9, "{:?} layer {l} {p:?}: relative error {err}", c.arch);
                    assert!(want.iter().any(|v| v.abs() > 1e-8), "{p:?}: zero gradient, test is vacuous");
                }
            }
        }
    }
}

#[test]
fn hand_backward_matches_finite_differences() {
    let c = qwen2();
    let model = Model::new(Weights::random(&c, 22).unwrap().to_dtype(DType::F64).unwrap());
    let a = LoraA::seeded(&c, 3, 6.0, 4).unwrap().to_dtype(DType::F64).unwrap();
    let ex = &examples(&c, 2)[1];
    let (_, hand) = hand_lora(&model, &a, ex);
    let h = 1e-5;
    for (l, p, i, j) in
        [(0, Proj::Q, 1, 2), (0, Proj::Down, 5, 0), (1, Proj::K, 3, 1), (1, Proj::Up, 7, 2), (1, Proj::O, 0, 0)]
    {
        let loss_at = |delta: f64| {
            let (mut layers, _) = lora_layers(&a, &c);
            let (out, r) = (p.shape(&c).0, a.rank);
            let mut b = vec![0f64; out * r];
            b[i * r + j] = delta;
            layers[l].b[p.index()] = Tensor::from_vec(b, (out, r), &Device::Cpu).unwrap();
            graph_loss(&model, ex, Some(&layers)).to_scalar::<f64>().unwrap()
        };
        let fd = (loss_at(h) - loss_at(-h)) / (2.0 * h);
        let got = hand[l][p.index()][i * a.rank + j];
        assert!((fd - got).abs() < 1e-7 * (1.0 + fd.abs()), "layer {l} {p:?} [{i},{j}]: fd {fd} vs hand {got}");
    }
}

/// The exact variant's inner products equal those of autograd's full weight gradients.
#[test]
fn exact_variant_matches_autograd_weight_gradients() {
    let c = llama();
    let base = Weights::random(&c, 23).unwrap().to_dtype(DType::F64).unwrap();
    let mut vw = base.clone();
    let mut vars = Vec::new();
    for lw in vw.layers.iter_mut() {
        let v: [Var; 7] = lw.proj.clone().map(|m| Var::from_tensor(&m.dense().unwrap()).unwrap());
        lw.proj = v.clone().map(|v| Matrix::Dense(v.as_tensor().clone()));
        vars.push(v);
    }
    let var_model = Model::new(vw);
    let exs = examples(&c, 4);
    let full: Vec<Vec<f64>> = exs
        .iter()
        .map(|ex| {
            let grads = graph_loss(&var_model, ex, None).backward().unwrap();
            vars.iter().flat_map(|v| v.iter().flat_map(|t| flat(grads.get(t.as_tensor()).unwrap()))).collect()
        })
        .collect();
    let want: Vec<f64> =
        full.iter().flat_map(|a| full.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>())).collect();
    let backend = CpuBackend::new(base);
    // All four examples in one pack: each must still get its own gradient.
    let mut store = ExactStore::new(c.num_layers);
    block_on(backend.exact_factors(0, &exs, &EXCLUDED, None, &mut store)).unwrap();
    assert_eq!(store.len(), 4);
    for m in [ExactMethod::TokenGram, ExactMethod::Chunked, ExactMethod::Auto] {
        let got: Vec<f64> = store.gram(m).unwrap().concat();
        let err = rel_err(&got, &want);
        assert!(err < 1e-10, "{m:?}: relative error {err}");
    }
}

/// The LoRA-B gradient handed out by the backend equals scale · dYᵀ (X Aᵀ) computed from the
/// exact variant's stored X and dY, block by block at its offset.
#[test]
fn lora_gradient_equals_formula_on_stored_factors() {
    let c = llama();
    let backend = CpuBackend::new(Weights::random(&c, 24).unwrap());
    let a = LoraA::seeded(&c, 5, 10.0, 7).unwrap();
    let exs = examples(&c, 3);
    // Packed together for the LoRA gradients, one by one for the stored factors. The pack
    // goes to rows 1..4 of the store (row 0 must stay empty).
    let len = lora_grad_len(&c, 5);
    let mut kept = GradStore::new(len, 4, Reduction::Exact);
    block_on(backend.lora_gradients(1, &exs, &EXCLUDED, None, &a, &mut kept)).unwrap();
    assert!(kept.row(0).iter().all(|&x| x == 0.0));
    let v: Vec<&[f32]> = (1..4).map(|i| kept.row(i)).collect();
    assert!(v.iter().all(|r| r.iter().any(|&x| x != 0.0)));
    let mut store = ExactStore::new(c.num_layers);
    for (i, ex) in exs.iter().enumerate() {
        block_on(backend.exact_factors(i, std::slice::from_ref(ex), &EXCLUDED, None, &mut store)).unwrap();
    }
    for (e, v) in v.iter().enumerate() {
        for l in 0..c.num_layers {
            for p in Proj::ALL {
                let (x, dy) = store.factors(e, l, p).unwrap();
                let xa = x.matmul(&a.a[l][p.index()].t().unwrap()).unwrap();
                let want = flat(&(dy.t().unwrap().matmul(&xa).unwrap() * a.scale).unwrap());
                let off = lora_offset(&c, 5, l, p);
                let got: Vec<f64> = v[off..off + want.len()].iter().map(|&x| x as f64).collect();
                assert!(rel_err(&got, &want) < 1e-5, "example {e} layer {l} {p:?}");
            }
        }
    }
}

/// A pack whose activations exceed the limit keeps only each layer's input and computes the
/// layer again on the way back: the same products in the same order, so the same bits, for
/// both variants and on both model families (Qwen2's q/k/v biases).
#[test]
fn computing_layers_again_gives_the_same_gradients_bit_for_bit() {
    for c in [llama(), qwen2()] {
        let backend = CpuBackend::new(Weights::random(&c, 26).unwrap());
        let a = LoraA::seeded(&c, 4, 8.0, 3).unwrap();
        let exs = examples(&c, 3);
        let tokens: usize = exs.iter().map(|e| e.ids.len()).sum();
        assert!(activation_bytes(backend.model.estimate(), tokens, tokens) > 1, "the limit below forces it");
        let len = lora_grad_len(&c, 4);
        let run = |limit: Option<u64>| {
            let mut kept = GradStore::new(len, 3, Reduction::Exact);
            let losses = block_on(backend.lora_gradients(0, &exs, &EXCLUDED, limit, &a, &mut kept)).unwrap();
            let mut store = ExactStore::new(c.num_layers);
            let exact = block_on(backend.exact_factors(0, &exs, &EXCLUDED, limit, &mut store)).unwrap();
            let rows: Vec<Vec<f32>> = (0..3).map(|i| kept.row(i).to_vec()).collect();
            let factors = store.factors(2, c.num_layers - 1, Proj::Q).map(|(x, dy)| (flat(x), flat(dy))).unwrap();
            (losses, exact, rows, factors)
        };
        assert_eq!(run(None), run(Some(1)));
    }
}

#[test]
fn sketch_is_exact_when_it_fits_and_unbiased_otherwise() {
    let mut r = labelcast_core::rng::Rng::new(5);
    let d = 3000;
    let a: Vec<f32> = (0..d).map(|_| r.normal() as f32).collect();
    let b: Vec<f32> = a.iter().map(|&x| 0.6 * x + 0.8 * r.normal() as f32).collect();
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum::<f64>();
    let (ab, aa, bb) = (dot(&a, &b), dot(&a, &a), dot(&b, &b));

    assert_eq!(Reduction::for_budget(d, d, 1), Reduction::Exact);
    let mut s = GradStore::new(d, 2, Reduction::Exact);
    s.add_block(0, 0, &a[..1000]);
    s.add_block(0, 1000, &a[1000..]);
    s.add_block(1, 0, &b);
    let g = s.gram().unwrap();
    assert!((g[0][1] - ab).abs() < 1e-3 && (g[0][0] - aa).abs() < 1e-3 && (g[1][1] - bb).abs() < 1e-3);

    let m = 100;
    let trials = 400;
    let est: Vec<f64> = (0..trials)
        .map(|seed| {
            let red = Reduction::for_budget(d, m, seed);
            assert_eq!(red, Reduction::Sketch { size: m, seed });
            let mut s = GradStore::new(d, 2, red);
            s.add_block(0, 0, &a);
            s.add_block(1, 0, &b);
            s.gram().unwrap()[0][1]
        })
        .collect();
    let mean = est.iter().sum::<f64>() / trials as f64;
    let var = est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (trials - 1) as f64;
    let sq = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (*p as f64 * *q as f64).powi(2)).sum::<f64>();
    let theory = (aa * bb + ab * ab - 2.0 * sq(&a, &b)) / m as f64;
    let se = (theory / trials as f64).sqrt();
    assert!((mean - ab).abs() < 4.0 * se, "biased: mean {mean} vs {ab} (se {se})");
    assert!((var / theory - 1.0).abs() < 0.25, "variance {var} vs documented {theory}");
}

#[test]
fn coslow_exact_variant_and_lora_with_saved_adapters() {
    let c = qwen2();
    let backend = CpuBackend::new(Weights::random(&c, 25).unwrap());
    let exs = examples(&c, 6);
    let mut seen = Vec::new();
    let opts = LoraOptions {
        rank: 4,
        alpha: 8.0,
        init: AdapterInit::Seeded(9),
        pack_tokens: 1, // one example at a time
        ..Default::default()
    };
    let r = block_on(coslow(&backend, &exs, &EXCLUDED, &opts, &mut |p| seen.push(p))).unwrap();
    // Packed runs (all six, or a few at a time) give the same gradients.
    // A byte budget that holds some examples in a pack but not all of them.
    let two = exs[0].ids.len() + exs[1].ids.len();
    let budget = activation_bytes(backend.model.estimate(), two, two);
    let by_bytes = labelcast_engine::grad::packs(backend.model.estimate(), &exs, 10_000, Some(budget)).len();
    assert!((2..6).contains(&by_bytes), "{by_bytes} packs");
    for (pack_tokens, pack_bytes) in [(30, None), (10_000, None), (10_000, Some(budget))] {
        let packed = LoraOptions { pack_tokens, pack_bytes, ..opts.clone() };
        let rp = block_on(coslow(&backend, &exs, &EXCLUDED, &packed, &mut |_| {})).unwrap();
        assert!(max_abs_diff(&rp.cosines.concat(), &r.cosines.concat()) < 1e-5);
        assert!(max_abs_diff(&rp.losses, &r.losses) < 1e-5);
    }
    assert_eq!((r.examples, r.pairs, r.cosines.len()), (6, 15, 6));
    assert_eq!(r.reduction, Some(Reduction::Exact));
    assert!(seen.len() == 7, "{seen:?}");
    let mut upper: Vec<f64> = (0..6).flat_map(|i| r.cosines[i][i + 1..].to_vec()).collect();
    upper.sort_by(f64::total_cmp);
    assert!((r.coslow - (upper[7])).abs() < 1e-12);

    // The same A, written with PEFT's names and read back, gives the same CoS-Low.
    let a = LoraA::seeded(&c, 4, 8.0, 9).unwrap();
    let mut map = std::collections::HashMap::new();
    for l in 0..c.num_layers {
        for p in Proj::ALL {
            map.insert(
                format!("base_model.model.model.layers.{l}.{}.lora_A.weight", p.module()),
                a.a[l][p.index()].clone(),
            );
        }
    }
    let path = std::env::temp_dir().join(format!("labelcast-lora-{}.safetensors", std::process::id()));
    candle_core::safetensors::save(&map, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let saved = LoraOptions { init: AdapterInit::Safetensors(bytes), ..opts.clone() };
    let r2 = block_on(coslow(&backend, &exs, &EXCLUDED, &saved, &mut |_| {})).unwrap();
    assert_eq!(r.cosines, r2.cosines);

    // A sketch far smaller than the gradient still lands near the exact cosines.
    let small = LoraOptions { budget: lora_grad_len(&c, 4) / 2, ..opts.clone() };
    let r3 = block_on(coslow(&backend, &exs, &EXCLUDED, &small, &mut |_| {})).unwrap();
    assert!(matches!(r3.reduction, Some(Reduction::Sketch { .. })));
    assert!(max_abs_diff(&r3.cosines.concat(), &r.cosines.concat()) < 0.2);
    // The same from a memory bound on all the kept gradients: each example gets its share.
    let k = exs.len();
    let bound = LoraOptions { store_bytes: Some(4 * k as u64 * (lora_grad_len(&c, 4) / 2) as u64), ..opts.clone() };
    let r5 = block_on(coslow(&backend, &exs, &EXCLUDED, &bound, &mut |_| {})).unwrap();
    assert_eq!(r5.reduction, r3.reduction);
    assert_eq!(r5.cosines, r3.cosines);
    let roomy = LoraOptions { store_bytes: Some(4 * k as u64 * lora_grad_len(&c, 4) as u64), ..opts.clone() };
    let r6 = block_on(coslow(&backend, &exs, &EXCLUDED, &roomy, &mut |_| {})).unwrap();
    assert_eq!((r6.reduction, &r6.cosines), (r.reduction, &r.cosines), "room for every gradient: exact");

    let exact = LoraOptions { variant: GradVariant::Exact, ..Default::default() };
    let r4 = block_on(coslow(&backend, &exs, &EXCLUDED, &exact, &mut |_| {})).unwrap();
    assert!(r4.reduction.is_none() && r4.coslow.abs() <= 1.0);
}

#[test]
fn example_without_counted_answer_token_is_an_error_naming_it() {
    let c = llama();
    let backend = CpuBackend::new(Weights::random(&c, 26).unwrap());
    let mut exs = examples(&c, 3);
    exs[2] = TokenExample { ids: vec![3, 4, 5, 0], n_prompt: 3 }; // only an excluded answer token
    let e = block_on(coslow(&backend, &exs, &EXCLUDED, &LoraOptions::default(), &mut |_| {})).unwrap_err();
    assert!(matches!(e, EngineError::NoAnswerTokens { example: 2 }), "{e}");
    assert!(e.to_string().starts_with("example 3:"), "{e}");
}
