//! Keeping the work in this browser as it happens (`store`, on IndexedDB): the pool when it is
//! accepted, its work when it changes, each label as it is typed. A reload or a crashed tab
//! loses nothing that was shown. Tabs on the same pool tell each other of their labels
//! (BroadcastChannel), so each shows the other's; a row that another tab changed unseen is
//! named to the person instead of being overwritten silently. The storage hook beside the
//! page's store (`page`): it restores the work on load and keeps each change of it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::browser::idb::IdbError;
use crate::browser::store::{self, Kept, LabelRec, SavedWork, Slot, Slots};
use crate::format;
use crate::state::migrate::migrate;
use crate::state::session::Session;
use crate::steps::annotate::annotate_model::Labels;
use crate::steps::data::data_state::{restore, Accepted, DataState};
use crate::workflow::Action;

const CHANNEL: &str = "labelcast.labels";

/// What one tab tells the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Note {
    Label {
        id: f64,
        rec: LabelRec,
    },
    /// The pools changed (a new one, or the previous one brought back).
    Slots {
        name: String,
    },
}

type Listener = Closure<dyn FnMut(web_sys::MessageEvent)>;

struct Inner {
    /// This tab's name in the label records.
    tab: String,
    /// The current pool's id in the store; None until known (or without storage).
    slot: Cell<Option<f64>>,
    /// False while the kept work is being restored: the page's empty state is not saved.
    ready: Cell<bool>,
    /// The labels as stored, and each row's version as this tab last saw it.
    saved: RefCell<Labels>,
    versions: RefCell<HashMap<usize, u64>>,
    /// The page's labels at its last render (callbacks see older copies of the state).
    shown: RefCell<Labels>,
    channel: Option<web_sys::BroadcastChannel>,
    _listener: RefCell<Option<Listener>>,
}

#[derive(Clone)]
pub struct Keep {
    pub slots: UseStateHandle<Slots>,
    /// Why work is not kept (storage full or missing), or what was kept without its pool.
    pub error: UseStateHandle<Option<String>>,
    /// Labels that another tab changed: what this tab did about them.
    pub tabs_note: UseStateHandle<Option<String>>,
    inner: Rc<Inner>,
}

impl PartialEq for Keep {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner) && *self.slots == *other.slots
    }
}

fn not_kept(e: &IdbError) -> String {
    format!("Your work is not kept across reloads: {e}.")
}

fn full(name: &str) -> String {
    format!(
        "This browser's storage is full: {name} is not kept across reloads. The labels you type \
         are kept, each as you type it; after a reload, drop {name} again to continue with them."
    )
}

impl Keep {
    fn post(&self, note: &Note) {
        if let (Some(c), Ok(text)) = (&self.inner.channel, serde_json::to_string(note)) {
            let _ = c.post_message(&JsValue::from_str(&text));
        }
    }

    /// A pool the page accepted becomes the current one; the one it replaces is kept as the
    /// previous pool. True when it is the pool whose labels were kept without it (the storage
    /// was full): those labels stay.
    pub fn accept(&self, a: &Accepted, labels_on_current: usize) -> bool {
        let cur = self.slots.current.clone();
        let same = cur.as_ref().is_some_and(|c| !c.pool_kept && c.pool_name == a.name && c.rows == a.rows);
        let i = &self.inner;
        if !same {
            i.slot.set(None);
            i.saved.borrow_mut().clear();
            i.versions.borrow_mut().clear();
        }
        let (k, a) = (self.clone(), a.clone());
        let id = match (same, cur) {
            (true, Some(c)) => c.id,
            _ => js_sys::Date::now(),
        };
        // Labels typed from now on go to the new pool, even before its file is stored.
        i.slot.set(Some(id));
        i.ready.set(true);
        let old = (*self.slots).clone();
        wasm_bindgen_futures::spawn_local(async move {
            let slot = Slot { id, pool_name: a.name.clone(), rows: a.rows, pool_kept: true, labels: 0 };
            let (slots, result) = if same {
                store::reattach(&old, &a.blob).await
            } else {
                store::new_pool(&old, slot, &a.blob, labels_on_current, None, &Labels::new()).await
            };
            k.slots.set(slots);
            k.error.set(match result {
                Ok(()) => None,
                Err(IdbError::Quota) => Some(full(&a.name)),
                Err(e) => Some(not_kept(&e)),
            });
            k.post(&Note::Slots { name: a.name });
        });
        same
    }

