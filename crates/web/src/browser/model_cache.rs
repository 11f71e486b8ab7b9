//! Downloaded models kept in the browser's Cache API, so a model is downloaded once and then
//! loads without the network; the page lists them with their size and can delete them.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Cache, Request, Response};

const CACHE_NAME: &str = "labelcast-models-v1";

fn js_message(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// The page's model cache (an error where the browser offers no Cache API).
pub async fn open() -> Result<Cache, String> {
    let fail = |e: JsValue| format!("browser storage is not available: {}", js_message(&e));
    let caches = web_sys::window().ok_or("no browser window")?.caches().map_err(fail)?;
    JsFuture::from(caches.open(CACHE_NAME)).await.map_err(fail)?.dyn_into::<Cache>().map_err(fail)
}

/// The absolute URL of `url` (relative to the page), and the page's origin.
pub fn resolve(url: &str) -> Result<(String, String), String> {
    let window = web_sys::window().ok_or("no browser window")?;
    let base = window.location().href().map_err(|e| js_message(&e))?;
    let u = web_sys::Url::new_with_base(url.trim(), &base).map_err(|_| format!("\"{url}\" is not a URL"))?;
    let here = window.location().origin().map_err(|e| js_message(&e))?;
    Ok((u.href(), here))
}

/// The cached model at `url`, if any.
pub async fn get(url: &str) -> Option<Blob> {
    let cache = open().await.ok()?;
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    let resp: Response = hit.dyn_into().ok()?;
    JsFuture::from(resp.blob().ok()?).await.ok()?.dyn_into().ok()
}

pub async fn delete(url: &str) -> Result<(), String> {
    let cache = open().await?;
    JsFuture::from(cache.delete_with_str(url))
        .await
        .map_err(|e| format!("could not delete the model: {}", js_message(&e)))?;
    Ok(())
}

/// (url, bytes) of every cached model.
pub async fn list() -> Result<Vec<(String, f64)>, String> {
    let cache = open().await?;
    let keys: Array = JsFuture::from(cache.keys()).await.map_err(|e| js_message(&e))?.unchecked_into();
    let mut out = Vec::new();
    for k in keys.iter() {
        let Ok(req) = k.dyn_into::<Request>() else { continue };
        let url = req.url();
        if let Some(b) = get(&url).await {
            out.push((url, b.size()));
        }
    }
    Ok(out)
}
