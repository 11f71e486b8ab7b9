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

/// Why the model cache could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("browser storage is not available: {0}")]
    Unavailable(String),
    #[error("no browser window")]
    NoWindow,
    /// The page's own address could not be read (the browser's words).
    #[error("the page's address: {0}")]
    Location(String),
    #[error("\"{0}\" is not a URL")]
    NotAUrl(String),
    #[error("could not delete the model: {0}")]
    Delete(String),
    #[error("could not list the models kept in this browser: {0}")]
    List(String),
}

/// The page's model cache (an error where the browser offers no Cache API).
pub async fn open() -> Result<Cache, CacheError> {
    let fail = |e: JsValue| CacheError::Unavailable(js_message(&e));
    let caches = web_sys::window().ok_or(CacheError::NoWindow)?.caches().map_err(fail)?;
    JsFuture::from(caches.open(CACHE_NAME)).await.map_err(fail)?.dyn_into::<Cache>().map_err(fail)
}

/// The absolute URL of `url` (relative to the page), and the page's origin.
pub fn resolve(url: &str) -> Result<(String, String), CacheError> {
    let window = web_sys::window().ok_or(CacheError::NoWindow)?;
    let location = |e: JsValue| CacheError::Location(js_message(&e));
    let base = window.location().href().map_err(location)?;
    let u = web_sys::Url::new_with_base(url.trim(), &base).map_err(|_| CacheError::NotAUrl(url.to_string()))?;
    let here = window.location().origin().map_err(location)?;
    Ok((u.href(), here))
}

/// The cached model at `url`, if any.
pub async fn get(url: &str) -> Option<Blob> {
    let cache = open().await.ok()?;
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    let resp: Response = hit.dyn_into().ok()?;
    JsFuture::from(resp.blob().ok()?).await.ok()?.dyn_into().ok()
}

pub async fn delete(url: &str) -> Result<(), CacheError> {
    let cache = open().await?;
    JsFuture::from(cache.delete_with_str(url)).await.map_err(|e| CacheError::Delete(js_message(&e)))?;
    Ok(())
}

/// (url, bytes) of every cached model.
pub async fn list() -> Result<Vec<(String, f64)>, CacheError> {
    let cache = open().await?;
    let keys: Array =
        JsFuture::from(cache.keys()).await.map_err(|e| CacheError::List(js_message(&e)))?.unchecked_into();
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