    /// Saves every label that differs from the stored one (typed, imported or filled).
    pub fn labels_changed(&self, labels: &Labels) {
        let i = &self.inner;
        *i.shown.borrow_mut() = labels.clone();
        let (Some(id), true) = (i.slot.get(), i.ready.get()) else { return };
        let changed: Vec<(usize, String)> = {
            let mut saved = i.saved.borrow_mut();
            let changed: Vec<_> =
                labels.iter().filter(|(r, t)| saved.get(r) != Some(t)).map(|(r, t)| (*r, t.clone())).collect();
            saved.extend(changed.iter().cloned());
            changed
        };
        for (row, text) in changed {
            let k = self.clone();
            let known = i.versions.borrow().get(&row).copied().unwrap_or(0);
            let rec = LabelRec { row, text, version: 0, tab: i.tab.clone() };
            wasm_bindgen_futures::spawn_local(async move {
                match store::save_label(id, &rec, known).await {
                    Ok((rec, clash)) => {
                        k.inner.versions.borrow_mut().insert(row, rec.version);
                        if let Some(theirs) = clash {
                            k.tabs_note.set(Some(format!(
                                "Row {} was also labeled in another tab (“{}”); this tab's label “{}” is the one kept.",
                                row + 1,
                                theirs.text,
                                rec.text
                            )));
                        }
                        k.post(&Note::Label { id, rec });
                    }
                    Err(IdbError::Quota) => k.error.set(Some(format!(
                        "This browser's storage is full: the label of row {} is not kept across reloads. \
                         Export the labels to keep them.",
                        row + 1
                    ))),
                    Err(e) => k.error.set(Some(not_kept(&e))),
                }
            });
        }
    }

    /// Saves the pool's work (scores, CoS-Low, the template choice) when it changed.
    pub fn work_changed(&self, work: SavedWork) {
        let i = &self.inner;
        let (Some(id), true) = (i.slot.get(), i.ready.get()) else { return };
        let k = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = store::save_work(id, &work).await {
                k.error.set(Some(match e {
                    IdbError::Quota => {
                        "This browser's storage is full: the scores and CoS-Low are not kept across reloads.".into()
                    }
                    e => not_kept(&e),
                }));
            }
        });
    }

    /// A label another tab saved: shown here when this tab has not seen a newer one.
    fn remote(&self, labels: &UseStateHandle<Rc<Labels>>, id: f64, rec: LabelRec) {
        let i = &self.inner;
        if rec.tab == i.tab || i.slot.get() != Some(id) {
            return;
        }
        if i.versions.borrow().get(&rec.row).is_some_and(|&v| v >= rec.version) {
            return;
        }
        i.versions.borrow_mut().insert(rec.row, rec.version);
        i.saved.borrow_mut().insert(rec.row, rec.text.clone());
        let mut next = i.shown.borrow().clone();
        next.insert(rec.row, rec.text);
        labels.set(Rc::new(next));
        self.tabs_note.set(Some(format!(
            "Another tab open on this pool changed the label of row {}; it is shown here too.",
            rec.row + 1
        )));
    }

    /// Shows the kept work of the current pool: labels and work at once, the pool once parsed.
    async fn show(
        &self,
        kept: Kept,
        session: &Session,
        data: &UseStateHandle<DataState>,
        generation: &Rc<RefCell<u64>>,
    ) {
        let i = &self.inner;
        self.slots.set(kept.slots.clone());
        let Some(cur) = kept.slots.current.clone() else {
            i.ready.set(true);
            return;
        };
        let labels: Labels = kept.labels.iter().map(|r| (r.row, r.text.clone())).collect();
        *i.versions.borrow_mut() = kept.labels.iter().map(|r| (r.row, r.version)).collect();
        *i.saved.borrow_mut() = labels.clone();
        i.slot.set(Some(cur.id));
        if let Some(w) = kept.work {
            session.work.dispatch(Action::Restore { scoring: w.scored, coslow: w.coslow, extra: w.extra_scores });
            session.chat.set(w.chat);
            session.long_rows.set(w.long_rows);
            session.instruction.set(w.instruction);
            session.scored_with.set(w.scored_with);
        }
        let n = labels.values().filter(|l| !l.trim().is_empty()).count();
        session.labels.set(Rc::new(labels));
        match kept.pool {
            Some(blob) => {
                restore(cur.pool_name.clone(), blob, data.clone(), generation.clone()).await;
            }
            None => self.error.set(Some(format!(
                "{} typed on {} {} kept in this browser, but the pool itself did not fit in its storage: \
                 drop {} again to continue with them.",
                format::count(n, "label", "labels"),
                cur.pool_name,
                if n == 1 { "is" } else { "are" },
                cur.pool_name
            ))),
        }
        i.ready.set(true);
    }

    /// The previous pool and its work come back; the current one becomes the previous one.
    pub fn bring_back(
        &self,
        session: &Session,
        data: &UseStateHandle<DataState>,
        generation: &Rc<RefCell<u64>>,
        labels_on_current: usize,
    ) {
        let (k, s, d, g) = (self.clone(), session.clone(), data.clone(), generation.clone());
        let old = (*self.slots).clone();
        self.inner.ready.set(false);
        wasm_bindgen_futures::spawn_local(async move {
            let kept = match store::swap(&old, labels_on_current).await {
                Ok(_) => store::load().await,
                Err(e) => Err(e),
            };
            match kept {
                Ok(kept) => {
                    s.reset_data();
                    let name = kept.slots.current.as_ref().map(|c| c.pool_name.clone()).unwrap_or_default();
                    k.show(kept, &s, &d, &g).await;
                    k.post(&Note::Slots { name });
                }
                Err(e) => {
                    k.inner.ready.set(true);
                    k.error.set(Some(not_kept(&e)));
                }
            }
        });
    }

    /// "Clear my work from this browser".
    pub fn clear(&self) {
        let i = &self.inner;
        i.slot.set(None);
        i.saved.borrow_mut().clear();
        i.versions.borrow_mut().clear();
        self.slots.set(Slots::default());
        self.error.set(None);
        self.tabs_note.set(None);
        let k = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = store::clear_all().await {
                k.error.set(Some(format!("Your work could not be cleared from this browser: {e}.")));
            }
        });
    }
}

