//! Synthetic calibration runs for the suite's tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use labelcast_core::suite::{DrawRun, PoolStats, SuiteModel, SuiteResults, SuiteSettings, TaskRun, SUITE_FORMAT};

pub fn task(name: &str, coslow: &[f64], pool_conf: f64, auc: f64) -> TaskRun {
    let draws = coslow
        .iter()
        .enumerate()
        .map(|(d, &c)| DrawRun {
            seed: d as u64,
            rows: vec![],
            coslow: c,
            coslow_centered: -c,
            coslow_skip_first: None,
            mean_loss: 1.0 + d as f64,
            mean_answer_tokens: 2.0,
            mean_avg_confidence: 0.5,
            distinct_answers: 2,
            coslow_parts: None,
        })
        .collect();
    let mut paper_auc = BTreeMap::new();
    paper_auc.insert("llama-3.1-8b-instruct".to_string(), Some(auc));
    paper_auc.insert("mistral-7b-instruct-v0.3".to_string(), None);
    TaskRun {
        task: name.into(),
        fidelity: "faithful".into(),
        rows: 100,
        paper_auc,
        pool: PoolStats {
            scored: 100,
            counted: 100,
            mean_avg_confidence: pool_conf,
            mean_entropy: 1.0,
            mean_generated_tokens: 3.0,
            distinct_answers: 2,
        },
        draws,
        notes: vec![],
        seconds_scoring: 1.0,
        seconds_coslow: 1.0,
    }
}

pub fn results(tasks: Vec<TaskRun>) -> SuiteResults {
    SuiteResults {
        format: SUITE_FORMAT.into(),
        model: SuiteModel { name: "tiny".into(), label: "Tiny".into(), file: "tiny.gguf".into(), sha256: "00".into() },
        settings: SuiteSettings {
            pool_sample: None,
            sample_seed: 0,
            draws: 2,
            k: 32,
            rank: 64,
            alpha: 32.0,
            max_new_tokens: 30,
            chat_template: true,
            skip_first: false,
        },
        machine: String::new(),
        tasks,
    }
}
