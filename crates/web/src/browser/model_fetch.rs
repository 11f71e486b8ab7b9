//! Downloading a model file with progress, straight into the page's model cache (browser
//! storage), whose `Blob` the worker then reads tensor by tensor: the page never holds the file.

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Blob, ReadableStreamDefaultReader, ReferrerPolicy, RequestCache, RequestCredentials, RequestInit,
    RequestMode, Response,
};

pub use crate::browser::fetch_error::FetchError;

/// The default model, served from the app's own origin (scripts/build-web.sh puts it there).
pub const DEFAULT_MODEL_URL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// A download held in memory (where the browser offers no Cache API to stream it into) is
/// refused above this. Files from disk and downloads kept in the cache have no such limit:
/// the worker reads them tensor by tensor.
pub const MAX_MODEL_BYTES: f64 = 3.0 * 1024.0 * 1024.0 * 1024.0;

/// Progress is reported at most this often (in bytes), so a 100 MB download does not
/// re-render the page thousands of times.
const REPORT_EVERY: f64 = 2.0 * 1024.0 * 1024.0;

fn js_message(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// The browser storage this page may still fill: quota − usage from
/// `navigator.storage.estimate()`; None when the browser does not say (no StorageManager,
/// or a value missing or not a number).
pub fn free_space(quota: Option<f64>, usage: Option<f64>) -> Option<f64> {
    match (quota, usage) {
        (Some(q), Some(u)) if q.is_finite() && u.is_finite() && q >= 0.0 && u >= 0.0 => Some((q - u).max(0.0)),
        _ => None,
    }
}

/// Whether a download can be kept in browser storage with `free` bytes left there (None: the
/// browser does not say, so the download goes ahead). Before streaming, `read` is 0 and
/// `total` the Content-Length; when the server sends no length, `read` (so far) is checked
/// as bytes arrive, so the download stops as soon as it exceeds the free space.
pub fn storage_room(url: &str, total: Option<f64>, read: f64, free: Option<f64>) -> Result<(), FetchError> {
    let Some(free) = free else { return Ok(()) };
    match total {
        Some(size) if size > free => Err(FetchError::NoRoom { url: url.into(), size, free }),
        None if read > free => Err(FetchError::NoRoomSoFar { url: url.into(), read, free }),
        _ => Ok(()),
    }
}

/// quota − usage of this page's storage, when the browser can say.
pub async fn storage_free() -> Option<f64> {
    let navigator = web_sys::window()?.navigator();
    let storage = Reflect::get(&navigator, &"storage".into()).ok().filter(|s| s.is_object())?;
    let estimate: js_sys::Function = Reflect::get(&storage, &"estimate".into()).ok()?.dyn_into().ok()?;
    let promise: js_sys::Promise = estimate.call0(&storage).ok()?.dyn_into().ok()?;
    let e = JsFuture::from(promise).await.ok()?;
    let num = |k: &str| Reflect::get(&e, &k.into()).ok().and_then(|v| v.as_f64());
    free_space(num("quota"), num("usage"))
}

/// Why a download of `bytes` held in memory is refused.
pub fn too_large(url: &str, bytes: f64) -> Option<FetchError> {
    (bytes > MAX_MODEL_BYTES).then(|| FetchError::TooLarge { url: url.into(), size: bytes, limit: MAX_MODEL_BYTES })
}

/// Checks a download's first bytes against the GGUF magic, so a web page or another file is
/// stopped at once instead of after its whole download.
pub fn gguf_magic(url: &str, head: &[u8]) -> Result<(), FetchError> {
    if head.starts_with(b"GGUF") {
        return Ok(());
    }
    let url = url.to_string();
    match String::from_utf8_lossy(head).trim_start().starts_with('<') {
        true => Err(FetchError::WebPage { url }),
        false => Err(FetchError::NotGguf { url }),
    }
}

/// The error for an HTTP error status.
pub fn http_error(url: &str, status: u16, same_origin: bool) -> FetchError {
    let url = url.to_string();
    match status {
        404 if same_origin => FetchError::NotHere { url },
        404 => FetchError::NotFound { url },
        401 | 403 => FetchError::Gated { url, status },
        _ => FetchError::Http { url, status },
    }
}

/// The error when the request itself failed.
fn request_failed(url: &str, same_origin: bool, e: &JsValue) -> FetchError {
    let online = web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true);
    let (url, why) = (url.to_string(), js_message(e));
    match (online, same_origin) {
        (false, _) => FetchError::Offline { url },
        (true, true) => FetchError::Failed { url, why },
        (true, false) => FetchError::Blocked { url, why },
    }
}

