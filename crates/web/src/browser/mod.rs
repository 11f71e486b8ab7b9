//! What talks to the browser: its storage (localStorage, IndexedDB, the Cache API), reading
//! and downloading files, the page's address, and the model workers (`engine_client`, `pool`).

pub mod download;
pub mod engine_client;
mod fetch_error;
pub mod file_read;
pub mod idb;
pub mod model_cache;
pub mod model_fetch;
pub mod page_query;
pub mod pool;
pub mod storage;
pub mod store;
