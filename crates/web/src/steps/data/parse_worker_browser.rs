//! Both ends of the parse worker in the browser: `parse_blob` on the page, and
//! `parse_worker_message`, which web/parse-worker.js calls inside the worker.

use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{table_from, to_wire, Cursor, Meta, ParseWorkerError, Step, ROWS_PER_CHUNK};
use crate::browser::file_read;
use crate::steps::data::data_model::{parse, Parsed};
use crate::steps::data::problems::Problem;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

// ---- inside the worker ----

fn post(msg: &JsValue, transfer: &[JsValue]) {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let list: Array = transfer.iter().collect();
    let _ = scope.post_message_with_transfer(msg, &list);
}

fn failed(problems: &[Problem]) -> JsValue {
    let text = serde_json::to_string(problems).unwrap_or_else(|_| "[]".into());
    object(&[("kind", "failed".into()), ("problems", text.into())])
}

/// Called by web/parse-worker.js with `{ name, blob }`: posts progress, then the table (or the
/// file's problems), and closes the worker. One message per worker: the page starts a worker per
/// parse. The worker ends itself because `Worker.terminate()` from the page blocks the page's
/// main thread while the worker's memory (hundreds of MB after a large pool) is released.
#[wasm_bindgen]
pub fn parse_worker_message(msg: JsValue) {
    wasm_bindgen_futures::spawn_local(async move {
        work(msg).await;
        let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        scope.close();
    });
}

/// Reads and parses the file of one message, posting progress and then the result.
async fn work(msg: JsValue) {
    let name = get(&msg, "name").as_string().unwrap_or_default();
    let Ok(blob) = get(&msg, "blob").dyn_into::<web_sys::Blob>() else {
        return post(&failed(&[Problem::general("the parse worker got no file")]), &[]);
    };
    let size = blob.size();
    let progress =
        |read: f64| post(&object(&[("kind", "read".into()), ("read", read.into()), ("size", size.into())]), &[]);
    let bytes = match file_read::read_file(&blob, progress).await {
        Ok(b) => b,
        Err(why) => return post(&failed(&[Problem::general(why.to_string())]), &[]),
    };
    post(&object(&[("kind", "checking".into())]), &[]);
    let parsed = parse(&name, &bytes);
    // The file's bytes go before the wire (as large again) is built.
    drop(bytes);
    match parsed {
        Parsed::Failed(problems) => post(&failed(&problems), &[]),
        Parsed::Table { table, info } => {
            let wire = to_wire(&table, &name, info);
            drop(table);
            let meta = serde_json::to_string(&wire.meta).unwrap_or_default();
            let text = Uint8Array::from(wire.text.as_bytes()).buffer();
            let lens = Uint32Array::from(&wire.lens[..]).buffer();
            let mut pairs = vec![
                ("kind", "table".into()),
                ("meta", meta.into()),
                ("text", text.clone().into()),
                ("lens", lens.clone().into()),
            ];
            let mut transfer = vec![text.into(), lens.into()];
            if let Some(kinds) = &wire.kinds {
                let kinds = Uint8Array::from(&kinds[..]).buffer();
                pairs.push(("kinds", kinds.clone().into()));
                transfer.push(kinds.into());
            }
            post(&object(&pairs), &transfer);
        }
    }
}

// ---- on the page ----

/// The worker's URL, with the page's generated JS and wasm (hashed names that Trunk writes into
/// the boot script's tag) for it to load. None outside the built page.
fn worker_url() -> Option<String> {
    let tag = web_sys::window()?.document()?.query_selector("script[data-labelcast-boot]").ok()??;
    let data = tag.dyn_into::<web_sys::HtmlElement>().ok()?.dataset();
    let (js, wasm) = (data.get("js")?, data.get("wasm")?);
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    Some(format!("parse-worker.js?js={}&wasm={}", enc(&js), enc(&wasm)))
}

