//! What localStorage keeps: the forecast's choices (the model to fine-tune, the coefficient
//! set, calibration files loaded; written by `steps::forecast::forecast_saved` under
//! [`FORECAST_KEY`]), small and independent of the pool; and, from labelcast
//! before IndexedDB, a whole session as one JSON string, which `keep` reads once and moves
//! into IndexedDB (`store`). The pool's work is no longer written here: a 50 MB pool does not
//! fit localStorage's ~5 MB, and every write of it would block the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::browser::store;
use crate::workflow::{Measured, Scored};

const KEY: &str = "labelcast.session.v1";
/// The forecast's choices (`steps::forecast::forecast_saved`), kept apart from the pool's
/// session: the choices hold without a pool, and a new pool (which clears the session) keeps them.
pub const FORECAST_KEY: &str = "labelcast.forecast.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub pool_name: String,
    /// The pool as CSV or JSONL text (as the table writes itself back).
    pub pool_text: String,
    pub chat: bool,
    pub scored: Option<Scored>,
    pub labels: BTreeMap<usize, String>,
    pub coslow: Option<Measured>,
    /// Labeled rows outside the scored sample, scored for their training difficulty. Absent
    /// from sessions saved before it existed.
    #[serde(default)]
    pub extra_scores: Option<Scored>,
}

/// The text an older labelcast stored (embeddings dropped). The page only reads this format
/// now (`load`), so only the tests write it.
#[cfg(test)]
pub fn encode(saved: &Saved) -> serde_json::Result<String> {
    let mut s = saved.clone();
    store::drop_embeddings([&mut s.scored, &mut s.extra_scores]);
    serde_json::to_string(&s)
}

pub fn decode(text: &str) -> Option<Saved> {
    let s: Saved = serde_json::from_str(text).ok()?;
    store::consistent_scores([&s.scored, &s.extra_scores]).then_some(s)
}

/// This origin's localStorage, when the browser allows it.
pub(crate) fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// A session saved by labelcast before IndexedDB, if any.
pub fn load() -> Option<Saved> {
    decode(&local()?.get_item(KEY).ok()??)
}

/// The old session (once moved into IndexedDB, or replaced by a new pool).
pub fn clear() {
    if let Some(s) = local() {
        let _ = s.remove_item(KEY);
    }
}

/// Everything this page keeps ("Clear my work from this browser").
pub fn clear_all() {
    clear();
    if let Some(s) = local() {
        let _ = s.remove_item(FORECAST_KEY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelcast_protocol::{ScoreRow, Scores};

    #[test]
    fn round_trip_without_embeddings() {
        let saved = Saved {
            pool_name: "pool.csv".into(),
            pool_text: "prompt\na\n".into(),
            chat: true,
            scored: Some(Scored {
                rows: vec![0],
                scores: vec![ScoreRow {
                    stats: Scores { avg_confidence: Some(0.5), ..Scores::default() },
                    embedding: vec![1.0, 2.0],
                    ..ScoreRow::default()
                }],
                seconds: 2.0,
                cancelled_of: None,
            }),
            labels: [(0, "x".to_string()), (3, "y".to_string())].into(),
            coslow: None,
            extra_scores: Some(Scored {
                rows: vec![3],
                scores: vec![ScoreRow {
                    stats: Scores { avg_confidence: Some(0.25), ..Scores::default() },
                    embedding: vec![1.0],
                    ..ScoreRow::default()
                }],
                seconds: 1.0,
                cancelled_of: None,
            }),
        };
        let back = decode(&encode(&saved).expect("encode")).expect("decode");
        assert_eq!(back.labels, saved.labels);
        let extra = back.extra_scores.expect("extra scores");
        assert_eq!((extra.rows, extra.scores[0].stats.avg_confidence), (vec![3], Some(0.25)));
        assert!(extra.scores[0].embedding.is_empty());
        let sc = back.scored.expect("scores");
        assert_eq!(sc.scores[0].stats.avg_confidence, Some(0.5));
        assert!(sc.scores[0].embedding.is_empty());
    }

    #[test]
    fn garbage_and_inconsistent_sessions_are_dropped() {
        assert!(decode("not json").is_none());
        assert!(decode(r#"{"pool_name":"p","pool_text":"","chat":true,"scored":{"rows":[0,1],"scores":[],"seconds":1},"labels":{},"coslow":null}"#).is_none());
        assert!(decode(r#"{"pool_name":"p","pool_text":"","chat":true,"scored":null,"labels":{},"coslow":null,"extra_scores":{"rows":[0],"scores":[],"seconds":1}}"#).is_none());
    }

    #[test]
    fn a_session_saved_before_extra_scores_still_loads() {
        let s = decode(r#"{"pool_name":"p","pool_text":"prompt\nq\n","chat":false,"scored":null,"labels":{"0":"a"},"coslow":null}"#)
            .expect("decode");
        assert!(s.extra_scores.is_none());
        assert_eq!(s.labels.get(&0).map(String::as_str), Some("a"));
    }
}
