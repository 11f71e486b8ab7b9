//! Which backend computes. The engine has only its CPU backend today; the WebGPU backend
//! (crates/gpu) plugs in here: when it lands, `choose` returns "webgpu" for an adapter that
//! passes its checks and keeps the CPU with the reason otherwise.

use js_sys::{Promise, Reflect};
use labelcast_protocol::{AdapterInfo, BackendInfo};
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

/// The WebGPU adapter the browser offers, or why there is none.
async fn adapter() -> Result<AdapterInfo, String> {
    let navigator = get(&js_sys::global(), "navigator");
    let gpu = get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser offers no WebGPU (navigator.gpu is missing)".into());
    }
    let request = get(&gpu, "requestAdapter")
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "navigator.gpu.requestAdapter is missing".to_string())?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?
        .unchecked_into();
    let race = Promise::race(&js_sys::Array::of2(&promise, &sleep(ADAPTER_TIMEOUT_MS)));
    let adapter = JsFuture::from(race)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_undefined() {
        return Err("WebGPU did not answer within 4 s".into());
    }
    if adapter.is_null() {
        return Err("WebGPU is present but offers no adapter".into());
    }
    let info = get(&adapter, "info");
    Ok(AdapterInfo {
        vendor: string(&info, "vendor"),
        architecture: string(&info, "architecture"),
        device: string(&info, "device"),
        description: string(&info, "description"),
    })
}

/// Detects WebGPU and picks the backend.
pub async fn choose() -> BackendInfo {
    let cpu = "computing on the CPU (WebAssembly, one thread)";
    match adapter().await {
        Ok(a) => BackendInfo {
            backend: "cpu".into(),
            reason: format!(
                "A WebGPU adapter is present ({}), but labelcast's WebGPU backend is not \
                 available yet; {cpu}.",
                a.summary()
            ),
            adapter: Some(a),
        },
        Err(why) => BackendInfo {
            backend: "cpu".into(),
            reason: format!("No GPU: {why}; {cpu}."),
            adapter: None,
        },
    }
}
