//! The model card: which backend computes (and why), which model is loaded, and the ways to
//! load one (the default from this app's own origin, a URL on it or on a model host the page's
//! policy allows, or files from disk: a .gguf, or a safetensors model's files or folder).

use std::rc::Rc;

use labelcast_protocol::{BackendChoice, BackendInfo, BackendKind};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::browser::model_fetch::{DEFAULT_MODEL_NAME, DEFAULT_MODEL_URL};
use crate::components::drop_zone::DropZone;
use crate::format;
use crate::steps::model::coef_match::model_title;
use crate::steps::model::model_source::{display_name, hosts_sentence};
use crate::workflow::ModelStatus;

#[derive(Properties, PartialEq)]
pub struct ModelStepProps {
    pub backend: Option<BackendInfo>,
    pub model: ModelStatus,
    pub memory: Option<f64>,
    /// The helper workers' memory together (0 without helpers).
    #[prop_or_default]
    pub helper_memory: f64,
    /// Models kept in browser storage: (url, bytes).
    pub cached: Rc<Vec<(String, f64)>>,
    /// What the page changed in the model URL given, to tell the user.
    pub note: Option<String>,
    pub on_url: Callback<String>,
    pub on_cancel_download: Callback<()>,
    pub on_delete: Callback<String>,
    /// Model files picked or dropped together.
    pub on_files: Callback<Vec<web_sys::File>>,
    /// The backend choice (auto / WebGPU / CPU); a loaded model is loaded again on it.
    pub on_backend: Callback<BackendChoice>,
    /// Which coefficient set the forecast uses for the loaded model, in a sentence
    /// (`coef_sets::model_note`, which knows the calibration files loaded).
    #[prop_or_default]
    pub coef_note: Option<AttrValue>,
}

fn backend_line(b: Option<&BackendInfo>) -> Html {
    let Some(b) = b else {
        return html! { <p id="backend" class="muted">{"Starting the model worker…"}</p> };
    };
    let name = match b.backend {
        BackendKind::Cpu => "CPU".to_string(),
        BackendKind::Gpu => "WebGPU".to_string(),
    };
    let adapter = b.adapter.as_ref().map(|a| a.summary()).unwrap_or_else(|| "none".into());
    // The pool's helpers: each holds the model and scores its share of the prompts.
    let name = match b.workers {
        n if n > 1 => format!("{name} · {n} workers compute at once"),
        _ => name,
    };
    html! {
        <dl class="facts">
            <div><dt>{"Backend"}</dt><dd id="backend" data-backend={b.backend.web_name()} data-workers={b.workers.to_string()}>{name}</dd></div>
            <div><dt>{"WebGPU adapter"}</dt><dd id="adapter">{adapter}</dd></div>
            <div class="wide"><dt>{"Why"}</dt><dd id="backend-reason" class="muted">{b.reason.clone()}</dd></div>
        </dl>
    }
}

fn model_status(m: &ModelStatus, on_cancel: &Callback<()>, coef: Option<&AttrValue>) -> Html {
    match m {
        ModelStatus::None => html! { <p id="model-status" class="muted">{"No model loaded yet."}</p> },
        ModelStatus::Downloading { name, read, total } => {
            let label = match total {
                Some(t) if *t > 0.0 => format!("Downloading {name}: {} of {}", format::bytes(*read), format::bytes(*t)),
                _ => format!("Downloading {name}: {}", format::bytes(*read)),
            };
            html! {
                <div id="model-status" data-state="downloading">
                    <progress max={total.unwrap_or(0.0).to_string()} value={read.to_string()} aria-label="Model download"></progress>
                    <p>{label}
                        {" "}<button type="button" id="model-download-cancel" class="link-button"
                            onclick={on_cancel.reform(|_: MouseEvent| ())}>{"Cancel"}</button>
                    </p>
                </div>
            }
        }
        ModelStatus::Loading { name, stage } => html! {
            <div id="model-status" data-state="loading">
                <progress aria-label="Loading the model"></progress>
                <p>{format!("Loading {name}: {stage}…")}</p>
            </div>
        },
        ModelStatus::Ready { model, seconds } => {
            let title = model_title(model);
            html! {
                <div id="model-status" data-state="ready">
                    <p><strong id="model-name">{title.clone()}</strong>
                        if title != model.file { <span id="model-source">{format!(" ({})", model.file)}</span> }
                        {format!(" — {} architecture, {} layers, hidden size {}, vocabulary {}, context {} tokens; {} read in {:.1} s.",
                            model.arch, model.layers, model.hidden, format::thousands(model.vocab as u64),
                            format::thousands(model.context as u64), format::bytes(model.bytes), seconds)}
                    </p>
                    if let Some(c) = coef { <p id="coef-match" class="muted">{c.clone()}</p> }
                </div>
            }
        }
        ModelStatus::Failed { message } => html! {
            <p id="model-status" data-state="failed" class="error-text" role="alert">{message.clone()}</p>
        },
    }
}

