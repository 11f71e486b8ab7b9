//! Saving a file the page made (CSV, JSONL) through the browser's download, from a Blob
//! URL: nothing leaves the machine.

use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

/// Why a file the page made could not be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error("could not save {name}: {why}")]
    Browser { name: String, why: String },
    #[error("could not save {name}: the page has no document")]
    NoDocument { name: String },
}

pub fn download(name: &str, text: &str, mime: &str) -> Result<(), SaveError> {
    let fail = |e: wasm_bindgen::JsValue| SaveError::Browser { name: name.to_string(), why: format!("{e:?}") };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(fail)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or(SaveError::NoDocument { name: name.into() })?;
    let a: HtmlAnchorElement = document.create_element("a").map_err(fail)?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // The download has started from the URL; revoking it later frees the Blob.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url);
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    }
    Ok(())
}

/// "pool.csv" → "pool-next-batch.csv"
pub fn derived_name(file: &str, suffix: &str, ext: &str) -> String {
    let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
    format!("{stem}-{suffix}.{ext}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_names() {
        assert_eq!(super::derived_name("pool.csv", "to-label", "csv"), "pool-to-label.csv");
        assert_eq!(super::derived_name("data", "order", "jsonl"), "data-order.jsonl");
    }
}
