//! A small async wrapper over the browser's IndexedDB (web-sys only, no JS library): one
//! database, opened once per tab, a few object stores of keyed values. IndexedDB rather than
//! localStorage because a 50 MB pool does not fit localStorage's ~5 MB, and its writes do
//! not block the page. Every failure is a typed [`IdbError`]; nothing here panics when the
//! browser has no IndexedDB (some private modes) or its storage is full.

use std::cell::RefCell;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

const DB_NAME: &str = "labelcast";
const DB_VERSION: u32 = 1;
/// Every store the page uses; created on the first open.
pub const STORES: [&str; 4] = ["meta", "pools", "work", "labels"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdbError {
    /// No IndexedDB in this browser or mode (or the person blocked site storage).
    #[error("this browser does not let the page keep data ({0})")]
    Unavailable(String),
    /// The browser's storage for this site is full.
    #[error("the browser's storage for this page is full")]
    Quota,
    /// Anything else the browser reported, with its words.
    #[error("the browser's storage failed ({0})")]
    Failed(String),
    /// A record could not be written as JSON (a bug, not the browser's doing).
    #[error("the work could not be written for storage ({0})")]
    Encode(String),
}

impl IdbError {
    /// Kept as text: the error is cloned into the page's state, which serde's error is not.
    pub fn encode(e: serde_json::Error) -> Self {
        IdbError::Encode(e.to_string())
    }
}

fn from_dom(e: Option<web_sys::DomException>) -> IdbError {
    match e {
        Some(e) if e.name() == "QuotaExceededError" => IdbError::Quota,
        Some(e) => IdbError::Failed(format!("{}: {}", e.name(), e.message())),
        None => IdbError::Failed("no reason given".into()),
    }
}

fn from_js(v: JsValue) -> IdbError {
    match v.dyn_into::<web_sys::DomException>() {
        Ok(e) => from_dom(Some(e)),
        Err(v) => IdbError::Failed(v.as_string().unwrap_or_else(|| format!("{v:?}"))),
    }
}

thread_local! {
    /// The open database, shared by every caller in this tab.
    static DB: RefCell<Option<IdbDatabase>> = const { RefCell::new(None) };
}

/// Waits for a request's success (its result) or error. The handlers live until it settles.
async fn settle(req: &IdbRequest) -> Result<JsValue, IdbError> {
    let mut handlers = Vec::new();
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let r = req.clone();
        let ok = Closure::<dyn FnMut()>::new(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let r = req.clone();
        let err = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            // Handled here: without this the error would also abort silently elsewhere.
            e.prevent_default();
            let _ = reject.call1(&JsValue::NULL, &r.error().ok().flatten().map(JsValue::from).unwrap_or(JsValue::NULL));
        });
        req.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
        req.set_onerror(Some(err.as_ref().unchecked_ref()));
        handlers.push((ok, err));
    });
    let out = JsFuture::from(promise).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    drop(handlers);
    out.map_err(|e| if e.is_null() { IdbError::Failed("the request failed".into()) } else { from_js(e) })
}

/// Waits until a write transaction is committed (so a reload or a crashed tab keeps it), or
/// says why it was aborted (a full disk shows up here as often as on the request).
async fn committed(tx: &IdbTransaction) -> Result<(), IdbError> {
    let mut handlers = Vec::new();
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let done = Closure::<dyn FnMut()>::new(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let t = tx.clone();
        let failed = Closure::<dyn FnMut()>::new(move || {
            let _ = reject.call1(&JsValue::NULL, &t.error().map(JsValue::from).unwrap_or(JsValue::NULL));
        });
        tx.set_oncomplete(Some(done.as_ref().unchecked_ref()));
        tx.set_onabort(Some(failed.as_ref().unchecked_ref()));
        handlers.push((done, failed));
    });
    let out = JsFuture::from(promise).await;
    tx.set_oncomplete(None);
    tx.set_onabort(None);
    drop(handlers);
    out.map(|_| ()).map_err(|e| if e.is_null() { IdbError::Failed("the write was aborted".into()) } else { from_js(e) })
}

