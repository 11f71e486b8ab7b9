//! The pool's side of the page's state: the file loaded (or loading, or refused), its column
//! roles, and a new file waiting for a yes when it would replace labeled work. Every later step
//! works on this pool; its work is the session's, and what is kept of it `keep`'s.

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_core::table::Role;
use yew::prelude::*;

use crate::browser::storage;
use crate::state::keep::Keep;
use crate::state::session::Session;
use crate::steps::data::data_state::{load, DataState, SharedTable, Source};
use crate::steps::data::roles_model::overrides_with;
use crate::steps::forecast::forecast_setup::ForecastSetup;

/// The pool's state, as the hooks hold it.
#[derive(Clone)]
pub struct Data {
    pub state: UseStateHandle<DataState>,
    /// Bumped per load, so a slow load finishing after a newer one cannot overwrite it.
    pub generation: Rc<RefCell<u64>>,
    /// Why the column chosen for a role cannot take it.
    pub role_error: UseStateHandle<Option<String>>,
    /// A file that would replace a pool with labels typed on it, until the person says yes.
    pub pending: UseStateHandle<Option<Source>>,
}

#[hook]
pub fn use_data() -> Data {
    Data {
        state: use_state(|| DataState::Empty),
        generation: use_mut_ref(|| 0u64),
        role_error: use_state(|| None),
        pending: use_state(|| None),
    }
}

impl Data {
    pub fn table(&self) -> Option<SharedTable> {
        match &*self.state {
            DataState::Loaded { table, .. } => Some(table.clone()),
            _ => None,
        }
    }
}

/// The transitions of the pool, as the data step and the session bar call them.
pub struct DataActions {
    pub on_file: Callback<web_sys::File>,
    pub on_example: Callback<()>,
    pub on_replace: Callback<()>,
    pub on_keep: Callback<()>,
    pub on_role: Callback<(Role, String)>,
    pub on_previous: Callback<()>,
    pub on_clear: Callback<MouseEvent>,
}

/// Labels typed on the current pool (the ones a replacing file would put aside).
pub fn typed(session: &Session) -> usize {
    session.labels.values().filter(|l| !l.trim().is_empty()).count()
}

pub fn actions(data: &Data, session: &Session, keep: &Keep, forecast: &ForecastSetup) -> DataActions {
    let typed = typed(session);
    // A new pool replaces the work on the old one: with labels typed, it waits for a yes.
    let replace = {
        let (d, session, keep) = (data.clone(), session.clone(), keep.clone());
        Callback::from(move |source: Source| {
            d.pending.set(None);
            let (role_error, session, keep) = (d.role_error.clone(), session.clone(), keep.clone());
            let accepted = Callback::from(move |a| {
                role_error.set(None);
                // The old pool's work stays in the store, as the previous pool.
                if !keep.accept(&a, typed) {
                    session.reset_data();
                }
            });
            load(source, d.state.clone(), d.generation.clone(), accepted);
        })
    };
    // Labels kept without their pool (the storage was full) need no asking: the pool shown is
    // none, and a pool of another name keeps them as the previous one.
    let shown = data.table().is_some();
    let offer = {
        let (replace, pending) = (replace.clone(), data.pending.clone());
        move |source: Source| {
            if typed > 0 && shown {
                pending.set(Some(source));
            } else {
                replace.emit(source);
            }
        }
    };
    let on_file = {
        let offer = offer.clone();
        Callback::from(move |file: web_sys::File| offer(Source::File(file)))
    };
    let on_example = Callback::from(move |_: ()| offer(Source::Example));
    let on_replace = {
        let pending = data.pending.clone();
        Callback::from(move |_: ()| {
            if let Some(source) = (*pending).clone() {
                replace.emit(source);
            }
        })
    };
    let on_keep = {
        let pending = data.pending.clone();
        Callback::from(move |_: ()| pending.set(None))
    };
    let on_role = {
        let (state, role_error) = (data.state.clone(), data.role_error.clone());
        Callback::from(move |(role, column): (Role, String)| {
            if let DataState::Loaded { table, rejected, .. } = &*state {
                let result = {
                    let mut t = table.0.borrow_mut();
                    let o = overrides_with(&t.headers, &t.roles, role, &column);
                    t.set_roles(&o)
                };
                role_error.set(result.err().map(|e| e.to_string()));
                if let Some(next) = state.revised(rejected.clone()) {
                    state.set(next);
                }
            }
        })
    };
    let on_previous = {
        let (s, d, k) = (session.clone(), data.clone(), keep.clone());
        Callback::from(move |_: ()| k.bring_back(&s, &d.state, &d.generation, typed))
    };
    let on_clear = {
        let (s, d, f, k) = (session.clone(), data.clone(), forecast.clone(), keep.clone());
        Callback::from(move |_: MouseEvent| {
            s.reset_data();
            f.clear();
            k.clear();
            storage::clear_all();
            *d.generation.borrow_mut() += 1;
            d.state.set(DataState::Empty);
        })
    };
    DataActions { on_file, on_example, on_replace, on_keep, on_role, on_previous, on_clear }
}
