//! The work kept in this browser's IndexedDB (`idb`), per pool: the pool file itself (a Blob,
//! stored as read, so a reload parses exactly what was dropped), its work (scores, CoS-Low,
//! the template choice) and its labels, one record per row so a label is saved as it is
//! typed and still fits when the pool does not. Two pools are kept: the current one and the
//! one it replaced, which the data step offers to bring back.

use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::browser::idb::{self, IdbError, Op};
use crate::workflow::{Labels, Measured, Scored};

const SLOTS_KEY: &str = "slots";

/// One pool's saved work, named by `id` in every store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub id: f64,
    pub pool_name: String,
    pub rows: usize,
    /// False when the browser's storage was full: the pool must be dropped again after a
    /// reload, but its labels were kept.
    pub pool_kept: bool,
    /// Labels typed on it, counted when it was replaced (shown on the offer to bring it back).
    #[serde(default)]
    pub labels: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Slots {
    pub current: Option<Slot>,
    pub previous: Option<Slot>,
}

impl Slots {
    /// `new` becomes current and the current one previous (with its label count); the old
    /// previous one is dropped: its id is returned so its records go too.
    pub fn replaced(&self, new: Slot, labels_on_current: usize) -> (Slots, Option<f64>) {
        let previous = self.current.clone().map(|s| Slot { labels: labels_on_current, ..s });
        let dropped = self.previous.as_ref().map(|s| s.id);
        (Slots { current: Some(new), previous }, dropped)
    }

    /// The previous pool back, and the current one kept as previous (so that is undoable too).
    pub fn swapped(&self, labels_on_current: usize) -> Slots {
        Slots {
            current: self.previous.clone(),
            previous: self.current.clone().map(|s| Slot { labels: labels_on_current, ..s }),
        }
    }
}

/// A pool's work besides the pool and its labels. Embeddings are left out: they are large,
/// and only the diversity strategies need them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedWork {
    pub chat: bool,
    pub scored: Option<Scored>,
    pub coslow: Option<Measured>,
    #[serde(default)]
    pub extra_scores: Option<Scored>,
    /// Absent from work saved before the choice existed: the default, cut.
    #[serde(default)]
    pub long_rows: labelcast_protocol::LongRows,
    /// The task instruction typed on the page (empty: none).
    #[serde(default)]
    pub instruction: String,
    /// How the prompts of `scored` were given to the model; None from older saves.
    #[serde(default)]
    pub scored_with: Option<Prompting>,
}

/// How prompts were given to the model: the chat template or not, and the task instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Prompting {
    pub chat: bool,
    pub instruction: String,
}

impl Prompting {
    /// Whether scores made this way are not what the choices `chat` and `instruction` would
    /// give now (blank instructions are the same: none).
    pub fn differs(&self, chat: bool, instruction: &str) -> bool {
        self.chat != chat || self.instruction.trim() != instruction.trim()
    }
}

/// Scores as they are stored (here and in an older labelcast's localStorage): without their
/// embeddings, which are large and which only the diversity strategies need.
pub(crate) fn drop_embeddings(sets: [&mut Option<Scored>; 2]) {
    for sc in sets.into_iter().flatten() {
        sc.scores.iter_mut().for_each(|r| r.embedding = Vec::new());
    }
}

/// Whether every stored score set has one score per row: a record whose parts disagree
/// (edited by hand, or from a bug) is dropped rather than shown wrong.
pub(crate) fn consistent_scores(sets: [&Option<Scored>; 2]) -> bool {
    sets.into_iter().all(|sc| sc.as_ref().is_none_or(|sc| sc.rows.len() == sc.scores.len()))
}

impl SavedWork {
    pub fn encode(&self) -> serde_json::Result<String> {
        let mut s = self.clone();
        drop_embeddings([&mut s.scored, &mut s.extra_scores]);
        serde_json::to_string(&s)
    }

    /// None for a record whose parts disagree.
    pub fn decode(text: &str) -> Option<SavedWork> {
        let s: SavedWork = serde_json::from_str(text).ok()?;
        consistent_scores([&s.scored, &s.extra_scores]).then_some(s)
    }
}

