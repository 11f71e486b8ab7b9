//! The exact variant's memory check: the estimate equals what it really stores, and a budget
//! below it is refused before any gradient is computed.

mod common;

use common::*;
use labelcast_engine::backend::{Backend, CpuBackend};
use labelcast_engine::coslow::coslow;
use labelcast_engine::grad::{
    exact_bytes_needed, exact_floats_per_token, ExactMethod, ExactStore, GradVariant, LoraOptions, TokenExample,
};
use labelcast_engine::model::{Proj, Weights};
use labelcast_engine::EngineError;
use labelcast_modelfile::{Architecture, ModelConfig};

fn examples(c: &ModelConfig, k: usize) -> Vec<TokenExample> {
    (0..k).map(|i| TokenExample { ids: ids(200 + i as u64, 7 + 3 * i, c.vocab_size), n_prompt: 3 }).collect()
}

/// SmolLM2-135M's shapes: the "~1 MB per token" of the docs, by hand:
/// X 576 + 576 + 576 + 1536 and dY 576 + 192 + 192 + 576 + 1536 + 1536 + 576, × 30 layers.
#[test]
fn smollm2_keeps_about_one_megabyte_per_token() {
    let c = labelcast_modelfile::testing::smollm2_135m_config();
    assert_eq!(exact_floats_per_token(&c), 30 * (3264 + 5184));
    assert_eq!(exact_floats_per_token(&c) * 4, 1_013_760);
}

/// The per-token count is what the backend really stores: X once per distinct input (q/k/v
/// and gate/up share theirs), dY per projection.
#[test]
fn estimate_counts_exactly_the_stored_factors() {
    for c in [llama(), tiny(Architecture::Qwen2, 4, 1, true)] {
        let b = CpuBackend::new(Weights::random(&c, 7).unwrap());
        let exs = examples(&c, 3);
        let mut store = ExactStore::new(c.num_layers);
        block_on(b.exact_factors(0, &exs, &[], None, &mut store)).unwrap();
        let mut floats = 0;
        for (e, ex) in exs.iter().enumerate() {
            for l in 0..c.num_layers {
                for p in Proj::ALL {
                    let (x, dy) = store.factors(e, l, p).unwrap();
                    assert_eq!(x.dim(0).unwrap(), ex.ids.len());
                    floats += dy.elem_count();
                    if matches!(p, Proj::Q | Proj::O | Proj::Gate | Proj::Down) {
                        floats += x.elem_count();
                    }
                }
            }
        }
        let tokens: usize = exs.iter().map(|e| e.ids.len()).sum();
        assert_eq!(floats, tokens * exact_floats_per_token(&c));
        // The estimate adds the Gram step's temporaries on top.
        let need = exact_bytes_needed(&c, &exs, ExactMethod::TokenGram);
        assert_eq!(need, 4 * (floats as u128 + 3 * (tokens * tokens) as u128));
    }
}

#[test]
fn exact_variant_over_budget_is_refused_with_the_numbers() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 8).unwrap());
    let exs = examples(&c, 4);
    let need = exact_bytes_needed(&c, &exs, ExactMethod::Auto);
    // The smallest budget (floats per example) that fits, and one float less.
    let fits = need.div_ceil(4 * exs.len() as u128) as usize;
    let opts = |budget| LoraOptions { variant: GradVariant::Exact, budget, ..Default::default() };
    let e = block_on(coslow(&b, &exs, &[], &opts(fits - 1), &mut |_| {})).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, EngineError::Invalid(_)), "{e:?}");
    for part in [
        "exact gradient variant needs about",
        &format!("{} floats per example", fits - 1),
        "use the LoRA variant",
        "--budget",
        &format!("at least {fits} floats per example"),
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    let mut progressed = false;
    let _ = block_on(coslow(&b, &exs, &[], &opts(fits - 1), &mut |_| progressed = true));
    assert!(!progressed, "refused only after starting the gradients");
    let r = block_on(coslow(&b, &exs, &[], &opts(fits), &mut |_| {})).unwrap();
    assert_eq!(r.examples, 4);
    // The LoRA variant is not affected by the check (it sketches instead).
    let lora = LoraOptions { budget: 1000, ..Default::default() };
    assert!(block_on(coslow(&b, &exs, &[], &lora, &mut |_| {})).is_ok());
}
