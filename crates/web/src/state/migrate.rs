//! A session saved by an older labelcast (in localStorage, before IndexedDB) moves into the
//! store once, so its work is not lost with the format.

use crate::browser::storage;
use crate::browser::store::{self, SavedWork, Slot, Slots};
use crate::steps::data::data_model::{parse, Parsed};
use crate::steps::data::data_state::bytes_blob;

/// Moves a session saved by an older labelcast (in localStorage) into the store, once.
pub(super) async fn migrate(slots: &Slots) {
    let Some(old) = storage::load() else { return };
    let Ok(blob) = bytes_blob(old.pool_text.as_bytes()) else { return };
    let rows = parse(&old.pool_name, old.pool_text.as_bytes());
    let rows = match rows {
        Parsed::Table { table, .. } => table.rows.len(),
        Parsed::Failed(_) => return storage::clear(),
    };
    let slot = Slot { id: js_sys::Date::now(), pool_name: old.pool_name.clone(), rows, pool_kept: true, labels: 0 };
    let work = SavedWork {
        chat: old.chat,
        scored: old.scored,
        coslow: old.coslow,
        extra_scores: old.extra_scores,
        long_rows: Default::default(),
        instruction: String::new(),
        scored_with: None,
    };
    if store::new_pool(slots, slot, &blob, 0, Some(&work), &old.labels).await.1.is_ok() {
        storage::clear();
    }
}