async fn db() -> Result<IdbDatabase, IdbError> {
    if let Some(db) = DB.with(|d| d.borrow().clone()) {
        return Ok(db);
    }
    let factory = web_sys::window()
        .ok_or_else(|| IdbError::Unavailable("no window".into()))?
        .indexed_db()
        .map_err(|_| IdbError::Unavailable("IndexedDB is blocked".into()))?
        .ok_or_else(|| IdbError::Unavailable("no IndexedDB".into()))?;
    let open = factory.open_with_u32(DB_NAME, DB_VERSION).map_err(from_js)?;
    // Runs inside the open request, before its success: the only moment stores can be made.
    let o = open.clone();
    let upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(db) = o.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
            let names = db.object_store_names();
            for s in STORES {
                if !names.contains(s) {
                    let _ = db.create_object_store(s);
                }
            }
        }
    });
    open.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let result = settle(&open).await;
    open.set_onupgradeneeded(None);
    drop(upgrade);
    let db: IdbDatabase = result?.dyn_into().map_err(|_| IdbError::Failed("not a database".into()))?;
    DB.with(|d| *d.borrow_mut() = Some(db.clone()));
    Ok(db)
}

fn tx(db: &IdbDatabase, stores: &[&str], write: bool) -> Result<IdbTransaction, IdbError> {
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let mode = if write { IdbTransactionMode::Readwrite } else { IdbTransactionMode::Readonly };
    db.transaction_with_str_sequence_and_mode(&names, mode).map_err(from_js)
}

fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore, IdbError> {
    tx.object_store(name).map_err(from_js)
}

/// The value under `key`, None when absent.
pub async fn get(store_name: &str, key: &JsValue) -> Result<Option<JsValue>, IdbError> {
    let db = db().await?;
    let t = tx(&db, &[store_name], false)?;
    let v = settle(&store(&t, store_name)?.get(key).map_err(from_js)?).await?;
    Ok((!v.is_undefined()).then_some(v))
}

/// Every value whose key is in [lower, upper].
pub async fn get_range(store_name: &str, lower: &JsValue, upper: &JsValue) -> Result<Vec<JsValue>, IdbError> {
    let db = db().await?;
    let t = tx(&db, &[store_name], false)?;
    let range = IdbKeyRange::bound(lower, upper).map_err(from_js)?;
    let all = settle(&store(&t, store_name)?.get_all_with_key(&range).map_err(from_js)?).await?;
    Ok(all.dyn_into::<Array>().map(|a| a.to_vec()).unwrap_or_default())
}

/// One write of a transaction: put a value, delete a key, or delete a key range.
pub enum Op {
    Put(&'static str, JsValue, JsValue),
    Delete(&'static str, JsValue),
    DeleteRange(&'static str, JsValue, JsValue),
    Clear(&'static str),
}

/// Applies every op in one transaction: all are kept or none is. Returns once committed.
pub async fn write(ops: Vec<Op>) -> Result<(), IdbError> {
    let db = db().await?;
    let mut names: Vec<&str> = ops
        .iter()
        .map(|op| match op {
            Op::Put(s, ..) | Op::Delete(s, _) | Op::DeleteRange(s, ..) | Op::Clear(s) => *s,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    let t = tx(&db, &names, true)?;
    for op in ops {
        let r = match op {
            Op::Put(s, key, value) => store(&t, s)?.put_with_key(&value, &key),
            Op::Delete(s, key) => store(&t, s)?.delete(&key),
            Op::DeleteRange(s, lo, hi) => {
                let range = IdbKeyRange::bound(&lo, &hi).map_err(from_js)?;
                store(&t, s)?.delete(&range)
            }
            Op::Clear(s) => store(&t, s)?.clear(),
        };
        if let Err(e) = r {
            let _ = t.abort();
            return Err(from_js(e));
        }
    }
    committed(&t).await
}