/// One row's label as stored. `version` counts the writes of this row, whichever tab made
/// them; `tab` is the tab that wrote this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRec {
    pub row: usize,
    pub text: String,
    pub version: u64,
    pub tab: String,
}

/// What writing a label found: `Some(stored)` when another tab had changed the row since this
/// tab last saw it, to another text (it is overwritten, and the person is told).
pub fn conflict(stored: Option<&LabelRec>, known_version: u64, tab: &str, text: &str) -> Option<LabelRec> {
    stored.filter(|s| s.version > known_version && s.tab != tab && s.text != text).cloned()
}

fn key(id: f64) -> JsValue {
    JsValue::from_f64(id)
}

fn label_key(id: f64, row: usize) -> JsValue {
    js_sys::Array::of2(&key(id), &JsValue::from_f64(row as f64)).into()
}

/// Every label key of a pool: [id, -inf] .. [id, +inf].
fn label_bounds(id: f64) -> (JsValue, JsValue) {
    (
        js_sys::Array::of2(&key(id), &JsValue::from_f64(f64::NEG_INFINITY)).into(),
        js_sys::Array::of2(&key(id), &JsValue::from_f64(f64::INFINITY)).into(),
    )
}

fn json<T: Serialize>(v: &T) -> Result<JsValue, IdbError> {
    serde_json::to_string(v).map(|s| JsValue::from_str(&s)).map_err(IdbError::encode)
}

/// What is kept of the current pool.
pub struct Kept {
    pub slots: Slots,
    pub pool: Option<web_sys::Blob>,
    pub work: Option<SavedWork>,
    pub labels: Vec<LabelRec>,
}

pub async fn slots() -> Result<Slots, IdbError> {
    let text = idb::get("meta", &JsValue::from_str(SLOTS_KEY)).await?.and_then(|v| v.as_string());
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
}

/// The current pool's kept work.
pub async fn load() -> Result<Kept, IdbError> {
    let slots = slots().await?;
    let Some(cur) = slots.current.clone() else {
        return Ok(Kept { slots, pool: None, work: None, labels: Vec::new() });
    };
    let pool = idb::get("pools", &key(cur.id)).await?.and_then(|v| v.dyn_into::<web_sys::Blob>().ok());
    let work = idb::get("work", &key(cur.id)).await?.and_then(|v| v.as_string()).and_then(|t| SavedWork::decode(&t));
    let (lo, hi) = label_bounds(cur.id);
    let labels = idb::get_range("labels", &lo, &hi)
        .await?
        .into_iter()
        .filter_map(|v| v.as_string().and_then(|t| serde_json::from_str::<LabelRec>(&t).ok()))
        .collect();
    Ok(Kept { slots, pool, work, labels })
}

/// The records of a new pool but its file: the slots, the dropped pool's records gone, and
/// (for a migrated session) its work and labels.
fn small_ops(
    slots: &Slots,
    dropped: Option<f64>,
    id: f64,
    work: Option<&SavedWork>,
    labels: &Labels,
) -> Result<Vec<Op>, IdbError> {
    let mut ops = vec![Op::Put("meta", JsValue::from_str(SLOTS_KEY), json(slots)?)];
    if let Some(d) = dropped {
        let (lo, hi) = label_bounds(d);
        ops.extend([Op::Delete("pools", key(d)), Op::Delete("work", key(d)), Op::DeleteRange("labels", lo, hi)]);
    }
    if let Some(w) = work {
        ops.push(Op::Put("work", key(id), JsValue::from_str(&w.encode().map_err(IdbError::encode)?)));
    }
    for (&row, text) in labels {
        let rec = LabelRec { row, text: text.clone(), version: 1, tab: String::new() };
        ops.push(Op::Put("labels", label_key(id, row), json(&rec)?));
    }
    Ok(ops)
}

