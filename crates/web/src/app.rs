//! The page: header, privacy note, and the steps. Owns the loaded data, because later
//! steps (scoring, annotation) will work on the same table.

use std::cell::RefCell;
use std::rc::Rc;

use labelcast_core::table::{Role, Table};
use yew::prelude::*;

use crate::components::data_step::DataStep;
use crate::components::forecast_panel::ForecastPanel;
use crate::components::icons;
use crate::components::later_steps::LaterStep;
use crate::data_model::{parse, Parsed};
use crate::file_read;
use crate::problems::Problem;
use crate::roles_model::overrides_with;

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
}

/// Where the bytes come from: a file the person chose, or the bundled example.
enum Source {
    File(web_sys::File),
    Example,
}

/// Reads, then parses, reporting each stage in `data`. `generation` is bumped per load so
/// that a slow read finishing after a newer one started cannot overwrite it.
fn load(source: Source, data: UseStateHandle<DataState>, generation: Rc<RefCell<u64>>) {
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
        data.set(DataState::Failed {
            name,
            problems: Rc::new(vec![Problem::general(why)]),
        });
        return;
    }
    data.set(DataState::Reading {
        name: name.clone(),
        size,
        read: 0.0,
    });

    wasm_bindgen_futures::spawn_local(async move {
        let bytes = match source {
            Source::File(file) => {
                let progress = |read: f64| {
                    if current() {
                        data.set(DataState::Reading {
                            name: name.clone(),
                            size,
                            read,
                        });
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
                data.set(DataState::Failed {
                    name,
                    problems: Rc::new(vec![Problem::general(why)]),
                });
                return;
            }
        };
        data.set(DataState::Parsing {
            name: name.clone(),
            size: bytes.len() as f64,
        });
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
            },
            Parsed::Failed(problems) => DataState::Failed {
                name,
                problems: Rc::new(problems),
            },
        };
        data.set(state);
    });
}

#[function_component(App)]
pub fn app() -> Html {
    let data = use_state(|| DataState::Empty);
    let generation = use_mut_ref(|| 0u64);
    let role_error = use_state(|| None::<String>);

    let on_file = {
        let (data, generation, role_error) = (data.clone(), generation.clone(), role_error.clone());
        Callback::from(move |file: web_sys::File| {
            role_error.set(None);
            load(Source::File(file), data.clone(), generation.clone());
        })
    };
    let on_example = {
        let (data, generation, role_error) = (data.clone(), generation.clone(), role_error.clone());
        Callback::from(move |_: ()| {
            role_error.set(None);
            load(Source::Example, data.clone(), generation.clone());
        })
    };
    let on_role = {
        let (data, role_error) = (data.clone(), role_error.clone());
        Callback::from(move |(role, column): (Role, String)| {
            if let DataState::Loaded {
                name,
                table,
                info,
                rev,
            } = &*data
            {
                let result = {
                    let mut t = table.0.borrow_mut();
                    let o = overrides_with(&t.headers, &t.roles, role, &column);
                    t.set_roles(&o)
                };
                role_error.set(result.err().map(|e| e.to_string()));
                data.set(DataState::Loaded {
                    name: name.clone(),
                    table: table.clone(),
                    info: info.clone(),
                    rev: rev + 1,
                });
            }
        })
    };

    // A file dropped next to the drop zone would make the browser navigate to it and
    // lose the page; take it as if it had been dropped on the zone.
    let on_page_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let on_page_drop = {
        let on_file = on_file.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(f) = e
                .data_transfer()
                .and_then(|dt| dt.files())
                .and_then(|fs| fs.get(0))
            {
                on_file.emit(f);
            }
        })
    };

    html! {
        <div class="page" ondragover={on_page_dragover} ondrop={on_page_drop}>
            <a class="skip-link" href="#main">{"Skip to content"}</a>
            <header class="masthead">
                <div class="wrap masthead-inner">
                    <div class="brand">
                        {icons::logo()}
                        <span class="brand-name">{"labelcast"}</span>
                    </div>
                    <p class="tagline">
                        {"How many labeled examples does your fine-tuning task need? Know before you annotate."}
                    </p>
                </div>
            </header>
            <main id="main" class="wrap">
                <p id="privacy-note" class="privacy-note">
                    {icons::lock()}
                    <span>
                        <strong>{"Your files never leave this computer."}</strong>
                        {" labelcast reads and computes everything inside this browser tab. The page \
                          may only load its own files, so it cannot send your data anywhere."}
                    </span>
                </p>
                <nav class="steps-nav" aria-label="Steps">
                    <ol>
                        <li><a href="#step-data"><span class="step-num">{"1"}</span>{"Data"}</a></li>
                        <li><a href="#step-forecast"><span class="step-num">{"2"}</span>{"Forecast"}</a></li>
                        <li class="later"><a href="#step-confidence"><span class="step-num">{"3"}</span>{"Confidence scoring"}</a></li>
                        <li class="later"><a href="#step-annotation"><span class="step-num">{"4"}</span>{"Annotation"}</a></li>
                    </ol>
                </nav>
                <DataStep
                    state={(*data).clone()}
                    role_error={(*role_error).clone()}
                    {on_file}
                    {on_example}
                    {on_role}
                />
                <ForecastPanel />
                <LaterStep
                    id="step-confidence"
                    number={3}
                    title="Confidence scoring"
                    text="Runs the language model on every prompt, on this computer's CPU or GPU, \
                          to score how confident it is; picks the 32 lowest-confidence prompts \
                          for you to label; then computes CoS-Low from them, which feeds the \
                          forecast above."
                />
                <LaterStep
                    id="step-annotation"
                    number={4}
                    title="Annotation"
                    text="Label the selected prompts here, rank the rest of the pool for \
                          annotation by uncertainty and diversity, and export the labeled \
                          data in a training order."
                />
            </main>
            <footer class="site-footer">
                <div class="wrap">
                    <p>
                        {"Methods: Je & Raffel, arXiv 2512.24991 (forecast); Bhatt et al., \
                          arXiv 2401.06692 (selection); Yang et al., arXiv 2408.07888 (ordering). \
                          Everything runs locally; nothing is uploaded."}
                    </p>
                </div>
            </footer>
        </div>
    }
}
