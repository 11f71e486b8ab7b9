//! The loaded pool: its states while a file is read and parsed, the table shared with the
//! components that show it, and restoring it from the work kept in this browser. Kept apart from `app` so
//! the page's layout stays one screen of code.

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_core::table::Table;
use yew::prelude::*;

use crate::browser::file_read::{self, ReadError};
use crate::steps::data::data_model::Parsed;
use crate::steps::data::parse_worker::{parse_blob, Step};
use crate::steps::data::problems::Problem;

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
        /// Rows built on the page so far, of all (after the worker's parse).
        rows: Option<(usize, usize)>,
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

/// A pool just read and accepted: its file (kept in the browser as it was read) and rows.
#[derive(Clone)]
pub struct Accepted {
    pub name: String,
    pub blob: web_sys::Blob,
    pub rows: usize,
}

/// Reads, then parses (off the main thread, `parse_worker`), reporting each stage in `data`.
/// `generation` is bumped per load so that a slow read finishing after a newer one started
/// cannot overwrite it. `on_accepted` runs only once the new file has parsed, just before it
/// replaces the pool: a file that cannot be used never touches the work in progress, and the
/// pool loaded before comes back, with the rejected file's problems beside it.
pub fn load(
    source: Source,
    data: UseStateHandle<DataState>,
    generation: Rc<RefCell<u64>>,
    on_accepted: Callback<Accepted>,
) {
    let previous = (*data).clone();
    let data = Rejecting { data, previous };
    let current = next_generation(&generation);

    let (name, size) = match &source {
        Source::File(f) => (f.name(), f.size()),
        Source::Example => (file_read::EXAMPLE_NAME.to_string(), f64::NAN),
    };
    if let Some(why) = file_read::refuse(size) {
        data.set(DataState::Failed { name, problems: Rc::new(vec![Problem::general(why.to_string())]) });
        return;
    }
    data.set(DataState::Reading { name: name.clone(), size, read: 0.0 });

    wasm_bindgen_futures::spawn_local(async move {
        let blob: Result<web_sys::Blob, ReadError> = match source {
            Source::File(file) => Ok(file.into()),
            Source::Example => file_read::fetch_example().await.and_then(|b| bytes_blob(&b)),
        };
        let blob = match blob {
            Ok(b) => b,
            Err(why) => {
                if current() {
                    data.set(DataState::Failed { name, problems: Rc::new(vec![Problem::general(why.to_string())]) });
                }
                return;
            }
        };
        let Some(state) = parse_into(name.clone(), &blob, data.clone(), current.clone()).await else { return };
        if let DataState::Loaded { table, .. } = &state {
            let rows = table.0.borrow().rows.len();
            on_accepted.emit(Accepted { name, blob, rows });
        }
        data.set(state);
    });
}

/// A closure that says whether this load is still the latest one.
fn next_generation(generation: &Rc<RefCell<u64>>) -> Rc<dyn Fn() -> bool> {
    let mine = {
        let mut g = generation.borrow_mut();
        *g += 1;
        *g
    };
    let generation = generation.clone();
    Rc::new(move || *generation.borrow() == mine)
}

/// The pool text as a Blob (the bundled example, or a session saved before IndexedDB).
pub fn bytes_blob(bytes: &[u8]) -> Result<web_sys::Blob, ReadError> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|_| ReadError::NotHeld)
}

/// Parses `blob`, showing the steps in `data` while this load is current; the state to show
/// at the end (None when a newer load took over).
async fn parse_into(
    name: String,
    blob: &web_sys::Blob,
    data: Rejecting,
    current: Rc<dyn Fn() -> bool>,
) -> Option<DataState> {
    let (d, n, c) = (data.clone(), name.clone(), current.clone());
    let step = move |s: Step| {
        if !c() {
            return;
        }
        d.set(match s {
            Step::Read { read, size } => DataState::Reading { name: n.clone(), size, read },
            Step::Checking => DataState::Parsing { name: n.clone(), rows: None },
            Step::Rows { done, total } => DataState::Parsing { name: n.clone(), rows: Some((done, total)) },
        })
    };
    let parsed = parse_blob(&name, blob, step).await;
    if !current() {
        return None;
    }
    Some(match parsed {
        Parsed::Table { table, info } => DataState::Loaded {
            name,
            table: SharedTable(Rc::new(RefCell::new(*table))),
            info: Rc::new(info),
            rev: 0,
            rejected: None,
        },
        Parsed::Failed(problems) => DataState::Failed { name, problems: Rc::new(problems) },
    })
}

/// Parses a pool kept in this browser (after a reload, or brought back), showing its progress
/// like a dropped file's; true when it loaded.
pub async fn restore(
    name: String,
    blob: web_sys::Blob,
    data: UseStateHandle<DataState>,
    generation: Rc<RefCell<u64>>,
) -> bool {
    let current = next_generation(&generation);
    let data = Rejecting { data, previous: DataState::Empty };
    data.set(DataState::Reading { name: name.clone(), size: blob.size(), read: 0.0 });
    match parse_into(name, &blob, data.clone(), current).await {
        Some(state @ DataState::Loaded { .. }) => {
            data.set(state);
            true
        }
        Some(_) => {
            // A kept pool that no longer parses (a newer labelcast reads differently) is not
            // shown as a failure of the person's: the page starts empty.
            data.set(DataState::Empty);
            false
        }
        None => false,
    }
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
