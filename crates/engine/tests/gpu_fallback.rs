//! Under `auto`, a GPU that is lost in the middle of the work hands it to the CPU: the run
//! finishes with the CPU backend's numbers and the caller is told. The loss is a real one:
//! the device is destroyed, as a driver reset would.

#[path = "common/reference.rs"]
mod reference;

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_engine::grad::LoraOptions;
use labelcast_engine::infer::ScoreOptions;
use labelcast_engine::{AnyEngine, BackendChoice, Example, Prompt};
use labelcast_gpu::testing::{block_on, test_gpu};
use reference::tiny_model;

fn prompts() -> Vec<Prompt> {
    ["the cat sat", "on the mat", "and then"].map(Prompt::from).to_vec()
}

fn examples() -> Vec<Example> {
    (0..4)
        .map(|i| Example {
            system: None,
            prompt: format!("question {i}: what is {i} plus {i}?"),
            answer: format!("it is {}", 2 * i),
        })
        .collect()
}

#[test]
fn a_lost_device_finishes_on_the_cpu_with_the_cpus_numbers() {
    let Some(gpu) = test_gpu() else { return };
    let (file, text) = tiny_model("tiny-llama");
    let mut engine =
        block_on(AnyEngine::gpu_with_cpu_fallback(gpu, file.clone(), text.clone())).map_err(|(e, ..)| e).unwrap();
    let notices = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = notices.clone();
    engine.on_notice(move |m| sink.borrow_mut().push(m));
    let cpu = block_on(AnyEngine::from_model_file(file, text, BackendChoice::Cpu, &mut |_| {})).unwrap();
    let opts = ScoreOptions { max_new_tokens: 4, ..Default::default() };
    assert!(engine.describe().starts_with("GPU"), "{}", engine.describe());
    let before = block_on(engine.score(&prompts(), &opts, |_| {})).unwrap();
    assert!(notices.borrow().is_empty(), "no hand-over while the GPU works: {:?}", notices.borrow());

    engine.gpu().expect("on the GPU").destroy();
    let after = block_on(engine.score(&prompts(), &opts, |_| {})).unwrap();
    let want = block_on(cpu.score(&prompts(), &opts, |_| {})).unwrap();
    assert_eq!(notices.borrow().len(), 1, "told once: {:?}", notices.borrow());
    assert!(notices.borrow()[0].contains("continuing on the CPU"), "{}", notices.borrow()[0]);
    assert!(engine.describe().starts_with("CPU"), "{}", engine.describe());
    for ((a, w), b) in after.iter().zip(&want).zip(&before) {
        assert_eq!(a.stats.avg_confidence, w.stats.avg_confidence, "after the hand-over: the CPU's numbers");
        let (b, w) = (b.stats.avg_confidence.unwrap(), w.stats.avg_confidence.unwrap());
        assert!((b - w).abs() < 2e-3, "before it: the GPU's, close to them ({b} vs {w})");
    }

    // Later work goes straight to the CPU engine, without another notice.
    let lora = LoraOptions::default();
    let got = block_on(engine.coslow(&examples(), &lora, |_| {})).unwrap();
    let want = block_on(cpu.coslow(&examples(), &lora, |_| {})).unwrap();
    assert_eq!(got.coslow, want.coslow);
    assert_eq!(notices.borrow().len(), 1);
}

#[test]
fn without_auto_a_lost_device_is_an_error_that_says_so() {
    let Some(gpu) = test_gpu() else { return };
    let (file, text) = tiny_model("tiny-llama");
    // What `--backend gpu` builds: no CPU to hand over to.
    let backend = labelcast_engine::backend::GpuBackend::from_model_file(gpu, &file).unwrap();
    let engine = labelcast_engine::Engine::new(backend, text).unwrap();
    engine.backend().gpu().destroy();
    let err = block_on(engine.score(&prompts(), &ScoreOptions::default(), |_| {})).unwrap_err();
    assert!(err.to_string().contains("device was lost"), "{err}");
}