/// Keeps a new pool as the current one (see [`Slots::replaced`]) with its file and, for a
/// migrated session, its work and labels. When the browser's storage is full, the pool is
/// left out and the rest kept: the error says so, and the slots returned are in the store.
pub async fn new_pool(
    old: &Slots,
    mut slot: Slot,
    blob: &web_sys::Blob,
    labels_on_current: usize,
    work: Option<&SavedWork>,
    labels: &Labels,
) -> (Slots, Result<(), IdbError>) {
    // The small records first, with the pool marked as not kept: a full storage, which refuses
    // the large file, still takes them (and the older pool's records go in the same write).
    slot.pool_kept = false;
    let id = slot.id;
    let (slots, dropped) = old.replaced(slot, labels_on_current);
    let small = match small_ops(&slots, dropped, id, work, labels) {
        Ok(ops) => idb::write(ops).await,
        Err(e) => Err(e),
    };
    if let Err(e) = small {
        return (old.clone(), Err(e));
    }
    reattach(&slots, blob).await
}

/// Stores the current pool's file and marks it kept: for a new pool, or for one dropped again
/// after its labels were kept without it. On failure the slots stay as they were.
pub async fn reattach(old: &Slots, blob: &web_sys::Blob) -> (Slots, Result<(), IdbError>) {
    let mut slots = old.clone();
    let Some(cur) = slots.current.as_mut() else { return (slots, Ok(())) };
    // Not tried when the browser says it will not fit: Chromium counts a refused Blob's bytes
    // for the rest of the session, and then refuses even the small label records.
    let free = crate::browser::model_fetch::storage_free().await;
    if free.is_some_and(|free| blob.size() * 1.1 + (1 << 20) as f64 > free) {
        return (old.clone(), Err(IdbError::Quota));
    }
    cur.pool_kept = true;
    let id = cur.id;
    let ops = match json(&slots) {
        Ok(meta) => vec![Op::Put("meta", JsValue::from_str(SLOTS_KEY), meta), Op::Put("pools", key(id), blob.into())],
        Err(e) => return (old.clone(), Err(e)),
    };
    match idb::write(ops).await {
        Ok(()) => (slots, Ok(())),
        Err(e) => (old.clone(), Err(e)),
    }
}

/// The previous pool becomes the current one again (and the current one the previous).
pub async fn swap(old: &Slots, labels_on_current: usize) -> Result<Slots, IdbError> {
    let slots = old.swapped(labels_on_current);
    idb::write(vec![Op::Put("meta", JsValue::from_str(SLOTS_KEY), json(&slots)?)]).await?;
    Ok(slots)
}

pub async fn save_work(id: f64, work: &SavedWork) -> Result<(), IdbError> {
    let text = work.encode().map_err(IdbError::encode)?;
    idb::write(vec![Op::Put("work", key(id), JsValue::from_str(&text))]).await
}

/// Saves one row's label. The stored record is read first: when another tab wrote the row
/// since this tab last saw it, the write still goes ahead (the person is typing here) and the
/// other tab's text is returned, so the page can say so rather than overwrite it silently.
pub async fn save_label(id: f64, rec: &LabelRec, known_version: u64) -> Result<(LabelRec, Option<LabelRec>), IdbError> {
    let stored = idb::get("labels", &label_key(id, rec.row))
        .await?
        .and_then(|v| v.as_string())
        .and_then(|t| serde_json::from_str::<LabelRec>(&t).ok());
    let clash = conflict(stored.as_ref(), known_version, &rec.tab, &rec.text);
    let version = stored.map_or(0, |s| s.version).max(known_version) + 1;
    let rec = LabelRec { version, ..rec.clone() };
    idb::write(vec![Op::Put("labels", label_key(id, rec.row), json(&rec)?)]).await?;
    Ok((rec, clash))
}