/// Fetches the model at `url`, calling `progress(read, total)` as bytes arrive (`total` from
/// Content-Length, when the server sends it). `abort` cancels it; the download also stops as
/// soon as the first bytes show the file cannot be a model, or that it will not fit in the
/// browser storage it is to be kept in.
///
/// With `cache` (the page's model cache, keyed by `url`), the body goes straight into browser
/// storage: it is split in two streams, one written to the cache, one read here for progress and
/// the checks, so the page never holds the file and its size is bounded only by the storage.
/// The Blob returned is then the cached file's. Without, the bytes are gathered into a Blob,
/// up to [`MAX_MODEL_BYTES`].
pub async fn fetch_blob(
    url: &str,
    same_origin: bool,
    abort: &AbortController,
    cache: Option<&web_sys::Cache>,
    mut progress: impl FnMut(f64, Option<f64>),
) -> Result<Blob, FetchError> {
    let signal = abort.signal();
    let failed = |e: JsValue| {
        if signal.aborted() {
            FetchError::Cancelled { url: url.into() }
        } else {
            request_failed(url, same_origin, &e)
        }
    };
    // No cookies and no referrer: the request says nothing about the user or this page. No
    // HTTP-cache copy either: the page keeps the model in its own cache.
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_referrer_policy(ReferrerPolicy::NoReferrer);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&signal));
    let window = web_sys::window().ok_or(FetchError::NoWindow)?;
    // Shown (with its Cancel button) while the server has not answered yet.
    progress(0.0, None);
    let free = storage_free().await;
    let resp: Response =
        JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(failed)?.dyn_into().map_err(failed)?;
    if !resp.ok() {
        abort.abort();
        return Err(http_error(url, resp.status(), same_origin));
    }
    let total = resp.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<f64>().ok());
    if let Some(msg) = total.and_then(|t| too_large(url, t)).filter(|_| cache.is_none()) {
        abort.abort();
        return Err(msg);
    }
    storage_room(url, total, 0.0, free).inspect_err(|_| abort.abort())?;
    let body = resp.body().ok_or_else(|| FetchError::NoBody { url: url.into() })?;
    // Into the cache: one branch of the body is stored while the other is read below. A
    // failed check aborts the request, which errors both branches, so nothing is kept.
    let (body, stored) = match cache {
        Some(cache) => {
            let branches = body.tee();
            let stored = Response::new_with_opt_readable_stream(Some(&branches.get(1).unchecked_into()))
                .map_err(|e| FetchError::Browser { url: url.into(), why: js_message(&e) })?;
            (branches.get(0).unchecked_into::<web_sys::ReadableStream>(), Some(cache.put_with_str(url, &stored)))
        }
        None => (body, None),
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let chunks = Array::new();
    let (mut read, mut reported) = (0.0, 0.0);
    let mut head = Vec::with_capacity(4);
    progress(0.0, total);
    loop {
        let step = JsFuture::from(reader.read()).await.map_err(failed)?;
        let done = Reflect::get(&step, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&step, &"value".into()).map_err(failed)?;
        let chunk: Uint8Array = value.unchecked_into();
        if head.len() < 4 {
            let take = (4 - head.len()).min(chunk.length() as usize);
            head.extend(chunk.subarray(0, take as u32).to_vec());
            if head.len() == 4 {
                gguf_magic(url, &head).inspect_err(|_| abort.abort())?;
            }
        }
        read += chunk.length() as f64;
        if let Some(msg) = too_large(url, read).filter(|_| stored.is_none()) {
            abort.abort();
            return Err(msg);
        }
        storage_room(url, total, read, free).inspect_err(|_| abort.abort())?;
        if stored.is_none() {
            chunks.push(&chunk);
        }
        if read - reported >= REPORT_EVERY {
            reported = read;
            progress(read, total);
        }
    }
    gguf_magic(url, &head).inspect_err(|_| abort.abort())?;
    progress(read, total);
    let Some(put) = stored else {
        return Blob::new_with_u8_array_sequence(&chunks)
            .map_err(|e| FetchError::Browser { url: url.into(), why: js_message(&e) });
    };
    JsFuture::from(put).await.map_err(|e| FetchError::NotKept { url: url.into(), why: js_message(&e) })?;
    crate::browser::model_cache::get(url).await.ok_or_else(|| FetchError::NotReadBack { url: url.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_decide_whether_it_is_a_model() {
        assert!(gguf_magic("u", b"GGUF").is_ok());
        let e = gguf_magic("u", b"<!do").unwrap_err().to_string();
        assert!(e.contains("web page") && e.contains("/resolve/"), "{e}");
        let e = gguf_magic("u", b"PK\x03\x04").unwrap_err().to_string();
        assert!(e.contains("does not start with \"GGUF\""), "{e}");
        // A file shorter than the magic is not a model either.
        assert!(gguf_magic("u", b"GG").is_err());
    }

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    #[test]
    fn free_space_is_quota_minus_usage_when_both_are_known() {
        assert_eq!(free_space(Some(10.0 * GIB), Some(4.0 * GIB)), Some(6.0 * GIB));
        // Over quota (a browser may report it briefly): nothing is free.
        assert_eq!(free_space(Some(1.0), Some(2.0)), Some(0.0));
        assert_eq!(free_space(None, Some(1.0)), None);
        assert_eq!(free_space(Some(1.0), None), None);
        assert_eq!(free_space(Some(f64::NAN), Some(0.0)), None);
        assert_eq!(free_space(Some(-1.0), Some(0.0)), None);
    }

    #[test]
    fn a_download_that_will_not_fit_stops_before_it_starts_naming_both_sizes() {
        let e = storage_room("m.gguf", Some(2.0 * GIB), 0.0, Some(0.5 * GIB)).unwrap_err().to_string();
        assert!(e.starts_with("m.gguf is 2.0 GiB, but this browser has only 512 MiB of storage free"), "{e}");
        assert!(e.contains("not downloaded") && e.contains("Drop model files here"), "{e}");
        assert_eq!(storage_room("m.gguf", Some(0.5 * GIB), 0.0, Some(0.5 * GIB)), Ok(()));
        // The browser does not say: go ahead.
        assert_eq!(storage_room("m.gguf", Some(100.0 * GIB), 0.0, None), Ok(()));
    }

    #[test]
    fn without_a_length_the_download_stops_once_it_exceeds_the_free_space() {
        let free = Some(100.0 * 1024.0 * 1024.0);
        assert_eq!(storage_room("u", None, 0.0, free), Ok(()));
        assert_eq!(storage_room("u", None, 100.0 * 1024.0 * 1024.0, free), Ok(()));
        let e = storage_room("u", None, 101.0 * 1024.0 * 1024.0, free).unwrap_err().to_string();
        assert!(e.starts_with("u: stopped the download after 101 MiB") && e.contains("than the 100 MiB"), "{e}");
        // With a length that fits, the bytes read are not checked again.
        assert_eq!(storage_room("u", Some(50.0), 60.0, Some(55.0)), Ok(()));
    }

    #[test]
    fn too_large_names_the_limit() {
        assert_eq!(too_large("m.gguf", MAX_MODEL_BYTES), None);
        let e = too_large("m.gguf", 5.0 * 1024.0 * 1024.0 * 1024.0).unwrap().to_string();
        assert!(e.starts_with("m.gguf is 5.0 GiB") && e.contains("up to 3.0 GiB"), "{e}");
    }

    #[test]
    fn http_errors_say_what_to_do() {
        let text = |status, same_origin| http_error("u", status, same_origin).to_string();
        assert!(text(404, true).contains("scripts/serve.sh"));
        assert!(!text(404, false).contains("scripts/serve.sh"));
        assert!(text(401, false).contains("gated"));
        assert_eq!(text(500, false), "u: could not download: HTTP 500");
    }
}