#[hook]
pub fn use_keep(session: &Session, data: &UseStateHandle<DataState>, generation: &Rc<RefCell<u64>>) -> Keep {
    let slots = use_state(Slots::default);
    let error = use_state(|| None::<String>);
    let tabs_note = use_state(|| None::<String>);
    let inner = use_memo((), |_| {
        let tab = format!("{:x}", (js_sys::Math::random() * 1e12) as u64);
        Inner {
            tab,
            slot: Cell::new(None),
            ready: Cell::new(false),
            saved: RefCell::new(Labels::new()),
            versions: RefCell::new(HashMap::new()),
            shown: RefCell::new(Labels::new()),
            channel: web_sys::BroadcastChannel::new(CHANNEL).ok(),
            _listener: RefCell::new(None),
        }
    });
    let keep = Keep { slots, error, tabs_note, inner };
    use_keep_changes(&keep, session);
    {
        let (k, s, d, g) = (keep.clone(), session.clone(), data.clone(), generation.clone());
        use_effect_with((), move |_| {
            if let Some(c) = &k.inner.channel {
                let (k2, labels) = (k.clone(), s.labels.clone());
                let listener =
                    Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                        match e.data().as_string().and_then(|t| serde_json::from_str::<Note>(&t).ok()) {
                            Some(Note::Label { id, rec }) => k2.remote(&labels, id, rec),
                            Some(Note::Slots { name }) => k2.tabs_note.set(Some(format!(
                                "Another tab loaded {name}. This tab still shows its own pool, and its labels are \
                             kept with it; reload to continue with {name}."
                            ))),
                            None => {}
                        }
                    });
                c.set_onmessage(Some(listener.as_ref().unchecked_ref()));
                *k.inner._listener.borrow_mut() = Some(listener);
            }
            wasm_bindgen_futures::spawn_local(async move {
                let kept = match store::slots().await {
                    Ok(slots) => {
                        if slots.current.is_none() {
                            migrate(&slots).await;
                        }
                        store::load().await
                    }
                    Err(e) => Err(e),
                };
                match kept {
                    Ok(kept) => k.show(kept, &s, &d, &g).await,
                    Err(e) => k.error.set(Some(not_kept(&e))),
                }
            });
        });
    }
    keep
}

/// Each label as it is typed (or imported), and the work when it changes.
#[hook]
fn use_keep_changes(keep: &Keep, session: &Session) {
    {
        let keep = keep.clone();
        use_effect_with(session.labels.clone(), move |labels| keep.labels_changed(labels));
    }
    let keep = keep.clone();
    let key = (
        session.work.scoring.done().cloned(),
        session.work.coslow.done().cloned(),
        *session.chat,
        session.work.extra_scores.clone(),
        *session.long_rows,
        (*session.instruction).clone(),
        (*session.scored_with).clone(),
    );
    use_effect_with(key, move |(scored, coslow, chat, extra, long_rows, instruction, scored_with)| {
        keep.work_changed(SavedWork {
            chat: *chat,
            scored: scored.as_deref().cloned(),
            coslow: coslow.as_deref().cloned(),
            extra_scores: extra.as_deref().cloned(),
            long_rows: *long_rows,
            instruction: instruction.clone(),
            scored_with: scored_with.clone(),
        })
    });
}