/// Everything this page keeps in IndexedDB ("Clear my work from this browser").
pub async fn clear_all() -> Result<(), IdbError> {
    idb::write(idb::STORES.into_iter().map(Op::Clear).collect()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: f64, name: &str) -> Slot {
        Slot { id, pool_name: name.into(), rows: 10, pool_kept: true, labels: 0 }
    }

    #[test]
    fn a_new_pool_keeps_one_previous_and_drops_the_older() {
        let empty = Slots::default();
        let (one, dropped) = empty.replaced(slot(1.0, "a.csv"), 0);
        assert_eq!((one.current.as_ref().map(|s| s.id), one.previous.as_ref(), dropped), (Some(1.0), None, None));
        let (two, dropped) = one.replaced(slot(2.0, "b.csv"), 5);
        assert_eq!(two.previous.as_ref().map(|s| (s.id, s.labels)), Some((1.0, 5)));
        assert_eq!(dropped, None);
        let (three, dropped) = two.replaced(slot(3.0, "c.csv"), 0);
        assert_eq!(dropped, Some(1.0));
        assert_eq!(three.previous.as_ref().map(|s| s.pool_name.as_str()), Some("b.csv"));
    }

    #[test]
    fn bringing_back_the_previous_pool_keeps_the_current_one_as_previous() {
        let (s, _) = Slots::default().replaced(slot(1.0, "a.csv"), 0);
        let (s, _) = s.replaced(slot(2.0, "b.csv"), 3);
        let back = s.swapped(7);
        assert_eq!(back.current.as_ref().map(|s| (s.id, s.labels)), Some((1.0, 3)));
        assert_eq!(back.previous.as_ref().map(|s| (s.id, s.labels)), Some((2.0, 7)));
        let text = serde_json::to_string(&back).expect("encode");
        assert_eq!(serde_json::from_str::<Slots>(&text).expect("decode"), back);
    }

    #[test]
    fn a_row_changed_in_another_tab_since_this_one_saw_it_is_a_conflict() {
        let theirs = LabelRec { row: 4, text: "Paris".into(), version: 3, tab: "b".into() };
        // Seen already (the other tab's write reached this one): no conflict.
        assert_eq!(conflict(Some(&theirs), 3, "a", "Lyon"), None);
        // Not seen: the person here is told what the other tab had.
        assert_eq!(conflict(Some(&theirs), 2, "a", "Lyon"), Some(theirs.clone()));
        // The same text, or this tab's own earlier write, or nothing stored: no conflict.
        assert_eq!(conflict(Some(&theirs), 2, "a", "Paris"), None);
        assert_eq!(conflict(Some(&LabelRec { tab: "a".into(), ..theirs }), 1, "a", "Lyon"), None);
        assert_eq!(conflict(None, 0, "a", "Lyon"), None);
    }

    #[test]
    fn work_round_trips_without_embeddings_and_inconsistent_work_is_dropped() {
        use labelcast_protocol::{ScoreRow, Scores};
        let w = SavedWork {
            chat: false,
            scored: Some(Scored {
                rows: vec![0],
                scores: vec![ScoreRow {
                    stats: Scores { avg_confidence: Some(0.5), ..Scores::default() },
                    embedding: vec![1.0],
                    ..ScoreRow::default()
                }],
                seconds: 2.0,
                cancelled_of: None,
            }),
            coslow: None,
            extra_scores: None,
            long_rows: labelcast_protocol::LongRows::Skip,
            instruction: "Answer in one word.".into(),
            scored_with: Some(Prompting { chat: false, instruction: "Answer in one word.".into() }),
        };
        let back = SavedWork::decode(&w.encode().expect("encode")).expect("decode");
        let sc = back.scored.as_ref().expect("scores");
        assert!(sc.scores[0].embedding.is_empty());
        assert_eq!((back.chat, sc.scores[0].stats.avg_confidence), (false, Some(0.5)));
        assert_eq!(back.long_rows, labelcast_protocol::LongRows::Skip);
        assert_eq!(back.instruction, "Answer in one word.");
        assert!(!back.scored_with.as_ref().expect("kept").differs(false, " Answer in one word. "));
        assert!(back.scored_with.as_ref().expect("kept").differs(true, "Answer in one word."));
        assert!(back.scored_with.as_ref().expect("kept").differs(false, ""));
        // Work saved before the choice existed: cut, the default.
        let old = SavedWork::decode(r#"{"chat":true,"scored":null,"coslow":null}"#).expect("decode");
        assert_eq!(old.long_rows, labelcast_protocol::LongRows::Cut);
        assert!(SavedWork::decode(r#"{"chat":true,"scored":{"rows":[0,1],"scores":[],"seconds":1},"coslow":null}"#)
            .is_none());
        assert!(SavedWork::decode("nope").is_none());
    }
}
