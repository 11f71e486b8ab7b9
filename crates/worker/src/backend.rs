//! Which backend computes: WebGPU (labelcast-gpu through wgpu) on a hardware adapter, else
//! the CPU, with the reason in words for the page. The page may also ask for either one.

use js_sys::{Promise, Reflect};
use labelcast_protocol::{AdapterInfo, BackendChoice, BackendInfo, BackendKind};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How long to wait for `requestAdapter`: some drivers never answer, and the CPU backend
/// must not wait on them.
const ADAPTER_TIMEOUT_MS: i32 = 4000;

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn string(obj: &JsValue, key: &str) -> String {
    get(obj, key).as_string().unwrap_or_default()
}

/// Resolves to `undefined` after `ms`.
fn sleep(ms: i32) -> Promise {
    Promise::new(&mut |resolve, _| {
        let scope = js_sys::global();
        if let Ok(set_timeout) = get(&scope, "setTimeout").dyn_into::<js_sys::Function>() {
            let _ = set_timeout.call2(&scope, &resolve, &JsValue::from(ms));
        }
    })
}

/// Why the browser offers no WebGPU adapter; the page says it beside the CPU backend it uses.
#[derive(Debug, thiserror::Error)]
enum NoAdapter {
    #[error("this browser offers no WebGPU (navigator.gpu is missing)")]
    NoGpu,
    #[error("navigator.gpu.requestAdapter is missing")]
    NoRequest,
    #[error("requestAdapter failed: {0}")]
    Failed(String),
    #[error("WebGPU did not answer within {} s", ADAPTER_TIMEOUT_MS / 1000)]
    Timeout,
    #[error("WebGPU is present but offers no adapter")]
    None,
}

/// The WebGPU adapter the browser offers, or why there is none.
async fn adapter() -> Result<AdapterInfo, NoAdapter> {
    let navigator = get(&js_sys::global(), "navigator");
    let gpu = get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err(NoAdapter::NoGpu);
    }
    let request = get(&gpu, "requestAdapter").dyn_into::<js_sys::Function>().map_err(|_| NoAdapter::NoRequest)?;
    let failed = |e: JsValue| NoAdapter::Failed(format!("{e:?}"));
    let promise: Promise = request.call0(&gpu).map_err(failed)?.unchecked_into();
    let race = Promise::race(&js_sys::Array::of2(&promise, &sleep(ADAPTER_TIMEOUT_MS)));
    let adapter = JsFuture::from(race).await.map_err(failed)?;
    if adapter.is_undefined() {
        return Err(NoAdapter::Timeout);
    }
    if adapter.is_null() {
        return Err(NoAdapter::None);
    }
    let info = get(&adapter, "info");
    // `info.isFallbackAdapter` is the current place; older browsers had it on the adapter.
    let fallback =
        [get(&info, "isFallbackAdapter"), get(&adapter, "isFallbackAdapter")].iter().any(|v| v.as_bool() == Some(true));
    Ok(AdapterInfo {
        vendor: string(&info, "vendor"),
        architecture: string(&info, "architecture"),
        device: string(&info, "device"),
        description: string(&info, "description"),
        fallback,
    })
}

pub const CPU: &str = "computing on the CPU (WebAssembly, one thread in each worker)";

/// Detects WebGPU and picks the backend `auto` would use: WebGPU on a hardware adapter; the
/// CPU when there is none or only a software one (SwiftShader is slower than the CPU backend).
pub async fn choose() -> BackendInfo {
    match adapter().await {
        Ok(a) if a.is_software() => BackendInfo {
            backend: BackendKind::Cpu,
            reason: format!(
                "The only WebGPU adapter is a software one ({}), slower than the CPU backend; \
                 {CPU}. Choose WebGPU under \"Compute on\" to use it anyway.",
                a.summary()
            ),
            adapter: Some(a),
            workers: 1,
        },
        Ok(a) => BackendInfo {
            backend: BackendKind::Gpu,
            reason: format!("A hardware WebGPU adapter is present ({}); computing on the GPU.", a.summary()),
            adapter: Some(a),
            workers: 1,
        },
        Err(why) => BackendInfo {
            backend: BackendKind::Cpu,
            reason: format!("No GPU: {why}; {CPU}."),
            adapter: None,
            workers: 1,
        },
    }
}

/// The engine's choice for the page's, and what to tell the page if it holds. `detected` is
/// what [`choose`] found. `Auto` stays `Auto` only where [`choose`] vetted a hardware adapter:
/// the engine is then to take the GPU whatever wgpu says of it (`from_model_file_on_vetted_gpu`).
pub fn plan(choice: BackendChoice, detected: BackendInfo) -> (BackendChoice, BackendInfo) {
    match choice {
        BackendChoice::Cpu => (
            BackendChoice::Cpu,
            BackendInfo { backend: BackendKind::Cpu, reason: format!("You chose the CPU; {CPU}."), ..detected },
        ),
        BackendChoice::Gpu => {
            let software = detected.adapter.as_ref().is_some_and(AdapterInfo::is_software);
            let reason = if software {
                "You chose WebGPU: computing on a software adapter (correct, but slower than the CPU backend)."
            } else {
                "You chose WebGPU: computing on the GPU."
            };
            (BackendChoice::Gpu, BackendInfo { backend: BackendKind::Gpu, reason: reason.into(), ..detected })
        }
        // The adapter passed the checks above, which read more than wgpu passes on (its
        // software flag); a failure while loading still falls back to the CPU.
        BackendChoice::Auto if detected.backend == BackendKind::Gpu => (BackendChoice::Auto, detected),
        BackendChoice::Auto => (BackendChoice::Cpu, detected),
    }
}
