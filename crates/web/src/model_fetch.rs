//! Downloading a model file with progress. The bytes are gathered into a `Blob`, which the
//! browser may keep outside the page's JavaScript heap, and which the worker reads itself.

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStreamDefaultReader, Response};

/// The default model, served from the app's own origin (scripts/build-web.sh puts it there).
pub const DEFAULT_MODEL_URL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Progress is reported at most this often (in bytes), so a 100 MB download does not
/// re-render the page thousands of times.
const REPORT_EVERY: f64 = 2.0 * 1024.0 * 1024.0;

fn js_message(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// Fetches `url`, calling `progress(read, total)` as bytes arrive (`total` from
/// Content-Length, when the server sends it).
pub async fn fetch_blob(url: &str, mut progress: impl FnMut(f64, Option<f64>)) -> Result<Blob, String> {
    let fail = |e: JsValue| format!("{url}: could not download: {}", js_message(&e));
    let window = web_sys::window().ok_or("no browser window")?;
    let resp: Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    if !resp.ok() {
        return Err(if resp.status() == 404 {
            format!(
                "{url}: not found on this server (HTTP 404). The default model is put next to the \
                 app by scripts/serve.sh (scripts/fetch-model.sh, then scripts/build-web.sh); or \
                 choose a .gguf file from your disk."
            )
        } else {
            format!("{url}: could not download: HTTP {}", resp.status())
        });
    }
    let total = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok());
    let body = resp.body().ok_or_else(|| format!("{url}: the response has no body"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let chunks = Array::new();
    let (mut read, mut reported) = (0.0, 0.0);
    progress(0.0, total);
    loop {
        let step = JsFuture::from(reader.read()).await.map_err(fail)?;
        let done = Reflect::get(&step, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&step, &"value".into()).map_err(fail)?;
        let chunk: Uint8Array = value.unchecked_into();
        read += chunk.length() as f64;
        chunks.push(&chunk);
        if read - reported >= REPORT_EVERY {
            reported = read;
            progress(read, total);
        }
    }
    progress(read, total);
    Blob::new_with_u8_array_sequence(&chunks).map_err(fail)
}