/// Runs one parse in a fresh worker; resolves with the worker's last message.
async fn in_worker(
    url: &str,
    name: &str,
    blob: &web_sys::Blob,
    step: Rc<dyn Fn(Step)>,
) -> Result<JsValue, ParseWorkerError> {
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    let worker =
        web_sys::Worker::new_with_options(url, &opts).map_err(|e| ParseWorkerError::Worker(format!("{e:?}")))?;
    let mut handlers = Vec::new();
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let (step, refuse) = (step.clone(), reject.clone());
        let on_msg = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let data = e.data();
            match get(&data, "kind").as_string().as_deref() {
                Some("read") => step(Step::Read {
                    read: get(&data, "read").as_f64().unwrap_or(0.0),
                    size: get(&data, "size").as_f64().unwrap_or(f64::NAN),
                }),
                Some("checking") => step(Step::Checking),
                // The worker could not load the wasm: the page parses instead.
                Some("broken") => {
                    let _ = refuse.call1(&JsValue::NULL, &get(&data, "message"));
                }
                _ => {
                    let _ = resolve.call1(&JsValue::NULL, &data);
                }
            }
        });
        // A script that fails to load gives a plain Event, not an ErrorEvent with a message.
        let on_err = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let message = get(&e, "message").as_string().unwrap_or_else(|| "the parse worker did not start".into());
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&message));
        });
        worker.set_onmessage(Some(on_msg.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_err.as_ref().unchecked_ref()));
        handlers.push((on_msg, on_err));
    });
    let _ = worker.post_message(&object(&[("name", name.into()), ("blob", blob.into())]));
    let out = JsFuture::from(promise).await;
    worker.set_onmessage(None);
    worker.set_onerror(None);
    // A worker that answered closes itself (see `parse_worker_message`); one that failed is ended.
    if out.is_err() {
        worker.terminate();
    }
    drop(handlers);
    out.map_err(|e| ParseWorkerError::Worker(e.as_string().unwrap_or_else(|| "it stopped".into())))
}

async fn yield_now() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Bytes copied into wasm memory per turn of the event loop (a few ms each).
const COPY_BYTES: u32 = 4 << 20;

/// Copies the worker's buffer into wasm memory a slice per turn, not 50 MB in one task.
async fn copy_in_slices(src: &Uint8Array) -> Vec<u8> {
    let len = src.length();
    let mut out = vec![0u8; len as usize];
    let mut at = 0;
    while at < len {
        let end = (at + COPY_BYTES).min(len);
        src.subarray(at, end).copy_to(&mut out[at as usize..end as usize]);
        at = end;
        yield_now().await;
    }
    out
}

/// Builds the table from the worker's message, a chunk of rows per turn of the event loop.
async fn from_message(data: &JsValue, step: &dyn Fn(Step)) -> Parsed {
    if get(data, "kind").as_string().as_deref() == Some("failed") {
        let problems = get(data, "problems").as_string().and_then(|t| serde_json::from_str(&t).ok());
        return Parsed::Failed(problems.unwrap_or_else(|| vec![Problem::general("the file could not be read")]));
    }
    let Some(meta) = get(data, "meta").as_string().and_then(|t| serde_json::from_str::<Meta>(&t).ok()) else {
        return Parsed::Failed(vec![Problem::general("the parse worker sent nothing readable")]);
    };
    let text = copy_in_slices(&Uint8Array::new(&get(data, "text"))).await;
    let lens = Uint32Array::new(&get(data, "lens")).to_vec();
    let total = meta.lines.len();
    let mut rows = Vec::with_capacity(total);
    let mut cursor = Cursor::new(&text, &lens);
    while rows.len() < total {
        let before = rows.len();
        if cursor.rows(ROWS_PER_CHUNK, &mut rows).is_none() || rows.len() == before {
            return Parsed::Failed(vec![Problem::general("the parse worker sent a cut table")]);
        }
        step(Step::Rows { done: rows.len(), total });
        yield_now().await;
    }
    // The wire's text (as large as the file) goes before the table is built.
    drop(text);
    let kinds = get(data, "kinds").dyn_into::<js_sys::ArrayBuffer>().ok().map(|k| Uint8Array::new(&k).to_vec());
    match table_from(&meta, rows, kinds.as_deref()) {
        Ok(t) => Parsed::Table { table: Box::new(t), info: meta.info },
        Err(e) => Parsed::Failed(vec![Problem::general(e.to_string())]),
    }
}

/// Reads and parses `blob` off the main thread, reporting each step. Without a worker (the
/// page was not built by Trunk, or the browser refused it) it parses here, as before.
pub async fn parse_blob(name: &str, blob: &web_sys::Blob, step: impl Fn(Step) + 'static) -> Parsed {
    let step: Rc<dyn Fn(Step)> = Rc::new(step);
    if let Some(url) = worker_url() {
        // A worker that cannot start (its error says why) leaves the parse to the page.
        if let Ok(data) = in_worker(&url, name, blob, step.clone()).await {
            return from_message(&data, &*step).await;
        }
    }
    let size = blob.size();
    let bytes = match file_read::read_file(blob, |read| step(Step::Read { read, size })).await {
        Ok(b) => b,
        Err(why) => return Parsed::Failed(vec![Problem::general(why.to_string())]),
    };
    step(Step::Checking);
    yield_now().await;
    parse(name, &bytes)
}
