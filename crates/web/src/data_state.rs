//! The loaded pool: its states while a file is read and parsed, the table shared with the
//! components that show it, and restoring it from a saved session. Kept apart from `app` so
//! the page's layout stays one screen of code.

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_core::table::Table;
use yew::prelude::*;

use crate::data_model::{parse, Parsed};
use crate::file_read;
use crate::problems::Problem;
use crate::storage;

/// The loaded table, shared with the components that show it. Equality is identity, so
/// props comparisons stay O(1) on tables with a million rows; `DataState::Loaded::rev`
/// tells components when the table changed in place (new roles).
#[derive(Clone, Debug)]
pub struct SharedTable(pub Rc<RefCell<Table>>);

impl PartialEq for SharedTable {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DataState {
    Empty,
    Reading {
        name: String,
        size: f64,
        read: f64,
    },
    Parsing {
        name: String,
        size: f64,
    },
    Loaded {
        name: String,
        table: SharedTable,
        info: Rc<Vec<String>>,
        rev: u64,
        /// A file dropped since, which could not be used: its name and problems. The table
        /// above, and the work on it, were kept.
        rejected: Option<(String, Rc<Vec<Problem>>)>,
    },
    Failed {
        name: String,
        problems: Rc<Vec<Problem>>,
    },
}

impl DataState {
    pub fn busy(&self) -> bool {
        matches!(self, DataState::Reading { .. } | DataState::Parsing { .. })
    }

    /// The same loaded table one revision on (so views of it redraw), with `rejected` beside
    /// it; None when no table is loaded.
    pub fn revised(&self, rejected: Option<(String, Rc<Vec<Problem>>)>) -> Option<DataState> {
        match self {
            DataState::Loaded { name, table, info, rev, .. } => Some(DataState::Loaded {
                name: name.clone(),
                table: table.clone(),
                info: info.clone(),
                rev: rev + 1,
                rejected,
            }),
            _ => None,
        }
    }
}

/// Where the bytes come from: a file the person chose, or the bundled example.
#[derive(Clone)]
pub enum Source {
    File(web_sys::File),
    Example,
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::File(f) => f.name(),
            Source::Example => file_read::EXAMPLE_NAME.to_string(),
        }
    }
}

/// Reads, then parses, reporting each stage in `data`. `generation` is bumped per load so
/// that a slow read finishing after a newer one started cannot overwrite it. `on_accepted`
/// runs only once the new file has parsed, just before it replaces the pool: a file that
/// cannot be used never touches the work in progress, and the pool loaded before comes back,
/// with the rejected file's problems beside it.
pub fn load(source: Source, data: UseStateHandle<DataState>, generation: Rc<RefCell<u64>>, on_accepted: Callback<()>) {
    let previous = (*data).clone();
    let data = Rejecting { data, previous };
    let mine = {
        let mut g = generation.borrow_mut();
        *g += 1;
        *g
    };
    let current = move || *generation.borrow() == mine;

    let (name, size) = match &source {
        Source::File(f) => (f.name(), f.size()),
        Source::Example => (file_read::EXAMPLE_NAME.to_string(), f64::NAN),
    };
    if let Some(why) = file_read::refuse(size) {
        data.set(DataState::Failed { name, problems: Rc::new(vec![Problem::general(why)]) });
        return;
    }
    data.set(DataState::Reading { name: name.clone(), size, read: 0.0 });

    wasm_bindgen_futures::spawn_local(async move {
        let bytes = match source {
            Source::File(file) => {
                let progress = |read: f64| {
                    if current() {
                        data.set(DataState::Reading { name: name.clone(), size, read });
                    }
                };
                file_read::read_file(&file, progress).await
            }
            Source::Example => file_read::fetch_example().await,
        };
        if !current() {
            return;
        }
        let bytes = match bytes {
            Ok(b) => b,
            Err(why) => {
                data.set(DataState::Failed { name, problems: Rc::new(vec![Problem::general(why)]) });
                return;
            }
        };
        data.set(DataState::Parsing { name: name.clone(), size: bytes.len() as f64 });
        // Parsing is synchronous; give the browser a frame to paint "Checking…" first.
        gloo_timers::future::TimeoutFuture::new(16).await;
        if !current() {
            return;
        }
        let state = match parse(&name, &bytes) {
            Parsed::Table { table, info } => DataState::Loaded {
                name,
                table: SharedTable(Rc::new(RefCell::new(*table))),
                info: Rc::new(info),
                rev: 0,
                rejected: None,
            },
            Parsed::Failed(problems) => DataState::Failed { name, problems: Rc::new(problems) },
        };
        if matches!(state, DataState::Loaded { .. }) {
            on_accepted.emit(());
        }
        data.set(state);
    });
}

/// The data state during a load: a failure goes back to the pool loaded before, if any.
#[derive(Clone)]
struct Rejecting {
    data: UseStateHandle<DataState>,
    previous: DataState,
}

impl Rejecting {
    fn set(&self, state: DataState) {
        let state = match state {
            DataState::Failed { name, problems } => {
                let kept = self.previous.revised(Some((name.clone(), problems.clone())));
                kept.unwrap_or(DataState::Failed { name, problems })
            }
            state => state,
        };
        self.data.set(state);
    }
}

/// The table restored from a saved session, if it still parses.
pub fn restored_table(saved: &storage::Saved) -> Option<DataState> {
    match parse(&saved.pool_name, saved.pool_text.as_bytes()) {
        Parsed::Table { table, info } => Some(DataState::Loaded {
            name: saved.pool_name.clone(),
            table: SharedTable(Rc::new(RefCell::new(*table))),
            info: Rc::new(info),
            rev: 0,
            rejected: None,
        }),
        Parsed::Failed(_) => None,
    }
}