#[function_component(ModelStep)]
pub fn model_step(p: &ModelStepProps) -> Html {
    let busy = p.model.busy();
    let url = use_state(String::new);
    let pref = use_state(BackendChoice::default);
    let on_backend = {
        let (cb, pref) = (p.on_backend.clone(), pref.clone());
        Callback::from(move |e: Event| {
            let value = e.target_dyn_into::<HtmlSelectElement>().map(|s| s.value());
            if let Some(b) = value.as_deref().and_then(BackendChoice::from_web_name) {
                pref.set(b);
                cb.emit(b);
            }
        })
    };
    let on_default = {
        let cb = p.on_url.clone();
        Callback::from(move |_: MouseEvent| cb.emit(DEFAULT_MODEL_URL.to_string()))
    };
    let on_url_input = {
        let url = url.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
                url.set(i.value());
            }
        })
    };
    let on_url_load = {
        let (cb, url) = (p.on_url.clone(), url.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !url.trim().is_empty() {
                cb.emit(url.trim().to_string());
            }
        })
    };
    let here = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let cached = p.cached.iter().map(|(u, size)| {
        let (load, delete) = (p.on_url.clone(), p.on_delete.clone());
        let (u1, u2) = (u.clone(), u.clone());
        let name = display_name(u, &here);
        html! {
            <li data-url={u.clone()}>
                <span class="cached-name" title={u.clone()}>{name}</span>
                <span class="muted">{format::bytes(*size)}</span>
                <button type="button" class="link-button" disabled={busy} onclick={Callback::from(move |_: MouseEvent| load.emit(u1.clone()))}>{"Load"}</button>
                <button type="button" class="link-button cached-delete" onclick={Callback::from(move |_: MouseEvent| delete.emit(u2.clone()))}>{"Delete"}</button>
            </li>
        }
    });
    // While a model loads, new files wait for it: the Load buttons are disabled too.
    let on_files = {
        let cb = p.on_files.clone();
        Callback::from(move |files: Vec<web_sys::File>| {
            if !busy {
                cb.emit(files);
            }
        })
    };
    let on_folder = {
        let cb = on_files.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                let files = crate::browser::file_read::list(input.files());
                if !files.is_empty() {
                    cb.emit(files);
                }
                // Choosing the same folder again must fire `change` again.
                input.set_value("");
            }
        })
    };
    html! {
        <section id="step-model" class="step" aria-labelledby="step-model-heading">
            <h2 id="step-model-heading"><span class="step-num">{"0"}</span>{"Model"}</h2>
            <p class="step-intro">
                {"The language model runs inside this tab, in a background worker, so the page stays \
                  responsive. The model file is read from this app's own server, downloaded from \
                  Hugging Face if you give its address, or read from your disk; nothing is uploaded."}
            </p>
            {backend_line(p.backend.as_ref())}
            <div class="field">
                <label for="backend-choice">{"Compute on"}</label>
                <select autocomplete="off" id="backend-choice" onchange={on_backend}>
                    {for BackendChoice::ALL.into_iter().map(|b| html! {
                        <option value={b.web_name()} selected={*pref == b}>{match b {
                            BackendChoice::Auto => "Auto (a hardware GPU, else the CPU)",
                            BackendChoice::Gpu => "WebGPU (any adapter, software ones too)",
                            BackendChoice::Cpu => "CPU",
                        }}</option>
                    })}
                </select>
            </div>
            <div class="button-row">
                <button type="button" id="load-default-model" class="button" disabled={busy} onclick={on_default}>
                    {format!("Load the default model ({DEFAULT_MODEL_NAME})")}
                </button>
                <label class="button secondary file-button">
                    {"Choose a model folder…"}
                    <input autocomplete="off" id="model-folder" type="file" webkitdirectory=true multiple=true class="visually-hidden" disabled={busy} onchange={on_folder} />
                </label>
            </div>
            <DropZone id="model-drop" input_id="model-file" compact=true busy={busy} on_files={Some(on_files)}
                accept={AttrValue::Static(".gguf,.safetensors,.json,.jinja")}
                title="Drop model files here: a .gguf, or a safetensors model's files"
                hint={AttrValue::Static("A .gguf file, or a model's *.safetensors (every shard, with its \
                       model.safetensors.index.json), config.json, tokenizer.json, tokenizer_config.json \
                       and chat_template.jinja (its chat template), as the labelcast CLI reads from a model folder. \
                       They are read from your disk; nothing is uploaded.")} />
            <form autocomplete="off" class="url-row" onsubmit={on_url_load}>
                <label for="model-url">{"Or a model URL (on this server or Hugging Face)"}</label>
                <input id="model-url" type="text" inputmode="url" autocomplete="off" spellcheck="false"
                    placeholder="https://huggingface.co/<user>/<repo>/resolve/main/<file>.gguf"
                    aria-describedby="model-url-hosts" value={(*url).clone()} oninput={on_url_input} />
                <button type="submit" id="model-url-load" class="button secondary" disabled={busy}>{"Download and load"}</button>
            </form>
            <p id="model-url-hosts" class="muted small">
                {format!("Downloads only from this server and {} (the page's security policy allows no \
                          other host); the request carries no cookies and nothing of your data.", hosts_sentence())}
            </p>
            if let Some(note) = &p.note {
                <p id="model-url-note" class="muted small" role="status">{note.clone()}</p>
            }
            {model_status(&p.model, &p.on_cancel_download, p.coef_note.as_ref())}
            if !p.cached.is_empty() {
                <div class="cached">
                    <p class="muted small">{"Kept in this browser (loads without downloading again):"}</p>
                    <ul id="cached-models">{for cached}</ul>
                </div>
            }
            if let Some(m) = p.memory {
                <p id="worker-memory" class="muted small" data-bytes={m.to_string()} data-helper-bytes={p.helper_memory.to_string()}>
                    {format!("Model worker memory (WebAssembly heap, its peak so far): {}", format::bytes(m))}
                    if p.helper_memory > 0.0 {
                        {format!("; the helpers that compute beside it hold {} more, each with its own copy of the model",
                            format::bytes(p.helper_memory))}
                    }
                </p>
            }
        </section>
    }
}
